#include "server/metrics_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lact::server {
namespace {

void SendAll(int fd, const std::string& data) {
  size_t at = 0;
  while (at < data.size()) {
    const ssize_t n = send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    at += static_cast<size_t>(n);
  }
}

std::string Response(const char* status, const char* content_type, const std::string& body) {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port, std::function<std::string()> render, std::function<bool()> serving) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int r = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); r != 0) {
    return absl::InvalidArgumentError(absl::StrCat("metrics address ", host, ": ", gai_strerror(r)));
  }
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0) {
      error = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", host, ":", port, ": ", error));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port = ntohs(bound.ss_family == AF_INET6
                                   ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                   : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(fd, bound_port, std::move(render), std::move(serving)));
}

MetricsHttpServer::MetricsHttpServer(int listen_fd, int port, std::function<std::string()> render,
                                     std::function<bool()> serving)
    : listen_fd_(listen_fd), port_(port), render_(std::move(render)), serving_(std::move(serving)) {
  if (pipe2(wake_pipe_, O_CLOEXEC) != 0) wake_pipe_[0] = wake_pipe_[1] = -1;
  thread_ = std::thread([this] { Loop(); });
}

MetricsHttpServer::~MetricsHttpServer() {
  if (wake_pipe_[1] >= 0) {
    const char c = 'x';
    (void)!write(wake_pipe_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  if (wake_pipe_[0] >= 0) close(wake_pipe_[0]);
  if (wake_pipe_[1] >= 0) close(wake_pipe_[1]);
}

void MetricsHttpServer::Loop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    const int n = poll(fds, wake_pipe_[0] >= 0 ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;  // stop
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Serve(fd);
    close(fd);
  }
}

void MetricsHttpServer::Serve(int fd) {
  timeval timeout{2, 0};  // a client that sends nothing does not hold the server
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::string request;
  char buf[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    request.append(buf, static_cast<size_t>(n));
  }
  const size_t line_end = request.find("\r\n");
  const std::string line = request.substr(0, line_end);  // "GET /metrics HTTP/1.1"
  const bool get = absl::StartsWith(line, "GET ");
  const bool head = absl::StartsWith(line, "HEAD ");
  const size_t path_start = line.find(' ') + 1;
  const size_t path_end = line.find(' ', path_start);
  std::string path = line.substr(path_start, path_end == std::string::npos ? std::string::npos : path_end - path_start);
  path = path.substr(0, path.find('?'));
  std::string response;
  size_t body_size = 0;
  if ((get || head) && (path == "/metrics" || path == "/metrics/")) {
    const std::string body = render_();
    body_size = body.size();
    response = Response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body);
  } else if ((get || head) && path == "/healthz") {
    const bool serving = serving_ && serving_();
    const std::string body = serving ? "SERVING\n" : "NOT_SERVING\n";
    body_size = body.size();
    response = Response(serving ? "200 OK" : "503 Service Unavailable", "text/plain", body);
  } else if (get || head) {
    response = Response("404 Not Found", "text/plain", "not found: try /metrics or /healthz\n");
  } else {
    response = Response("405 Method Not Allowed", "text/plain", "GET /metrics or /healthz\n");
  }
  if (head) response.resize(response.size() - body_size);
  SendAll(fd, response);
}

}  // namespace lact::server
