// The lact.asr.v1.StreamingAsr gRPC service (sync API, one thread per RPC plus one writer thread
// per stream): validates requests, decodes audio, admits streams up to max_streams, and maps
// every absl::Status onto a gRPC status. The model never runs on these threads: sessions are
// decoded by the Scheduler.
//
// StreamingRecognize, per call:
//   reader (the RPC thread): first message = config -> audio messages -> half-close / cancel
//                            (each message and the half-close: StreamRequestHandler)
//   writer (its own thread):  waits for new results -> interim responses -> the final response
//
// Watchdog: one service-wide thread (started with the service, joined by its destructor) wakes
// about every second (more often for short timeouts). It stops every StreamingRecognize call
// whose reader has waited for a message longer than AsrServiceOptions::stream_idle_timeout
// (--stream_idle_timeout_s: no config yet, or no message since the last; counted and logged as
// DEADLINE_EXCEEDED), so a silent client cannot hold a --max_streams slot and two threads. It
// also cancels every call whose writer has been blocked in one Write for longer than
// AsrServiceOptions::write_stall_timeout (--write_stall_timeout_s):
// a client that stops reading its responses (its HTTP/2 window is full) then no longer holds a
// --max_streams slot, two threads and its stream state until its own deadline. The server counts
// and logs such a call as RESOURCE_EXHAUSTED ("the client did not read its responses ..."); the
// client itself sees CANCELLED (gRPC cannot send a status through a full window). Both are
// cancellations by the server: the sync API cannot end a call while its reader waits in Read,
// so an idle client sees CANCELLED too.
//
// Admission: at most max_streams calls in all and max_streams_per_peer per peer (the bearer
// token when tokens are required, else the HTTP/2 connection: ServerContext::peer() names the
// client's address and port, one per connection); past either, RESOURCE_EXHAUSTED.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lact/asr/v1/asr.grpc.pb.h"
#include "server/audio_decoder.h"
#include "server/stream_request_handler.h"  // AudioFormatFromConfig

namespace lact {
class OnlineRecognizer;
}

namespace lact::server {

class Scheduler;
class ServerMetrics;
class StreamSession;
class TokenAuthenticator;

struct AsrServiceOptions {
  int max_streams = 64;
  double max_stream_seconds = 600;
  int feed_ms = 640;
  bool lact_default = true;  // enable_lact when the request leaves it unset
  bool model_has_lact = true;
  int model_sample_rate = 16000;
  // When set (--auth_tokens_file), every call must carry a valid bearer token; it is checked
  // before admission, so a refused call reads no message and never reaches the model.
  // Not owned; must outlive the service.
  const TokenAuthenticator* authenticator = nullptr;
  // --write_stall_timeout_s: a call whose writer has been blocked in one Write (the client does
  // not read its responses) for longer than this is cancelled by the watchdog. > 0.
  absl::Duration write_stall_timeout = absl::Seconds(30);
  // --stream_idle_timeout_s: a StreamingRecognize call whose reader has waited this long for a
  // message (the config, or the next one after it) is stopped by the watchdog.
  // ZeroDuration: off.
  absl::Duration stream_idle_timeout = absl::Seconds(30);
  // --max_streams_per_peer: open calls per peer (bearer token, else HTTP/2 connection); 0: off.
  int max_streams_per_peer = 0;
};

class AsrService final : public lact::asr::v1::StreamingAsr::Service {
 public:
  AsrService(const OnlineRecognizer& recognizer, Scheduler* scheduler, ServerMetrics* metrics,
             const AsrServiceOptions& options);
  ~AsrService() override;

  grpc::Status StreamingRecognize(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<lact::asr::v1::StreamingRecognizeResponse,
                               lact::asr::v1::StreamingRecognizeRequest>* stream) override;
  grpc::Status Recognize(grpc::ServerContext* context, const lact::asr::v1::RecognizeRequest* request,
                         lact::asr::v1::RecognizeResponse* response) override;

  // Graceful shutdown: new calls get UNAVAILABLE from now on.
  void StartDrain();
  // Calls still open.
  int open_calls() const;
  // Waits until no call is open or `deadline`; true when none is.
  bool WaitUntilIdle(absl::Time deadline) const;
  // Ends every open call with `status` (their stream state is freed at once). Calls whose client
  // is silent are cancelled after `grace` (their reader is blocked until the client sends).
  void AbortAll(const absl::Status& status, absl::Duration grace);

 private:
  struct Call;
  class CallGuard;

  // Registers a call, or says why it may not start (UNAUTHENTICATED / UNAVAILABLE /
  // RESOURCE_EXHAUSTED). A refusal is counted and logged here.
  absl::StatusOr<std::shared_ptr<Call>> Admit(grpc::ServerContext* context, const char* method);
  void Unregister(const Call& call);
  // The watchdog thread: every period, CancelStalledWrites() until the destructor stops it.
  void WatchdogLoop();
  void CancelStalledWrites();
  void CancelIdleReads();
  // Open calls whose `since` (Call::write_started_ns or read_started_ns: when the current Write
  // or Read began, 0 while none is pending) is older than `limit`, not yet stopped by the server.
  std::vector<std::shared_ptr<Call>> CallsWaitingLongerThan(std::atomic<int64_t> Call::*since,
                                                           absl::Duration limit) const;
  // The watchdog's verdict: logs `status`, frees the call's stream and cancels the call.
  static void StopByServer(Call& call, const absl::Status& status);
  // The key --max_streams_per_peer counts calls by.
  std::string PeerKey(const grpc::ServerContext& context) const;
  absl::StatusOr<std::shared_ptr<StreamSession>> StartSession(Call& call,
                                                               const lact::asr::v1::RecognitionConfig& config);

  const OnlineRecognizer& recognizer_;
  Scheduler* const scheduler_;
  ServerMetrics* const metrics_;
  const AsrServiceOptions options_;

  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, std::shared_ptr<Call>> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> calls_per_peer_ ABSL_GUARDED_BY(mu_);

  absl::Mutex watchdog_mu_;
  bool watchdog_stop_ ABSL_GUARDED_BY(watchdog_mu_) = false;
  std::thread watchdog_;  // last: started once everything above exists
};

}  // namespace lact::server
