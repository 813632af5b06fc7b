#include "core/streaming/utterance_decoder.h"

#include <algorithm>
#include <utility>

namespace lact {

UtteranceDecoder::UtteranceDecoder(const Vocab& vocab, std::shared_ptr<const LanguageModel> lm,
                                   double frame_seconds,
                                   const std::optional<CtcBeamSearchOptions>& beam,
                                   const UtteranceOptions& options)
    : vocab_(&vocab),
      frame_seconds_(frame_seconds),
      options_(options),
      greedy_(vocab, frame_seconds) {
  if (beam) beam_.emplace(std::move(lm), vocab, frame_seconds, *beam, options_.boost);
  if (options_.endpointing.enabled || options_.speech_events) {
    endpointer_.emplace(options_.endpointing, frame_seconds * 1000.0);
  }
}

bool UtteranceDecoder::Accept(const torch::Tensor& ids, const torch::Tensor& logits) {
  const int64_t n = ids.size(0);
  if (!endpointer_) {
    Feed(ids, logits, 0, n);
    frames_ += n;
    return false;
  }
  const int64_t* id = ids.data_ptr<int64_t>();
  std::vector<bool> speech(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) speech[i] = vocab_->kind(id[i]) == Vocab::Kind::kText;
  std::vector<EndpointEvent> events;
  endpointer_->Accept(speech, &events);
  int64_t fed = 0;  // rows of this call given to the decoder
  bool ended = false;
  for (const EndpointEvent& e : events) {
    if (e.kind == EndpointEvent::Kind::kStart) speech_start_frame_ = e.frame;
    if (e.kind == EndpointEvent::Kind::kEnd && options_.endpointing.enabled) {
      const int64_t row = e.frame - frames_;  // in (0, n]
      Feed(ids, logits, fed, row);
      fed = row;
      EndUtterance(e.frame, e.forced, /*at_input_end=*/false);
      ended = true;
    }
  }
  Feed(ids, logits, fed, n);
  frames_ += n;
  events_.insert(events_.end(), events.begin(), events.end());
  return ended;
}

void UtteranceDecoder::Feed(const torch::Tensor& ids, const torch::Tensor& logits, int64_t from,
                            int64_t to) {
  if (to <= from) return;
  if (beam_) {
    beam_->Accept(logits.narrow(0, from, to - from));
  } else {
    greedy_.Accept(ids.narrow(0, from, to - from),
                   logits.defined() ? logits.narrow(0, from, to - from) : logits);
  }
}

CtcResult UtteranceDecoder::FromStreamStart(CtcResult r) const {
  const double offset = static_cast<double>(start_frame_) * frame_seconds_;
  for (WordInfo& w : r.words) {
    w.start_s += offset;
    w.end_s += offset;
  }
  return r;
}

void UtteranceDecoder::EndUtterance(int64_t end, bool forced, bool at_input_end) {
  std::vector<CtcResult> alternatives;
  if (beam_) {
    alternatives = beam_->FinalAlternatives(std::max(1, options_.max_alternatives));
  } else {
    alternatives.push_back(greedy_.Committed());
  }
  for (CtcResult& a : alternatives) options_.calibration.Apply(&a, /*greedy=*/!beam_);
  CtcResult r = FromStreamStart(std::move(alternatives.front()));
  // An utterance without text has no final, except a stream's only one (its one final).
  if (!r.text.empty() || (at_input_end && utterances_ == 0)) {
    UtteranceResult u;
    u.text = std::move(r.text);
    u.words = std::move(r.words);
    u.confidence = r.confidence;
    for (size_t i = 1; i < alternatives.size(); ++i) {
      u.alternatives.push_back(FromStreamStart(std::move(alternatives[i])));
    }
    u.start_frame = start_frame_;
    u.end_frame = end;
    u.speech_start_frame = speech_start_frame_;
    u.start_s = u.words.empty() ? static_cast<double>(start_frame_) * frame_seconds_
                                : u.words.front().start_s;
    u.end_s = static_cast<double>(end) * frame_seconds_;
    u.forced = forced;
    u.at_input_end = at_input_end;
    done_.push_back(std::move(u));
    ++utterances_;
  }
  if (beam_) beam_->Reset();
  greedy_.Reset();
  start_frame_ = end;
  speech_start_frame_ = -1;
}

void UtteranceDecoder::Open(const torch::Tensor& ids, const torch::Tensor& logits,
                            CtcResult* committed, CtcResult* with_provisional) {
  if (beam_) {
    if (with_provisional) *with_provisional = FromStreamStart(beam_->WithProvisional(logits));
    *committed = FromStreamStart(beam_->Stable());
  } else {
    if (with_provisional) *with_provisional = FromStreamStart(greedy_.WithProvisional(ids, logits));
    *committed = FromStreamStart(greedy_.Committed());
  }
}

const UtteranceResult* UtteranceDecoder::Finish() {
  const size_t before = done_.size();
  EndUtterance(frames_, /*forced=*/false, /*at_input_end=*/true);
  return done_.size() > before ? &done_.back() : nullptr;
}

std::vector<UtteranceResult> UtteranceDecoder::TakeUtterances() { return std::exchange(done_, {}); }

std::vector<EndpointEvent> UtteranceDecoder::TakeEvents() { return std::exchange(events_, {}); }

void UtteranceDecoder::Reset() {
  greedy_.Reset();
  if (beam_) beam_->Reset();
  if (endpointer_) endpointer_.emplace(options_.endpointing, frame_seconds_ * 1000.0);
  frames_ = 0;
  start_frame_ = 0;
  speech_start_frame_ = -1;
  utterances_ = 0;
  done_.clear();
  events_.clear();
}

}  // namespace lact
