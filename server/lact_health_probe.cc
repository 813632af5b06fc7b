// lact_health_probe: asks a gRPC server's standard health service (grpc.health.v1) whether it is
// SERVING; exit 0 when it is, 1 when not (or unreachable), 2 on bad usage. For Docker HEALTHCHECK
// and Kubernetes exec probes:  lact_health_probe --address 127.0.0.1:50051
#include <iostream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "core/tools/flag_names.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051", "host:port of the gRPC server");
ABSL_FLAG(std::string, service, "", "Service name to check (empty: the server as a whole)");
ABSL_FLAG(int32_t, timeout_ms, 2000, "Give up after this long (ms)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Usage: lact_health_probe [--address HOST:PORT] [--service NAME] "
                               "[--timeout_ms 2000]\nExit 0 when SERVING.");
  std::vector<std::string> storage;
  std::vector<char*> args = lact::NormalizeFlagNames(argc, argv, &storage);
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (rest.size() > 1) {
    std::cerr << "lact_health_probe: unexpected argument '" << rest[1] << "'\n";
    return 2;
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_address), grpc::InsecureChannelCredentials());
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
