// The answer of GetRecognitionConfig: the loaded model (folder name, rate, frame period,
// vocabulary, decoder and LM, LaCT) and the server's settings (streaming window, endpointing
// defaults, limits), built once at start-up.
#pragma once

#include "lact/asr/v1/asr.pb.h"
#include "server/server_config.h"

namespace lact {
class OnlineRecognizer;
}

namespace lact::server {

lact::asr::v1::GetRecognitionConfigResponse RecognitionConfigInfo(
    const OnlineRecognizer& recognizer, const ServerConfig& config, bool lact_available);

// `c` as the API's EndpointingConfig, every field set.
lact::asr::v1::EndpointingConfig EndpointingToProto(const EndpointingConfig& c);

}  // namespace lact::server
