// A call's request -> its StreamSession's options, validated at the edge: LaCT on or off, word
// times and confidences, alternatives, endpointing (the request's fields over the server's
// --endpointing* defaults), the LaCT scope, single_utterance, voice-activity events and timeouts.
// INVALID_ARGUMENT names the field.
#pragma once

#include "absl/status/statusor.h"
#include "core/endpointing/endpointing_config.h"
#include "lact/asr/v1/asr.pb.h"
#include "server/service_context.h"
#include "server/stream_session.h"

namespace lact::server {

// RecognitionConfig.max_alternatives: at most this many (more: INVALID_ARGUMENT).
inline constexpr int kMaxAlternatives = 10;

// The request's endpointing fields over `defaults` (unset fields keep the default), validated.
absl::StatusOr<EndpointingConfig> MergeEndpointing(const lact::asr::v1::EndpointingConfig& request,
                                                   const EndpointingConfig& defaults);

// A StreamingRecognize call's options (Recognize: a StreamingRecognitionConfig holding only its
// RecognitionConfig).
absl::StatusOr<SessionOptions> SessionOptionsFromRequest(
    const lact::asr::v1::StreamingRecognitionConfig& request, const AsrServiceOptions& options);

}  // namespace lact::server
