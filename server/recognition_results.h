// Recogniser results (ResultSnapshot) as lact.asr.v1 messages.
#pragma once

#include <vector>

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

// One StreamingRecognize response for `m`: a speech event (its type and offset, no result), or
// its result (alternative, is_final, stable transcript, stability, result_end_time); and the
// audio received so far.
lact::asr::v1::StreamingRecognizeResponse StreamingResponse(const SessionMessage& m,
                                                            bool word_times,
                                                            double audio_received_seconds);

// A Recognize response from the clip's finals (in order): one result per utterance, and the
// joined transcript as the single `alternatives` entry (with every word, when word_times).
void FillRecognizeResponse(const std::vector<ResultSnapshot>& finals, bool word_times,
                           double audio_seconds, lact::asr::v1::RecognizeResponse* response);

}  // namespace lact::server
