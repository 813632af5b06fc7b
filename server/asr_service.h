// The lact.asr.v1.StreamingAsr gRPC service, a thin layer over its parts:
//   server/call_registry    admission (--max_streams, --max_streams_per_peer, tokens, drain),
//                           the watchdog (idle reads, stalled writes), each call's final status
//   server/streaming_call   one StreamingRecognize call, on gRPC's callback API: an open stream
//                           holds no thread, however long it waits for its client or the model
//   server/unary_call       one Recognize call, on the callback API too: no thread while it waits
// Every method is on gRPC's callback API (so is gRPC's health service): the server's thread count
// does not grow with its open calls.
// Every absl::Status becomes a gRPC status in server/status_mapping.h. The model never runs on
// these threads: sessions are decoded by the Scheduler.
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lact/asr/v1/asr.grpc.pb.h"
#include "server/call_registry.h"
#include "server/service_context.h"

namespace lact {
class OnlineRecognizer;
}

namespace lact::server {

class Scheduler;
class ServerMetrics;

class AsrService final : public lact::asr::v1::StreamingAsr::CallbackService {
 public:
  // `recognizer` decodes the streams, `clip_recognizer` Recognize's clips (may be the same).
  AsrService(const OnlineRecognizer& recognizer, const OnlineRecognizer& clip_recognizer,
             Scheduler* scheduler, ServerMetrics* metrics, const AsrServiceOptions& options);

  grpc::ServerBidiReactor<lact::asr::v1::StreamingRecognizeRequest,
                          lact::asr::v1::StreamingRecognizeResponse>*
  StreamingRecognize(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Recognize(grpc::CallbackServerContext* context,
                                      const lact::asr::v1::RecognizeRequest* request,
                                      lact::asr::v1::RecognizeResponse* response) override;
  grpc::ServerUnaryReactor* GetRecognitionConfig(
      grpc::CallbackServerContext* context,
      const lact::asr::v1::GetRecognitionConfigRequest* request,
      lact::asr::v1::GetRecognitionConfigResponse* response) override;

  // Graceful shutdown: new calls get UNAVAILABLE from now on.
  void StartDrain() { registry_.StartDrain(); }
  // Calls still open.
  int open_calls() const { return registry_.open_calls(); }
  // Waits until no call is open or `deadline`; true when none is.
  bool WaitUntilIdle(absl::Time deadline) const { return registry_.WaitUntilIdle(deadline); }
  // Ends every open call with `status` (their stream state is freed at once). Calls that have
  // not sent their config yet are cancelled after `grace`.
  void AbortAll(const absl::Status& status, absl::Duration grace) {
    registry_.AbortAll(status, grace);
  }

 private:
  const AsrServiceOptions options_;
  CallRegistry registry_;  // its watchdog thread is joined first on destruction
  const ServiceContext context_;
};

}  // namespace lact::server
