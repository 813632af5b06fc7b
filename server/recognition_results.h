// Recogniser results (ResultSnapshot) as lact.asr.v1 messages.
#pragma once

#include <vector>

#include <google/protobuf/duration.pb.h>

#include "lact/asr/v1/asr.pb.h"
#include "server/stream_session.h"

namespace lact::server {

// seconds (negative: 0) as a protobuf Duration, rounded to the nanosecond.
void SetDuration(double seconds, google::protobuf::Duration* d);

// What a call asked for in its results' words (RecognitionConfig).
struct WordFields {
  bool times = false;       // enable_word_time_offsets
  bool confidence = false;  // enable_word_confidence
};

// The transcript (final: the committed text; interim: the whole text so far), its confidence
// (finals) and, when asked, its words with their times (and confidences, finals only).
void FillAlternative(const ResultSnapshot& r, WordFields words,
                     lact::asr::v1::SpeechRecognitionAlternative* alt);
// Every alternative of a result: the best (FillAlternative), then a final's others.
void FillAlternatives(
    const ResultSnapshot& r, WordFields words,
    google::protobuf::RepeatedPtrField<lact::asr::v1::SpeechRecognitionAlternative>* alts);

// One StreamingRecognize response for `m`: a speech event (its type and offset, no result), or
// its result (alternative, is_final, stable transcript, stability, result_end_time); and the
// audio received so far.
lact::asr::v1::StreamingRecognizeResponse StreamingResponse(const SessionMessage& m,
                                                            WordFields words,
                                                            double audio_received_seconds);

// A Recognize response from the clip's finals (in order): one result per utterance, and the
// joined transcript as the single `alternatives` entry (with every word, when asked; its
// confidence: the results' mean, weighted by their words).
void FillRecognizeResponse(const std::vector<ResultSnapshot>& finals, WordFields words,
                           double audio_seconds, lact::asr::v1::RecognizeResponse* response);

}  // namespace lact::server
