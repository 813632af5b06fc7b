#include "server/recognition_results.h"

#include <algorithm>
#include <cstdint>

namespace lact::server {

namespace pb = lact::asr::v1;

void SetDuration(double seconds, google::protobuf::Duration* d) {
  if (seconds < 0) seconds = 0;
  const int64_t nanos_total = static_cast<int64_t>(seconds * 1e9 + 0.5);
  d->set_seconds(nanos_total / 1000000000);
  d->set_nanos(static_cast<int32_t>(nanos_total % 1000000000));
}

namespace {

void FillWords(const std::vector<WordTime>& words, bool is_final, WordFields fields,
               pb::SpeechRecognitionAlternative* alt) {
  if (!fields.times && !fields.confidence) return;
  for (const WordTime& w : words) {
    pb::WordInfo* info = alt->add_words();
    info->set_word(w.word);
    SetDuration(w.start_s, info->mutable_start_time());
    SetDuration(w.end_s, info->mutable_end_time());
    if (fields.confidence && is_final) info->set_confidence(static_cast<float>(w.confidence));
  }
}

}  // namespace

void FillAlternative(const ResultSnapshot& r, WordFields words,
                     pb::SpeechRecognitionAlternative* alt) {
  alt->set_transcript(r.is_final ? r.committed_text : r.text);
  if (r.is_final) alt->set_confidence(static_cast<float>(r.confidence));
  FillWords(r.words, r.is_final, words, alt);
}

void FillAlternatives(const ResultSnapshot& r, WordFields words,
                      google::protobuf::RepeatedPtrField<pb::SpeechRecognitionAlternative>* alts) {
  FillAlternative(r, words, alts->Add());
  if (!r.is_final) return;
  for (const ResultSnapshot::Alternative& a : r.alternatives) {
    pb::SpeechRecognitionAlternative* alt = alts->Add();
    alt->set_transcript(a.text);
    alt->set_confidence(static_cast<float>(a.confidence));
    FillWords(a.words, /*is_final=*/true, words, alt);
  }
}

namespace {

pb::StreamingRecognizeResponse::SpeechEventType EventType(SpeechEvent e) {
  switch (e) {
    case SpeechEvent::kEndOfSingleUtterance:
      return pb::StreamingRecognizeResponse::END_OF_SINGLE_UTTERANCE;
    case SpeechEvent::kActivityBegin: return pb::StreamingRecognizeResponse::SPEECH_ACTIVITY_BEGIN;
    case SpeechEvent::kActivityEnd: return pb::StreamingRecognizeResponse::SPEECH_ACTIVITY_END;
    case SpeechEvent::kActivityTimeout:
      return pb::StreamingRecognizeResponse::SPEECH_ACTIVITY_TIMEOUT;
    case SpeechEvent::kNone: break;
  }
  return pb::StreamingRecognizeResponse::SPEECH_EVENT_UNSPECIFIED;
}

}  // namespace

pb::StreamingRecognizeResponse StreamingResponse(const SessionMessage& m, WordFields words,
                                                 double audio_received_seconds) {
  pb::StreamingRecognizeResponse response;
  SetDuration(audio_received_seconds, response.mutable_audio_received());
  if (m.event != SpeechEvent::kNone) {
    response.set_speech_event_type(EventType(m.event));
    SetDuration(m.event_offset_s, response.mutable_speech_event_offset());
    return response;
  }
  const ResultSnapshot& r = m.result;
  pb::StreamingRecognitionResult* result = response.add_results();
  FillAlternatives(r, words, result->mutable_alternatives());
  result->set_is_final(r.is_final);
  result->set_stable_transcript(r.committed_text);
  result->set_stability(r.is_final       ? 1.0f
                        : r.text.empty() ? 0.0f
                                         : static_cast<float>(r.committed_text.size()) /
                                               static_cast<float>(r.text.size()));
  SetDuration(r.end_seconds, result->mutable_result_end_time());
  return response;
}

void FillRecognizeResponse(const std::vector<ResultSnapshot>& finals, WordFields words,
                           double audio_seconds, pb::RecognizeResponse* response) {
  ResultSnapshot joined;
  joined.is_final = true;
  double weighted = 0, weight = 0;
  for (const ResultSnapshot& f : finals) {
    pb::SpeechRecognitionResult* result = response->add_results();
    FillAlternatives(f, words, result->mutable_alternatives());
    SetDuration(f.end_seconds, result->mutable_result_end_time());
    if (f.committed_text.empty()) continue;
    if (!joined.committed_text.empty()) joined.committed_text += ' ';
    joined.committed_text += f.committed_text;
    joined.words.insert(joined.words.end(), f.words.begin(), f.words.end());
    const double n = 1.0 + static_cast<double>(
                               std::count(f.committed_text.begin(), f.committed_text.end(), ' '));
    weighted += n * f.confidence;
    weight += n;
  }
  joined.confidence = weight > 0 ? weighted / weight : (finals.empty() ? 0 : finals[0].confidence);
  FillAlternative(joined, words, response->add_alternatives());
  SetDuration(audio_seconds, response->mutable_audio_duration());
}

}  // namespace lact::server
