// The metrics port's HTTP/1.1 server: GET /metrics returns the text exposition produced by a
// callback; GET /healthz returns 200 "SERVING" or 503 "NOT_SERVING" (the same state as the gRPC
// health service, for probes that cannot speak the gRPC port's TLS: Docker HEALTHCHECK,
// Kubernetes httpGet); other paths get 404, other methods 405.
//
// Built on libmicrohttpd (GNU, Debian's libmicrohttpd12): one event-driven thread (epoll) serves
// every connection, so a connection that trickles or sends nothing never delays another; HTTP
// parsing, keep-alive and pipelining are the library's. On top of it (docs/reliability.md,
// "The metrics port"):
//   - a deadline per request: a connection must deliver a complete request and take the whole
//     response within `request_timeout` of its accept or of its previous response, or it is
//     shut down (libmicrohttpd's own timeout only measures inactivity, so a client sending one
//     byte a second would otherwise hold its connection for hours);
//   - a connection cap (`max_connections`): past it new connections are closed at once;
//   - 16 KiB of memory per connection: a longer request head gets 431 and is closed.
//
// Why not prometheus-cpp's pull Exposer: it runs on civetweb, and Debian 12's civetweb 1.15
// refuses to start ("null context when constructing CivetServer") in any process that links
// LibTorch, even on a free port (reproduced with a 5-line program linking -ltorch).
// libmicrohttpd starts in lact_server, which links LibTorch (every server test). The metrics
// registry and the text format are still prometheus-cpp's.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace lact::server {

struct MetricsHttpOptions {
  // Each request's deadline (request head, body and the response), counted from the
  // connection's accept or its previous response; also how long an idle keep-alive connection
  // stays open. Prometheus and the kubelet send a request in one packet and re-dial when a
  // keep-alive connection was closed.
  absl::Duration request_timeout = absl::Seconds(5);
  // Connections open at once; the rest are closed as they arrive. Leaves room for many slow or
  // idle peers plus the probes and scrapes.
  int max_connections = 512;

  absl::Status Validate() const;
};

class MetricsHttpServer {
 public:
  // Binds host:port (port 0: a free port) and starts serving. `serving` answers /healthz.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& host, int port, std::function<std::string()> render,
      std::function<bool()> serving, const MetricsHttpOptions& options = {});
  ~MetricsHttpServer();  // stops: open connections are closed, the threads joined
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

  struct Impl;  // libmicrohttpd's daemon, the open connections and the deadline thread

 private:
  MetricsHttpServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace lact::server
