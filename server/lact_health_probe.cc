// lact_health_probe: asks a gRPC server's standard health service (grpc.health.v1) whether it is
// SERVING; exit 0 when it is, 1 when not (or unreachable), 2 on bad usage. For Docker HEALTHCHECK
// and Kubernetes exec probes:  lact_health_probe --address 127.0.0.1:50051
// Against a TLS server: --use_ssl [--ssl_root_cert CA.pem] [--ssl_target_name NAME], plus
// --ssl_cert/--ssl_key for mutual TLS. (Health checks need no bearer token.)
#include <cstdio>
#include <iostream>
#include <string>
#include <tuple>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "core/tools/flag_names.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051", "host:port of the gRPC server");
ABSL_FLAG(std::string, service, "", "Service name to check (empty: the server as a whole)");
ABSL_FLAG(int32_t, timeout_ms, 2000, "Give up after this long (ms)");
ABSL_FLAG(bool, use_ssl, false, "Connect with TLS (system root certificates unless --ssl_root_cert)");
ABSL_FLAG(std::string, ssl_root_cert, "", "PEM root certificates that sign the server's (implies --use_ssl)");
ABSL_FLAG(std::string, ssl_cert, "", "PEM client certificate, for a server with mutual TLS (needs --ssl_key)");
ABSL_FLAG(std::string, ssl_key, "", "PEM private key of --ssl_cert");
ABSL_FLAG(std::string, ssl_target_name, "", "Name the server certificate must carry, when it is not "
          "the host of --address (e.g. probing 127.0.0.1 with a certificate for asr.example.com)");

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buf[8192];
  size_t n;
  out->clear();
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  std::fclose(f);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Usage: lact_health_probe [--address HOST:PORT] [--service NAME] "
                               "[--timeout_ms 2000] [--use_ssl [--ssl_root_cert CA.pem] "
                               "[--ssl_cert C.pem --ssl_key K.pem]]\nExit 0 when SERVING.");
  std::vector<std::string> storage;
  std::vector<char*> args = lact::NormalizeFlagNames(argc, argv, &storage);
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (rest.size() > 1) {
    std::cerr << "lact_health_probe: unexpected argument '" << rest[1] << "'\n";
    return 2;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments channel_args;
  const std::string root = absl::GetFlag(FLAGS_ssl_root_cert), cert = absl::GetFlag(FLAGS_ssl_cert),
                    key = absl::GetFlag(FLAGS_ssl_key);
  if (cert.empty() != key.empty()) {
    std::cerr << "lact_health_probe: --ssl_cert and --ssl_key go together\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_use_ssl) || !root.empty() || !cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    for (const auto& [flag, path, out] :
         {std::tuple<const char*, const std::string&, std::string*>{"--ssl_root_cert", root, &ssl.pem_root_certs},
          {"--ssl_cert", cert, &ssl.pem_cert_chain},
          {"--ssl_key", key, &ssl.pem_private_key}}) {
      if (!path.empty() && !ReadFile(path, out)) {
        std::cerr << "lact_health_probe: " << flag << " " << path << ": cannot read it\n";
        return 2;
      }
    }
    credentials = grpc::SslCredentials(ssl);
    if (!absl::GetFlag(FLAGS_ssl_target_name).empty()) {
      channel_args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_ssl_target_name));
    }
  }
  auto channel = grpc::CreateCustomChannel(absl::GetFlag(FLAGS_address), credentials, channel_args);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(absl::GetFlag(FLAGS_service));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    std::cerr << "lact_health_probe: " << absl::GetFlag(FLAGS_address) << ": "
              << status.error_code() << " " << status.error_message() << "\n";
    return 1;
  }
  const auto name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  std::cout << name << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}
