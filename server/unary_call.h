// One Recognize call (the whole clip in one request): the clip is validated, decoded a piece at a
// time into a StreamSession (whose backpressure holds the decoding back, so a long clip never sits
// in memory decoded whole), then the call waits for the final result.
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "lact/asr/v1/asr.pb.h"
#include "server/call_registry.h"
#include "server/service_context.h"

namespace lact::server {

// `call` is admitted; this finishes it in the registry. The status to send.
grpc::Status RunRecognize(const ServiceContext& service, std::shared_ptr<Call> call,
                          grpc::ServerContext* context,
                          const lact::asr::v1::RecognizeRequest& request,
                          lact::asr::v1::RecognizeResponse* response);

}  // namespace lact::server
