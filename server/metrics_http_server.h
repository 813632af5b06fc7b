// A minimal HTTP/1.1 server for Prometheus scrapes: GET /metrics returns the text exposition
// produced by a callback; anything else gets 404. One thread, one connection at a time
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
  // Binds host:port (port 0: a free port) and starts serving.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& host, int port,
                                                                   std::function<std::string()> render);
  ~MetricsHttpServer();  // stops and joins
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer(int listen_fd, int port, std::function<std::string()> render);
  void Loop();
  void Serve(int fd);

  int listen_fd_;
  int port_;
  int wake_pipe_[2] = {-1, -1};
  std::function<std::string()> render_;
  std::thread thread_;
};

}  // namespace lact::server
