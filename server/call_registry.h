// The open calls of the service (StreamingRecognize and Recognize alike): admission, the drain,
// the watchdog, and each call's final status, count and log line.
//
// Admission: at most max_streams calls in all and max_streams_per_peer per peer (the bearer
// token when tokens are required, else the HTTP/2 connection: ServerContext::peer() names the
// client's address and port, one per connection); past either, RESOURCE_EXHAUSTED. Tokens are
// checked first (UNAUTHENTICATED), and a draining server refuses everything (UNAVAILABLE).
//
// Watchdog: one thread (started with the registry, joined by its destructor) wakes about every
// second (more often for short timeouts). It stops every call whose reader has waited for a
// message longer than stream_idle_timeout (--stream_idle_timeout_s: no config yet, or no
// message since the last), so a silent client cannot hold a --max_streams slot: the call ends
// with DEADLINE_EXCEEDED and the reason, which the client receives (StreamingRecognize finishes
// while its Read waits). It also cancels every call whose writer has been blocked in one Write
// for longer than write_stall_timeout (--write_stall_timeout_s): a client that stops reading its
// responses (its HTTP/2 window is full) then no longer holds a slot and its stream state until
// its own deadline. The server counts and logs such a call as RESOURCE_EXHAUSTED ("the client did
// not read its responses ..."); the client itself sees CANCELLED (gRPC cannot send a status
// through a full window).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lact::server {

class ServerMetrics;
class StreamSession;
class TokenAuthenticator;

// One open call.
struct Call {
  uint64_t id = 0;
  const char* method = "";
  // The sync API's or the callback API's; gRPC frees it once the call is done, so CancelByServer
  // (the watchdog's, which may hold the Call a moment longer) checks it under context_mu, and
  // CallRegistry::Finish clears it.
  grpc::ServerContextBase* context = nullptr;
  absl::Mutex context_mu;
  bool context_gone ABSL_GUARDED_BY(context_mu) = false;
  absl::Time start;
  absl::Mutex mu;
  std::shared_ptr<StreamSession> session ABSL_GUARDED_BY(mu);
  absl::Status abort_status ABSL_GUARDED_BY(mu);  // set by AbortAll and by the watchdog
  std::string peer_key;                           // for --max_streams_per_peer
  // When the writer's current Write began (absl::GetCurrentTimeNanos()); 0 while not writing.
  // Read by the watchdog.
  std::atomic<int64_t> write_started_ns{0};
  // When the reader began waiting for the next message; 0 while it is not waiting (decoding,
  // held back by backpressure, after the half-close). Read by the watchdog.
  std::atomic<int64_t> read_started_ns{0};
  std::atomic<bool> config_received{false};
  // Set just before the server itself cancels the call (the watchdog, the shutdown, a writer
  // stuck after the reader ended): the cancellation is then not the client's.
  std::atomic<bool> cancelled_by_server{false};
  std::atomic<bool> released{false};  // CallRegistry::Release ran

  // Set by a call that ends itself when aborted (StreamingRecognize, on the callback API, can
  // finish with the abort's status while it waits for its client): called by Abort, without `mu`.
  std::function<void()> on_abort ABSL_GUARDED_BY(mu);

  absl::Status aborted();
  void CancelByServer();
  // Ends the call's stream with `status` (its state is freed now, a reader waiting on
  // backpressure wakes); the first reason given is the one the call keeps. True when the call
  // ends itself with it (on_abort); otherwise only a cancel stops a reader waiting for its client.
  bool Abort(const absl::Status& status);
};

struct CallRegistryOptions {
  int max_streams = 64;
  int max_streams_per_peer = 0;  // 0: off
  // When set, every call must carry a valid bearer token, checked before admission. Not owned.
  const TokenAuthenticator* authenticator = nullptr;
  absl::Duration write_stall_timeout = absl::Seconds(30);  // > 0
  absl::Duration stream_idle_timeout = absl::Seconds(30);  // ZeroDuration: off
};

class CallRegistry {
 public:
  CallRegistry(ServerMetrics* metrics, const CallRegistryOptions& options);  // metrics may be null
  ~CallRegistry();

  // Registers a call, or says why it may not start (UNAUTHENTICATED / UNAVAILABLE /
  // RESOURCE_EXHAUSTED). A refusal is counted and logged here.
  absl::StatusOr<std::shared_ptr<Call>> Admit(grpc::ServerContextBase* context, const char* method);
  // The status a call ends with, settled: the server's own reason when it cancelled the call,
  // CANCELLED for a client that went away, DEADLINE_EXCEEDED past the client's deadline, else
  // `status` (what the handler found).
  static grpc::Status Settle(Call& call, grpc::Status status);
  // Ends an admitted call: frees its session, settles its status (Settle), unregisters, counts
  // and logs it. Returns the status to send. (The callback API's StreamingRecognize sends
  // Settle's status when it finishes and calls this once gRPC is done with the call, when a
  // cancellation is certain to be known.)
  grpc::Status Finish(Call& call, grpc::Status status);
  // Frees the call's slot (--max_streams, --max_streams_per_peer, lact_active_streams) ahead of
  // Finish: StreamingRecognize calls it just before it sends its status, so that a client which
  // opens its next call at once finds the slot free. Idempotent; Finish calls it too.
  void Release(Call& call);

  // Graceful shutdown: new calls get UNAVAILABLE from now on.
  void StartDrain();
  int open_calls() const;
  // Waits until no call is open or `deadline`; true when none is.
  bool WaitUntilIdle(absl::Time deadline) const;
  // Ends every open call with `status`. Calls whose client is silent are cancelled after `grace`.
  void AbortAll(const absl::Status& status, absl::Duration grace);

 private:
  void Unregister(const Call& call);
  std::string PeerKey(const grpc::ServerContextBase& context) const;
  void WatchdogLoop();
  void CancelStalledWrites();
  void CancelIdleReads();
  // Open calls whose `since` (Call::write_started_ns or read_started_ns) is older than `limit`,
  // not yet stopped by the server.
  std::vector<std::shared_ptr<Call>> CallsWaitingLongerThan(std::atomic<int64_t> Call::*since,
                                                            absl::Duration limit) const;
  // The watchdog's verdict: logs `status`, frees the call's stream and ends the call: with
  // `status` where it ends itself and `may_end_itself` (nothing is being written), else by a
  // cancel.
  static void StopByServer(Call& call, bool may_end_itself, const absl::Status& status);

  ServerMetrics* const metrics_;
  const CallRegistryOptions options_;

  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, std::shared_ptr<Call>> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> calls_per_peer_ ABSL_GUARDED_BY(mu_);

  absl::Mutex watchdog_mu_;
  bool watchdog_stop_ ABSL_GUARDED_BY(watchdog_mu_) = false;
  std::thread watchdog_;  // last: started once everything above exists
};

// Finishes its call with INTERNAL if the handler returns without Finish (a bug), so that no call
// ever stays registered.
class CallGuard {
 public:
  CallGuard(CallRegistry* registry, std::shared_ptr<Call> call)
      : registry_(registry), call_(std::move(call)) {}
  ~CallGuard() {
    if (!finished_) Finish(grpc::Status(grpc::StatusCode::INTERNAL, "call ended without a status"));
  }
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;
  grpc::Status Finish(grpc::Status status) {
    finished_ = true;
    return registry_->Finish(*call_, std::move(status));
  }

 private:
  CallRegistry* registry_;
  std::shared_ptr<Call> call_;
  bool finished_ = false;
};

}  // namespace lact::server
