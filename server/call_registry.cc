#include "server/call_registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/status_mapping.h"
#include "server/stream_session.h"

namespace lact::server {

absl::Status Call::aborted() {
  absl::MutexLock lock(&mu);
  return abort_status;
}

void Call::CancelByServer() {
  cancelled_by_server.store(true);
  absl::MutexLock lock(&context_mu);
  if (!context_gone) context->TryCancel();
}

bool Call::Abort(const absl::Status& status) {
  std::shared_ptr<StreamSession> s;
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu);
    if (abort_status.ok()) abort_status = status;
    s = session;
    hook = on_abort;
  }
  if (s != nullptr) s->Abort(status);
  if (hook) hook();
  return static_cast<bool>(hook);
}

CallRegistry::CallRegistry(ServerMetrics* metrics, const CallRegistryOptions& options)
    : metrics_(metrics), options_(options) {
  watchdog_ = std::thread([this] { WatchdogLoop(); });
}

CallRegistry::~CallRegistry() {
  {
    absl::MutexLock lock(&watchdog_mu_);
    watchdog_stop_ = true;
  }
  watchdog_.join();
}

grpc::Status CallRegistry::Finish(Call& call, grpc::Status status) {
  double audio = 0;
  std::shared_ptr<StreamSession> session;
  {
    absl::MutexLock lock(&call.mu);
    session = std::move(call.session);
  }
  if (session != nullptr) {
    audio = session->received_seconds();
    session->Abort(absl::CancelledError("call ended"));  // no-op once final; frees state otherwise
    session.reset();
  }
  status = Settle(call, std::move(status));
  Release(call);
  if (metrics_ != nullptr) metrics_->CountStream(StatusCodeName(status.error_code()));
  Log("stream ", call.id, " end: status=", StatusCodeName(status.error_code()),
      status.ok() ? "" : absl::StrCat(" (", status.error_message(), ")"),
      " audio=", absl::StrFormat("%.2f", audio),
      "s wall=", absl::StrFormat("%.2f", absl::ToDoubleSeconds(absl::Now() - call.start)), "s");
  absl::MutexLock lock(&call.context_mu);
  call.context_gone = true;  // the handler returns / OnDone ends next
  return status;
}

grpc::Status CallRegistry::Settle(Call& call, grpc::Status status) {
  if (call.context->IsCancelled()) {
    if (call.cancelled_by_server.load()) {
      // The server stopped the call itself: its reason (the watchdog's, the shutdown's), else
      // what the handler found (e.g. OUT_OF_RANGE while the writer was stuck).
      if (absl::Status reason = call.aborted(); !reason.ok()) {
        status = ToGrpcStatus(reason);
      } else if (status.ok()) {
        status = grpc::Status(grpc::StatusCode::CANCELLED, "stopped by the server");
      }
    } else if (status.error_code() != grpc::StatusCode::CANCELLED &&
               status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      // A client that went away (or a call gRPC failed, e.g. an oversize message): whatever
      // the handler made of the failed Read (a half-close, audio ending inside a sample) is
      // not what happened.
      status = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client");
    }
  }
  // DEADLINE_EXCEEDED when the client's deadline passed.
  // gRPC does not say why a call was cancelled. A client's own deadline usually cancels the
  // call (RST_STREAM) just before the server's copy of it passes, hence the margin.
  if (status.error_code() == grpc::StatusCode::CANCELLED &&
      absl::FromChrono(call.context->deadline()) <= absl::Now() + absl::Milliseconds(250)) {
    status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded");
  }
  return status;
}

void CallRegistry::WatchdogLoop() {
  // About every second (more often for a timeout under 2 s, as in tests).
  absl::Duration shortest = options_.write_stall_timeout;
  if (options_.stream_idle_timeout > absl::ZeroDuration()) {
    shortest = std::min(shortest, options_.stream_idle_timeout);
  }
  const absl::Duration period = std::clamp(shortest / 4, absl::Milliseconds(10), absl::Seconds(1));
  while (true) {
    {
      absl::MutexLock lock(&watchdog_mu_);
      if (watchdog_mu_.AwaitWithTimeout(absl::Condition(&watchdog_stop_), period)) return;
    }
    CancelStalledWrites();
    if (options_.stream_idle_timeout > absl::ZeroDuration()) CancelIdleReads();
  }
}

std::vector<std::shared_ptr<Call>> CallRegistry::CallsWaitingLongerThan(
    std::atomic<int64_t> Call::*since, absl::Duration limit) const {
  const int64_t now = absl::GetCurrentTimeNanos();
  const int64_t limit_ns = absl::ToInt64Nanoseconds(limit);
  std::vector<std::shared_ptr<Call>> found;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, call] : calls_) {
    const int64_t began = ((*call).*since).load();
    if (began != 0 && now - began > limit_ns && !call->cancelled_by_server.load())
      found.push_back(call);
  }
  return found;
}

void CallRegistry::StopByServer(Call& call, bool may_end_itself, const absl::Status& status) {
  const bool ends_itself = call.Abort(status) && may_end_itself;
  Log("stream ", call.id, ends_itself ? ": stopping: " : ": cancelling: ", status.message());
  if (!ends_itself) call.CancelByServer();  // unblocks the writer's Write
}

void CallRegistry::CancelIdleReads() {
  const double seconds = absl::ToDoubleSeconds(options_.stream_idle_timeout);
  for (const auto& call :
       CallsWaitingLongerThan(&Call::read_started_ns, options_.stream_idle_timeout)) {
    if (!call->aborted().ok()) continue;  // stopped already, ending itself
    StopByServer(*call, /*may_end_itself=*/true,
                 absl::DeadlineExceededError(
                     call->config_received.load()
                         ? absl::StrFormat("no message from the client for %g s: the server "
                                           "stopped the stream (--stream_idle_timeout_s)",
                                           seconds)
                         : absl::StrFormat("no config from the client within %g s: the server "
                                           "stopped the stream (--stream_idle_timeout_s)",
                                           seconds)));
  }
}

void CallRegistry::CancelStalledWrites() {
  for (const auto& call :
       CallsWaitingLongerThan(&Call::write_started_ns, options_.write_stall_timeout)) {
    StopByServer(*call, /*may_end_itself=*/false,
                 absl::ResourceExhaustedError(absl::StrFormat(
                     "the client did not read its responses for %g s: the server stopped the "
                     "stream (--write_stall_timeout_s)",
                     absl::ToDoubleSeconds(options_.write_stall_timeout))));
  }
}

void CallRegistry::StartDrain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

int CallRegistry::open_calls() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(calls_.size());
}

bool CallRegistry::WaitUntilIdle(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.empty(); };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

void CallRegistry::AbortAll(const absl::Status& status, absl::Duration grace) {
  std::vector<std::shared_ptr<Call>> calls;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, call] : calls_) calls.push_back(call);
  }
  for (const auto& call : calls) call->Abort(status);
  if (WaitUntilIdle(absl::Now() + grace)) return;
  // Calls still open: a stream whose Write waits for a client that does not read, a Recognize
  // call still decoding. Cancel them.
  absl::MutexLock lock(&mu_);
  for (const auto& [id, call] : calls_) {
    Log("stream ", id, ": cancelling (still open after the shutdown's grace)");
    call->CancelByServer();
  }
}

absl::StatusOr<std::shared_ptr<Call>> CallRegistry::Admit(grpc::ServerContextBase* context,
                                                          const char* method) {
  auto refuse = [&](absl::Status status) {
    if (metrics_ != nullptr) metrics_->CountStream(StatusCodeName(static_cast<int>(status.code())));
    Log(method, " from ", context->peer(), " rejected: ", status.message());
    return status;
  };
  // Authentication first: an unauthenticated client learns nothing about the server's load.
  if (options_.authenticator != nullptr) {
    if (absl::Status s = options_.authenticator->CheckMetadata(context->client_metadata());
        !s.ok()) {
      return refuse(s);
    }
  }
  std::string peer_key = PeerKey(*context);
  absl::MutexLock lock(&mu_);
  if (draining_) return refuse(absl::UnavailableError("the server is shutting down"));
  if (static_cast<int>(calls_.size()) >= options_.max_streams) {
    return refuse(absl::ResourceExhaustedError(
        absl::StrCat("too many open streams: the server takes at most ", options_.max_streams,
                     " (--max_streams)")));
  }
  if (options_.max_streams_per_peer > 0 &&
      calls_per_peer_[peer_key] >= options_.max_streams_per_peer) {
    return refuse(absl::ResourceExhaustedError(absl::StrCat(
        "too many open streams from this client: at most ", options_.max_streams_per_peer, " per ",
        options_.authenticator != nullptr ? "bearer token" : "connection",
        " (--max_streams_per_peer)")));
  }
  auto call = std::make_shared<Call>();
  call->id = next_id_++;
  call->method = method;
  call->context = context;
  call->start = absl::Now();
  call->peer_key = std::move(peer_key);
  ++calls_per_peer_[call->peer_key];
  calls_[call->id] = call;
  if (metrics_ != nullptr) metrics_->active_streams().Increment();
  // Every call is logged from its admission, whether or not it ever sends a message ("start"
  // follows once its config is read).
  Log("stream ", call->id, " open: ", method, " peer=", context->peer());
  return call;
}

std::string CallRegistry::PeerKey(const grpc::ServerContextBase& context) const {
  if (options_.authenticator != nullptr) {
    // Authenticated before this: exactly one authorization entry, an accepted token.
    const auto& metadata = context.client_metadata();
    auto it = metadata.find("authorization");
    if (it != metadata.end()) return "token " + std::string(it->second.data(), it->second.size());
  }
  return "connection " + context.peer();  // e.g. ipv4:10.0.0.7:53412: one per HTTP/2 connection
}

void CallRegistry::Release(Call& call) {
  if (call.released.exchange(true)) return;
  Unregister(call);
  if (metrics_ != nullptr) metrics_->active_streams().Decrement();
}

void CallRegistry::Unregister(const Call& call) {
  absl::MutexLock lock(&mu_);
  calls_.erase(call.id);
  auto it = calls_per_peer_.find(call.peer_key);
  if (it != calls_per_peer_.end() && --it->second <= 0) calls_per_peer_.erase(it);
}

}  // namespace lact::server
