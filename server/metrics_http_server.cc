#include "server/metrics_http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/log.h"

namespace lact::server {
namespace {

// Memory libmicrohttpd may use per connection (request head and read buffer); a request head
// that does not fit gets 431 and the connection is closed.
constexpr size_t kConnectionMemoryBytes = 16 << 10;

// Binds a listening TCP socket on host:port; the fd, or why not.
absl::StatusOr<int> Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int r = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); r != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address ", host, ": ", gai_strerror(r)));
  }
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 512) != 0) {
      error = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", host, ":", port, ": ", error));
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

MHD_Result Reply(MHD_Connection* connection, unsigned int code, const char* content_type,
                 const std::string& body) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  const MHD_Result r = MHD_queue_response(connection, code, response);
  MHD_destroy_response(response);
  return r;
}

// libmicrohttpd's messages while it starts (why it could not); once it serves they are dropped:
// it reports every connection a peer abandons, which a hostile peer could turn into a log flood.
void LogFromLibrary(void* started, const char* format, va_list args) {
  if (static_cast<std::atomic<bool>*>(started)->load()) return;
  char line[512];
  vsnprintf(line, sizeof line, format, args);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  Log("metrics listener: ", text);
}

}  // namespace

absl::Status MetricsHttpOptions::Validate() const {
  if (request_timeout < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("metrics request timeout must be >= 100 ms");
  }
  if (max_connections < 1)
    return absl::InvalidArgumentError("metrics max_connections must be >= 1");
  return absl::OkStatus();
}

struct MetricsHttpServer::Impl {
  std::function<std::string()> render;
  std::function<bool()> serving;
  MetricsHttpOptions options;
  MHD_Daemon* daemon = nullptr;
  std::atomic<bool> started{false};  // mutes libmicrohttpd's log (LogFromLibrary)

  // Open connections: their socket and the time by which the current request must be answered.
  // An entry exists from libmicrohttpd's STARTED notification to its CLOSED one, which comes
  // before the library closes the socket: holding `mu` while shutting a socket down therefore
  // never touches a descriptor that was closed and reused.
  struct Connection {
    int fd = -1;
    absl::Time deadline;
  };
  absl::Mutex mu;
  std::unordered_map<MHD_Connection*, Connection> connections ABSL_GUARDED_BY(mu);
  bool stop ABSL_GUARDED_BY(mu) = false;
  std::thread deadline_thread;

  // The deadline thread: shuts down (both directions) every connection past its deadline;
  // libmicrohttpd then sees the end of the connection and closes it.
  void EnforceDeadlines() {
    const absl::Duration period =
        std::clamp(options.request_timeout / 4, absl::Milliseconds(20), absl::Milliseconds(250));
    absl::MutexLock lock(&mu);
    while (!mu.AwaitWithTimeout(absl::Condition(&stop), period)) {
      const absl::Time now = absl::Now();
      for (auto& [connection, c] : connections) {
        if (c.deadline > now) continue;
        shutdown(c.fd, SHUT_RDWR);
        c.deadline = absl::InfiniteFuture();  // once
      }
    }
  }

  static void OnConnection(void* cls, MHD_Connection* connection, void**,
                           MHD_ConnectionNotificationCode code) {
    auto* self = static_cast<Impl*>(cls);
    absl::MutexLock lock(&self->mu);
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
      self->connections.erase(connection);
      return;
    }
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == nullptr) return;
    self->connections[connection] = {info->connect_fd, absl::Now() + self->options.request_timeout};
  }

  // A request was answered (or abandoned): the next one on this keep-alive connection gets a
  // fresh deadline.
  static void OnCompleted(void* cls, MHD_Connection* connection, void**,
                          MHD_RequestTerminationCode) {
    auto* self = static_cast<Impl*>(cls);
    absl::MutexLock lock(&self->mu);
    auto it = self->connections.find(connection);
    if (it != self->connections.end() && it->second.deadline != absl::InfiniteFuture()) {
      it->second.deadline = absl::Now() + self->options.request_timeout;
    }
  }

  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char*, const char*, size_t*, void**) {
    auto* self = static_cast<Impl*>(cls);
    const absl::string_view m(method);
    if (m != MHD_HTTP_METHOD_GET && m != MHD_HTTP_METHOD_HEAD) {
      return Reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                   "GET /metrics or /healthz\n");
    }
    const absl::string_view path(url);  // without the query string
    if (path == "/metrics" || path == "/metrics/") {
      return Reply(connection, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                   self->render());
    }
    if (path == "/healthz") {
      const bool serving = self->serving && self->serving();
      return Reply(connection, serving ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                   serving ? "SERVING\n" : "NOT_SERVING\n");
    }
    return Reply(connection, MHD_HTTP_NOT_FOUND, "text/plain",
                 "not found: try /metrics or /healthz\n");
  }
};

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port, std::function<std::string()> render,
    std::function<bool()> serving, const MetricsHttpOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  auto fd = Listen(host, port);
  if (!fd.ok()) return fd.status();
  const int bound_port = BoundPort(*fd);
  auto impl = std::make_unique<Impl>();
  impl->render = std::move(render);
  impl->serving = std::move(serving);
  impl->options = options;
  // libmicrohttpd's own timeout (inactivity, whole seconds) backs up the deadline thread.
  const auto idle_seconds =
      static_cast<unsigned int>(std::ceil(absl::ToDoubleSeconds(options.request_timeout)));
  impl->daemon = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, nullptr, nullptr,
      &Impl::OnRequest, impl.get(), MHD_OPTION_EXTERNAL_LOGGER, &LogFromLibrary,
      &impl->started,  // first, as the library asks
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(*fd), MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned int>(options.max_connections), MHD_OPTION_CONNECTION_TIMEOUT,
      idle_seconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemoryBytes,
      MHD_OPTION_NOTIFY_CONNECTION, &Impl::OnConnection, impl.get(), MHD_OPTION_NOTIFY_COMPLETED,
      &Impl::OnCompleted, impl.get(), MHD_OPTION_END);
  if (impl->daemon == nullptr) {
    close(*fd);
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", host, ":", port, ": libmicrohttpd did not start"));
  }
  impl->started.store(true);
  Impl* raw = impl.get();
  impl->deadline_thread = std::thread([raw] { raw->EnforceDeadlines(); });
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(impl), bound_port));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

MetricsHttpServer::~MetricsHttpServer() {
  {
    absl::MutexLock lock(&impl_->mu);
    impl_->stop = true;
  }
  impl_->deadline_thread.join();
  MHD_stop_daemon(impl_->daemon);  // closes the connections and the listening socket
}

}  // namespace lact::server
