// The end of a CtcBeamSearchDecoder's input: results from its beam (best, stable words, the
// final transcript and its alternatives with their confidences); ctc_beam_search.h states the
// rules.
#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/decoding/ctc_beam_search.h"

namespace lact {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

}  // namespace

CtcResult CtcBeamSearchDecoder::ToResult(const WordLink* words, const std::string& partial,
                                         int32_t partial_start, int32_t last_end) const {
  std::vector<const WordLink*> chain;
  for (; words != nullptr; words = words->prev.get()) chain.push_back(words);
  CtcResult r;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const WordLink* w = *it;
    r.words.push_back({w->text, w->start * frame_seconds_, w->end * frame_seconds_});
  }
  if (!partial.empty()) {
    r.words.push_back({partial, partial_start * frame_seconds_, last_end * frame_seconds_});
  }
  for (size_t i = 0; i < r.words.size(); ++i)
    absl::StrAppend(&r.text, i ? " " : "", r.words[i].word);
  return r;
}

CtcResult CtcBeamSearchDecoder::Best() const {
  const Hyp& h = beam_.front();
  return ToResult(h.words.get(), h.partial, h.partial_start, h.last_end);
}

CtcResult CtcBeamSearchDecoder::Stable() {
  const size_t done = stable_.size();
  // Each hypothesis' words after the stable ones, oldest first.
  std::vector<std::vector<const WordLink*>> tails;
  size_t common = std::numeric_limits<size_t>::max();
  for (const Hyp& h : beam_) {
    std::vector<const WordLink*> tail;
    for (const WordLink* w = h.words.get(); w != nullptr && static_cast<size_t>(w->count) > done;
         w = w->prev.get()) {
      tail.push_back(w);
    }
    std::reverse(tail.begin(), tail.end());
    common = std::min(common, tail.size());
    tails.push_back(std::move(tail));
  }
  size_t agree = 0;
  for (; agree < common; ++agree) {
    bool same = true;
    for (const auto& tail : tails) same = same && tail[agree]->text == tails[0][agree]->text;
    if (!same) break;
  }
  for (size_t i = 0; i < agree; ++i) {
    const WordLink* w = tails[0][i];
    stable_.push_back({w->text, w->start * frame_seconds_, w->end * frame_seconds_});
  }
  CtcResult r;
  r.words = stable_;
  for (size_t i = 0; i < r.words.size(); ++i)
    absl::StrAppend(&r.text, i ? " " : "", r.words[i].word);
  return r;
}

std::vector<CtcBeamSearchDecoder::Ending> CtcBeamSearchDecoder::Endings() const {
  std::vector<Ending> out;
  Hyp done;
  for (const Hyp& h : beam_) {
    const Hyp* end = &h;
    if (!h.partial.empty()) {
      if (!CompleteWord(h, &done)) continue;
      end = &done;
    }
    double s = LogAddExp(end->pb, end->pnb) + end->lm;
    if (lm_ && lm_->lm().eos_id() >= 0) {
      s += options_.lm_weight * WordLmScore(end->words.get(), lm_->lm().eos_id());
    }
    out.push_back({s, end->words});
  }
  return out;
}

CtcResult CtcBeamSearchDecoder::Final() const { return FinalAlternatives(1).front(); }

std::vector<CtcResult> CtcBeamSearchDecoder::FinalAlternatives(int n) const {
  // Distinct word sequences, in order of first appearance (beam order: ties keep it).
  const std::vector<Ending> endings = Endings();
  std::vector<Alternative> alts;
  for (const Ending& e : endings) {
    if (!(e.total > kNegInf)) continue;  // no probability left (as Final() always treated it)
    auto same = std::find_if(alts.begin(), alts.end(), [&](const Alternative& a) {
      return SameWords(a.words, e.words.get());
    });
    if (same == alts.end()) {
      alts.push_back({e.total, e.words.get()});
    } else {
      if (e.total > same->best) {
        same->best = e.total;
        same->words = e.words.get();
      }
    }
  }
  std::vector<CtcResult> out;
  if (alts.empty()) {
    // No hypothesis ends well: the best one's completed words, with no support (confidence 0).
    out.push_back(ToResult(beam_.front().words.get(), "", 0, 0));
  } else {
    out = RankAlternatives(alts, n);
  }
  // Words already reported as stable keep their reported times.
  for (CtcResult& r : out) {
    for (size_t i = 0; i < stable_.size() && i < r.words.size(); ++i) {
      if (r.words[i].word == stable_[i].word) {
        r.words[i].start_s = stable_[i].start_s;
        r.words[i].end_s = stable_[i].end_s;
      }
    }
  }
  return out;
}

std::vector<CtcResult> CtcBeamSearchDecoder::RankAlternatives(std::vector<Alternative>& alts,
                                                              int n) const {
  std::stable_sort(alts.begin(), alts.end(),
                   [](const Alternative& a, const Alternative& b) { return a.best > b.best; });
  double norm = kNegInf;
  for (const Alternative& a : alts) norm = LogAddExp(norm, a.best);
  std::vector<CtcResult> all;  // every alternative, for the word posteriors
  for (const Alternative& a : alts) {
    all.push_back(ToResult(a.words, "", 0, 0));
    all.back().confidence = std::clamp(std::exp(a.best - norm), 0.0, 1.0);
  }
  std::vector<CtcResult> out(all.begin(),
                             all.begin() + std::min<size_t>(all.size(), std::max(1, n)));
  for (CtcResult& r : out) {
    for (WordInfo& w : r.words) {
      double p = 0;
      for (const CtcResult& other : all) {
        const bool has =
            std::any_of(other.words.begin(), other.words.end(), [&](const WordInfo& o) {
              return o.word == w.word && o.start_s < w.end_s && w.start_s < o.end_s;
            });
        if (has) p += other.confidence;
      }
      w.confidence = std::clamp(p, 0.0, 1.0);
    }
  }
  return out;
}

}  // namespace lact
