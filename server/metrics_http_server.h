// A minimal HTTP/1.1 server for Prometheus scrapes and plain HTTP health checks: GET /metrics
// returns the text exposition produced by a callback; GET /healthz returns 200 "SERVING" or 503
// "NOT_SERVING" (the same state as the gRPC health service, for probes that cannot speak the
// gRPC port's TLS: Docker HEALTHCHECK, Kubernetes httpGet); anything else gets 404. One thread, one connection at a time
// (Prometheus scrapes are sequential and small), Connection: close.
//
// Why not prometheus-cpp's pull Exposer: it runs on civetweb, and Debian 12's civetweb 1.15
// refuses to start ("null context when constructing CivetServer") in any process that links
// LibTorch, even on a free port (reproduced with a 5-line program linking -ltorch). The metrics
// registry and the text format are still prometheus-cpp's.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace lact::server {

class MetricsHttpServer {
 public:
  // Binds host:port (port 0: a free port) and starts serving. `serving` answers /healthz.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& host, int port,
                                                                   std::function<std::string()> render,
                                                                   std::function<bool()> serving);
  ~MetricsHttpServer();  // stops and joins
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer(int listen_fd, int port, std::function<std::string()> render, std::function<bool()> serving);
  void Loop();
  void Serve(int fd);

  int listen_fd_;
  int port_;
  int wake_pipe_[2] = {-1, -1};
  std::function<std::string()> render_;
  std::function<bool()> serving_;
  std::thread thread_;
};

}  // namespace lact::server
