#include "server/recognition_results.h"

#include <cstdint>

namespace lact::server {

namespace pb = lact::asr::v1;

void SetDuration(double seconds, google::protobuf::Duration* d) {
  if (seconds < 0) seconds = 0;
  const int64_t nanos_total = static_cast<int64_t>(seconds * 1e9 + 0.5);
  d->set_seconds(nanos_total / 1000000000);
  d->set_nanos(static_cast<int32_t>(nanos_total % 1000000000));
}

void FillAlternative(const ResultSnapshot& r, bool word_times,
                     pb::SpeechRecognitionAlternative* alt) {
  alt->set_transcript(r.is_final ? r.committed_text : r.text);
  if (!word_times) return;
  for (const WordTime& w : r.words) {
    pb::WordInfo* info = alt->add_words();
    info->set_word(w.word);
    SetDuration(w.start_s, info->mutable_start_time());
    SetDuration(w.end_s, info->mutable_end_time());
  }
}

pb::StreamingRecognizeResponse StreamingResponse(const ResultSnapshot& r, bool word_times,
                                                 double audio_received_seconds) {
  pb::StreamingRecognizeResponse response;
  pb::StreamingRecognitionResult* result = response.add_results();
  FillAlternative(r, word_times, result->add_alternatives());
  result->set_is_final(r.is_final);
  result->set_stable_transcript(r.committed_text);
  result->set_stability(r.is_final       ? 1.0f
                        : r.text.empty() ? 0.0f
                                         : static_cast<float>(r.committed_text.size()) /
                                               static_cast<float>(r.text.size()));
  SetDuration(r.end_seconds, result->mutable_result_end_time());
  SetDuration(audio_received_seconds, response.mutable_audio_received());
  return response;
}

}  // namespace lact::server
