// Recogniser results (ResultSnapshot) as lact.asr.v1 messages.
#pragma once

#include <google/protobuf/duration.pb.h>

#include "lact/asr/v1/asr.pb.h"
#include "server/stream_session.h"

namespace lact::server {

// seconds (negative: 0) as a protobuf Duration, rounded to the nanosecond.
void SetDuration(double seconds, google::protobuf::Duration* d);

// The transcript (final: the committed text; interim: the whole text so far) and, with
// `word_times`, each word with its start and end time.
void FillAlternative(const ResultSnapshot& r, bool word_times,
                     lact::asr::v1::SpeechRecognitionAlternative* alt);

// One StreamingRecognize response for `r`: its result (alternative, is_final, stable transcript,
// stability, result_end_time) and the audio received so far.
lact::asr::v1::StreamingRecognizeResponse StreamingResponse(const ResultSnapshot& r,
                                                            bool word_times,
                                                            double audio_received_seconds);

}  // namespace lact::server
