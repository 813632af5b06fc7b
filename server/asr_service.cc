#include "server/asr_service.h"

#include "server/auth.h"
#include "server/status_mapping.h"
#include "server/streaming_call.h"
#include "server/unary_call.h"

namespace lact::server {

namespace pb = lact::asr::v1;

namespace {

CallRegistryOptions RegistryOptions(const AsrServiceOptions& o) {
  CallRegistryOptions r;
  r.max_streams = o.max_streams;
  r.max_streams_per_peer = o.max_streams_per_peer;
  r.authenticator = o.authenticator;
  r.write_stall_timeout = o.write_stall_timeout;
  r.stream_idle_timeout = o.stream_idle_timeout;
  return r;
}

}  // namespace

AsrService::AsrService(const OnlineRecognizer& recognizer, const OnlineRecognizer& clip_recognizer,
                       Scheduler* scheduler, ServerMetrics* metrics,
                       const AsrServiceOptions& options)
    : options_(options),
      registry_(metrics, RegistryOptions(options_)),
      context_{recognizer, clip_recognizer, scheduler, metrics, &registry_, options_} {}

grpc::ServerBidiReactor<pb::StreamingRecognizeRequest, pb::StreamingRecognizeResponse>*
AsrService::StreamingRecognize(grpc::CallbackServerContext* context) {
  auto admitted = registry_.Admit(context, "StreamingRecognize");
  if (!admitted.ok()) return new RefusedStreamingCall(ToGrpcStatus(admitted.status()));
  return StreamingCall::Start(context_, *std::move(admitted), context);
}

grpc::ServerUnaryReactor* AsrService::Recognize(grpc::CallbackServerContext* context,
                                                const pb::RecognizeRequest* request,
                                                pb::RecognizeResponse* response) {
  auto admitted = registry_.Admit(context, "Recognize");
  if (!admitted.ok()) {
    grpc::ServerUnaryReactor* refused = context->DefaultReactor();
    refused->Finish(ToGrpcStatus(admitted.status()));
    return refused;
  }
  return RecognizeCall::Start(context_, *std::move(admitted), context, request, response);
}

grpc::ServerUnaryReactor* AsrService::GetRecognitionConfig(
    grpc::CallbackServerContext* context, const pb::GetRecognitionConfigRequest* /*request*/,
    pb::GetRecognitionConfigResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (options_.authenticator != nullptr) {
    if (grpc::Status s = options_.authenticator->Authenticate(*context); !s.ok()) {
      reactor->Finish(s);
      return reactor;
    }
  }
  *response = options_.recognition_config;
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace lact::server
