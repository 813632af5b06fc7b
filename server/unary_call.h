// One Recognize call (the whole clip in one request) on gRPC's callback API
// (grpc::ServerUnaryReactor): like server/streaming_call, the call holds no thread while it waits
// for the model, however many are open. Everything happens in Step(), run by whichever thread has
// news (the start, a cancel, the StreamSession's listener: a decode took audio from the buffer,
// published a final, or the stream ended) and never by two threads at once:
//   1. the request is checked (a config; not OPUS, whose one raw packet per message cannot carry
//      a clip; a PCM clip no longer than --max_stream_seconds, known from its size) and the
//      session started, through the same StreamRequestHandler as a stream's config message;
//   2. the clip is decoded a slice at a time while the session has room (its backpressure: a
//      long clip never sits in memory decoded whole), then the end of input;
//   3. the finals are collected (one per utterance) until the stream ends;
//   4. the call finishes with the response, or with the first error (bad audio, past
//      --max_stream_seconds, the client's cancel or deadline, the watchdog's or the shutdown's
//      abort); it is counted and logged (CallRegistry::Finish) in OnDone.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "lact/asr/v1/asr.pb.h"
#include "server/call_registry.h"
#include "server/serial_steps.h"
#include "server/service_context.h"
#include "server/stream_request_handler.h"
#include "server/stream_session.h"

namespace lact::server {

class RecognizeCall final : public grpc::ServerUnaryReactor,
                            public std::enable_shared_from_this<RecognizeCall> {
 public:
  // Starts the call (`call` is admitted; `request` and `response` are gRPC's, valid until
  // OnDone); gRPC owns the returned reactor until OnDone, which finishes `call` in the registry.
  static grpc::ServerUnaryReactor* Start(const ServiceContext& service, std::shared_ptr<Call> call,
                                         grpc::CallbackServerContext* context,
                                         const lact::asr::v1::RecognizeRequest* request,
                                         lact::asr::v1::RecognizeResponse* response);

  void OnCancel() override;
  void OnDone() override;

 private:
  RecognizeCall(const ServiceContext& service, std::shared_ptr<Call> call,
                grpc::CallbackServerContext* context,
                const lact::asr::v1::RecognizeRequest* request,
                lact::asr::v1::RecognizeResponse* response);

  // Runs Step until no thread has news left for it; at most one thread is inside Step.
  void Kick();
  void Step();
  void Begin();        // step 1
  void FeedClip();     // step 2
  void TakeFinals();   // step 3
  void MaybeFinish();  // step 4
  void Fail(absl::Status status);

  const ServiceContext& service_;
  const std::shared_ptr<Call> call_;
  grpc::CallbackServerContext* const context_;
  const lact::asr::v1::RecognizeRequest& request_;
  lact::asr::v1::RecognizeResponse* const response_;
  StreamRequestHandler handler_;
  std::shared_ptr<StreamSession> session_;  // started in Begin
  std::shared_ptr<RecognizeCall> self_;     // gRPC's reference, dropped in OnDone

  std::atomic<bool> cancelled_{false};
  SerialSteps steps_;

  // Only Step touches these.
  bool begun_ = false;
  bool input_done_ = false;  // the clip was delivered and the input finished
  bool ended_ = false;       // the session's last update was taken
  absl::Status status_;      // the first error
  std::vector<ResultSnapshot> finals_;
  uint64_t version_ = 0;
  bool finished_ = false;
  grpc::Status final_status_;  // before Settle; the registry's in OnDone
};

}  // namespace lact::server
