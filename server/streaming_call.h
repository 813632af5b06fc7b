// One StreamingRecognize call on gRPC's callback API (grpc::ServerBidiReactor): no thread is held
// by an open call, whether it streams, waits for its client or waits for the model. Everything
// happens in Step(), run by whichever thread has news (a gRPC reaction: a message read, a
// response written, a cancel; the StreamSession's listener: a decode published, audio left the
// buffer, the stream ended) and never by two threads at once:
//   reading:  1. the config message starts the session -> 3. audio messages, each decoded a slice
//             at a time while the session has room (StreamSession::has_room: the backpressure
//             that holds a fast client back through HTTP/2 flow control) -> half-close / cancel
//             (each message and the half-close: StreamRequestHandler)
//   writing:  2. new results -> interim responses -> the final response, one Write in flight
//   4. the call finishes with the reader's error, else the writer's status, once no Write is in
//      flight (a Read may be: gRPC then completes it with ok=false).
// The registry's watchdog sees the same stamps as before (Call::read_started_ns while a Read
// waits for the client, write_started_ns while a Write waits for flow control) and stops a call
// with TryCancel; the call is counted and logged (CallRegistry::Finish) in OnDone, when gRPC has
// settled whether it was cancelled.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "lact/asr/v1/asr.grpc.pb.h"
#include "server/call_registry.h"
#include "server/serial_steps.h"
#include "server/service_context.h"
#include "server/stream_request_handler.h"
#include "server/stream_session.h"

namespace lact::server {

using StreamReactor = grpc::ServerBidiReactor<lact::asr::v1::StreamingRecognizeRequest,
                                              lact::asr::v1::StreamingRecognizeResponse>;

// A call refused at admission: finishes at once with `status`; deletes itself in OnDone.
class RefusedStreamingCall final : public StreamReactor {
 public:
  explicit RefusedStreamingCall(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

class StreamingCall final : public StreamReactor,
                            public std::enable_shared_from_this<StreamingCall> {
 public:
  // Starts the call (`call` is admitted, `context` its gRPC context); gRPC owns the returned
  // reactor until OnDone, which finishes `call` in the registry and lets it go.
  static StreamReactor* Start(const ServiceContext& service, std::shared_ptr<Call> call,
                              grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  StreamingCall(const ServiceContext& service, std::shared_ptr<Call> call,
                grpc::CallbackServerContext* context);

  // What gRPC reported since the last Step.
  struct Events {
    bool read_done = false, read_ok = false;
    bool write_done = false, write_ok = false;
    bool cancelled = false;
  };
  // Runs Step until no thread has news left for it; at most one thread is inside Step.
  void Kick();
  void Step();
  // Reading (steps 1 and 3).
  void OnRead(bool ok);
  void OnConfig();
  void ContinueMessage();
  void MaybeStartRead();
  void ReaderFailed(absl::Status status);
  void LogStart() const;
  // Writing (step 2).
  void AfterWrite(bool ok);
  void TakeUpdate();
  void MaybeStartWrite();
  void ObserveLatency(const SessionMessage& m) const;
  // Step 4.
  void MaybeFinish();

  const ServiceContext& service_;
  const std::shared_ptr<Call> call_;
  grpc::CallbackServerContext* const context_;
  StreamRequestHandler handler_;
  std::shared_ptr<StreamSession> session_;  // started by the config message
  std::shared_ptr<StreamingCall> self_;     // gRPC's reference, dropped in OnDone

  absl::Mutex events_mu_;
  Events events_ ABSL_GUARDED_BY(events_mu_);
  SerialSteps steps_;

  // Only Step touches these.
  lact::asr::v1::StreamingRecognizeRequest request_;  // the Read in flight / message decoded
  bool read_pending_ = false;
  bool reader_done_ = false;
  absl::Status reader_status_;
  bool interim_ = false, word_times_ = false, word_confidence_ = false;
  std::deque<SessionMessage> outbox_;  // taken from the session, not yet written
  SessionMessage writing_;             // the Write in flight
  lact::asr::v1::StreamingRecognizeResponse response_;
  bool write_pending_ = false;
  bool session_ended_ = false;  // the last update was taken
  bool writer_done_ = false;
  absl::Status writer_status_;
  uint64_t version_ = 0;
  std::string last_queued_;  // the open utterance's last interim text queued ("" after a final)
  bool finished_ = false;
  grpc::Status final_status_;  // before Settle; the registry's in OnDone
};

}  // namespace lact::server
