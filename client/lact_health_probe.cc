// lact_health_probe: asks a gRPC server's standard health service (grpc.health.v1) whether it is
// SERVING; exit 0 when it is, 1 when not (or unreachable), 2 on bad usage. For Docker HEALTHCHECK
// and Kubernetes exec probes:  lact_health_probe --address 127.0.0.1:50051
// Against a TLS server: --use_ssl [--ssl_root_cert CA.pem] [--ssl_target_name NAME], plus
// --ssl_cert/--ssl_key for mutual TLS. (Health checks need no bearer token.)
// Or over plain HTTP: --http_address 127.0.0.1:9400 asks the metrics listener's GET /healthz
// (same SERVING / NOT_SERVING state), which needs no certificate: the container HEALTHCHECK of a
// server whose gRPC port requires (mutual) TLS.
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "client/connection_flags.h"
#include "core/flags/flag_names.h"
#include "grpc/health/v1/health.grpc.pb.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(std::string, address, "127.0.0.1:50051", "host:port of the gRPC server");
ABSL_FLAG(std::string, http_address, "", "host:port of lact_server's metrics listener: ask GET /healthz "
          "over plain HTTP instead of the gRPC health service (ignores --address, --service, --ssl_*)");
ABSL_FLAG(std::string, service, "", "Service name to check (empty: the server as a whole)");
ABSL_FLAG(int32_t, timeout_ms, 2000, "Give up after this long (ms)");
// clang-format on

namespace {

// GET /healthz on host:port; exit code 0 on 200, 1 otherwise (unreachable included).
int ProbeHttp(const std::string& address, int timeout_ms) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    std::cerr << "lact_health_probe: --http_address " << address << ": expected HOST:PORT\n";
    return 2;
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int r = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); r != 0) {
    std::cerr << "lact_health_probe: " << address << ": " << gai_strerror(r) << "\n";
    return 1;
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    std::cerr << "lact_health_probe: " << address << ": cannot connect\n";
    return 1;
  }
  const std::string request =
      "GET /healthz HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n\r\n";
  std::string response;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buf[1024];
    ssize_t n;
    while (response.size() < 65536 && (n = recv(fd, buf, sizeof buf, 0)) > 0)
      response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nSERVING\n"
  const size_t body = response.find("\r\n\r\n");
  const std::string status_line = response.substr(0, response.find("\r\n"));
  std::string text = body == std::string::npos ? "" : response.substr(body + 4);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    std::cerr << "lact_health_probe: " << address << ": no HTTP response\n";
    return 1;
  }
  std::cout << (text.empty() ? status_line : text) << "\n";
  return status_line.compare(9, 3, "200") == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* const kUsage =
      R"(Usage: lact_health_probe [--address HOST:PORT] [--service NAME] [--timeout_ms 2000]
                         [--use_ssl [--ssl_root_cert CA.pem] [--ssl_cert C.pem --ssl_key K.pem]]
   or: lact_health_probe --http_address HOST:METRICS_PORT (GET /healthz)
Exit 0 when SERVING.)";
  if (!lact::ParseFlagsOnly(argc, argv, "lact_health_probe", kUsage)) return 2;
  if (!absl::GetFlag(FLAGS_http_address).empty()) {
    return ProbeHttp(absl::GetFlag(FLAGS_http_address), absl::GetFlag(FLAGS_timeout_ms));
  }
  auto connection = lact::eval::ClientConnectionFromFlags();
  if (!connection.ok()) {
    std::cerr << "lact_health_probe: " << connection.status().message() << "\n";
    return 2;
  }
  auto channel = grpc::CreateCustomChannel(absl::GetFlag(FLAGS_address), connection->credentials,
                                           connection->args);
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
