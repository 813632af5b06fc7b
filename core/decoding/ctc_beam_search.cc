#include "core/decoding/ctc_beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace lact {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double LogAddExp(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::fabs(a - b)));
}

uint64_t HashWord(uint64_t h, int32_t node) {
  return (h ^ static_cast<uint64_t>(node + 1)) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
}

}  // namespace

struct CtcBeamSearchDecoder::WordLink {
  int32_t node;   // Lexicon node where the word ends (identifies the word)
  int32_t lm_id;  // its LM id (-1: not in the LM)
  int32_t start, end;
  int64_t count;  // words up to and including this one
  std::shared_ptr<const WordLink> prev;
};

absl::Status CtcBeamSearchOptions::Validate() const {
  if (beam_size < 1 || beam_size > 4096) {
    return absl::InvalidArgumentError(absl::StrCat("beam_size ", beam_size, " outside [1, 4096]"));
  }
  if (!(token_threshold > 0) || !std::isfinite(token_threshold)) {
    return absl::InvalidArgumentError(
        absl::StrCat("token_threshold ", token_threshold, " must be a positive number"));
  }
  if (!(lm_weight >= 0) || !std::isfinite(lm_weight)) {
    return absl::InvalidArgumentError(absl::StrCat("lm_weight ", lm_weight, " must be >= 0"));
  }
  if (!std::isfinite(word_score)) {
    return absl::InvalidArgumentError(absl::StrCat("word_score ", word_score, " must be finite"));
  }
  return absl::OkStatus();
}

CtcBeamSearchDecoder::CtcBeamSearchDecoder(std::shared_ptr<const LanguageModel> lm,
                                           const Vocab& vocab, double frame_seconds,
                                           const CtcBeamSearchOptions& options)
    : lm_(std::move(lm)), vocab_(&vocab), frame_seconds_(frame_seconds), options_(options) {
  TORCH_CHECK(lm_ != nullptr, "CtcBeamSearchDecoder needs a language model");
  Reset();
}

void CtcBeamSearchDecoder::Reset() {
  frame_ = 0;
  beam_.clear();
  beam_.push_back(Hyp{0.0, kNegInf, 0.0, Lexicon::kRoot, nullptr, 0, 0, 0, 0.0});
  stable_.clear();
}

double CtcBeamSearchDecoder::Rank(const Hyp& h) const {
  const double smear =
      h.node == Lexicon::kRoot ? 0.0 : options_.lm_weight * lm_->lexicon().LookAhead(h.node);
  return LogAddExp(h.pb, h.pnb) + h.lm + smear;
}

bool CtcBeamSearchDecoder::SameWords(const WordLink* a, const WordLink* b) {
  for (; a != b; a = a->prev.get(), b = b->prev.get()) {
    if (a == nullptr || b == nullptr || a->node != b->node || a->count != b->count) return false;
  }
  return true;
}

void CtcBeamSearchDecoder::History(const WordLink* words, std::vector<int32_t>* out) const {
  const NgramLm& lm = lm_->lm();
  const int want = lm.order() - 1;
  out->clear();
  for (; words != nullptr && static_cast<int>(out->size()) < want; words = words->prev.get()) {
    out->push_back(words->lm_id);
  }
  if (static_cast<int>(out->size()) < want && lm.bos_id() >= 0) out->push_back(lm.bos_id());
  std::reverse(out->begin(), out->end());
}

double CtcBeamSearchDecoder::WordLmScore(const WordLink* words, int32_t word) const {
  thread_local std::vector<int32_t> hist;
  History(words, &hist);
  return lm_->lm().Score(hist.data(), static_cast<int>(hist.size()), word);
}

std::shared_ptr<const CtcBeamSearchDecoder::WordLink> CtcBeamSearchDecoder::CompleteWord(
    const Hyp& h, int32_t lm_id) {
  auto link = std::make_shared<WordLink>();
  link->node = h.node;
  link->lm_id = lm_id;
  link->start = h.partial_start;
  link->end = h.last_end;
  link->count = (h.words ? h.words->count : 0) + 1;
  link->prev = h.words;
  return link;
}

void CtcBeamSearchDecoder::Accept(const torch::Tensor& logits) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) == vocab_->size(),
              "beam search wants logits [T, ", vocab_->size(), "], got ", logits.sizes());
  if (logits.size(0) == 0) return;
  torch::Tensor x = logits.to(torch::kCPU, torch::kDouble);
  x = x - std::get<0>(x.max(1, /*keepdim=*/true));
  x = (x - x.exp().sum(1, /*keepdim=*/true).log()).contiguous();
  AcceptLogProbs(x.data_ptr<double>(), x.size(0), x.size(1));
}

// The hypotheses of the next frame, merged by (words, node).
struct CtcBeamSearchDecoder::NextBeam {
  std::vector<Hyp> hyps;
  absl::flat_hash_map<std::pair<uint64_t, int32_t>, size_t> index;  // (hash, node) -> hyps index

  void Clear() {
    hyps.clear();
    index.clear();
  }

  // Adds probability to the hypothesis (words, node), creating it from `meta` if new.
  void Add(const Hyp& meta, double pb, double pnb) {
    const double contribution = LogAddExp(pb, pnb);
    auto [it, inserted] = index.try_emplace({meta.hash, meta.node}, hyps.size());
    if (!inserted && !SameWords(hyps[it->second].words.get(), meta.words.get())) {
      // A hash collision between different word sequences: keep both (linear probe by node
      // would be wrong); extremely rare, the later one is a separate hypothesis.
      inserted = true;
      it->second = hyps.size();
    }
    if (inserted) {
      hyps.push_back(meta);
      Hyp& h = hyps.back();
      h.pb = pb;
      h.pnb = pnb;
      h.best_path = contribution;
      return;
    }
    Hyp& h = hyps[it->second];
    h.pb = LogAddExp(h.pb, pb);
    h.pnb = LogAddExp(h.pnb, pnb);
    if (contribution > h.best_path) {
      h.best_path = contribution;
      h.words = meta.words;
      h.partial_start = meta.partial_start;
      h.last_end = meta.last_end;
    }
  }
};

void CtcBeamSearchDecoder::CandidateTokens(const double* lp, std::vector<int64_t>* cands) const {
  const int64_t vocab_size = vocab_->size();
  double top = kNegInf;
  for (int64_t k = 0; k < vocab_size; ++k) top = std::max(top, lp[k]);
  cands->clear();
  for (int64_t k = 0; k < vocab_size; ++k) {
    if (lp[k] >= top - options_.token_threshold && vocab_->kind(k) != Vocab::Kind::kSpecial) {
      cands->push_back(k);
    }
  }
}

void CtcBeamSearchDecoder::Extend(const Hyp& h, const double* lp, const std::vector<int64_t>& cands,
                                  int32_t t, NextBeam* next) const {
  const Lexicon& lex = lm_->lexicon();
  const int64_t blank = vocab_->blank_id();
  const int64_t delim = vocab_->word_delimiter_id();
  const double total = LogAddExp(h.pb, h.pnb);
  for (int64_t k : cands) {
    const double p = lp[k];
    if (k == blank) {
      next->Add(h, total + p, kNegInf);
    } else if (k == delim) {
      if (h.node == Lexicon::kRoot) {
        next->Add(h, kNegInf, total + p);
      } else if (lex.WordAt(h.node) != Lexicon::kNoWord) {
        // The partial word ends here: its LM score joins the hypothesis.
        Hyp m = h;
        const int32_t lm_id = lex.WordAt(h.node);
        m.lm = h.lm + options_.lm_weight * WordLmScore(h.words.get(), lm_id) + options_.word_score;
        m.words = CompleteWord(h, lm_id);
        m.hash = HashWord(h.hash, h.node);
        m.node = Lexicon::kRoot;
        next->Add(m, kNegInf, total + p);
      }
    } else {
      const int32_t child = lex.Child(h.node, k);
      const bool repeat = h.node != Lexicon::kRoot && lex.TokenOf(h.node) == k;
      Hyp m = h;
      m.last_end = t + 1;
      if (repeat) {
        next->Add(m, kNegInf, h.pnb + p);  // the same token again: collapsed
        if (child >= 0) {
          m.node = child;
          next->Add(m, kNegInf, h.pb + p);  // after a blank: a new token
        }
      } else if (child >= 0) {
        if (h.node == Lexicon::kRoot) m.partial_start = t;
        m.node = child;
        next->Add(m, kNegInf, total + p);
      }
    }
  }
}

void CtcBeamSearchDecoder::KeepBest(std::vector<Hyp>* next) {
  std::vector<std::pair<double, size_t>> ranked;
  ranked.reserve(next->size());
  for (size_t i = 0; i < next->size(); ++i) ranked.emplace_back(Rank((*next)[i]), i);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  const size_t keep = std::min(ranked.size(), static_cast<size_t>(options_.beam_size));
  beam_.clear();
  for (size_t i = 0; i < keep; ++i) beam_.push_back(std::move((*next)[ranked[i].second]));
}

void CtcBeamSearchDecoder::AcceptLogProbs(const double* log_probs, int64_t frames,
                                          int64_t vocab_size) {
  TORCH_CHECK(vocab_size == vocab_->size(), "beam search: ", vocab_size, " log-probs per frame, ",
              "the vocabulary has ", vocab_->size());
  NextBeam next;
  std::vector<int64_t> cands;
  for (int64_t f = 0; f < frames; ++f, ++frame_) {
    const double* lp = log_probs + f * vocab_size;
    CandidateTokens(lp, &cands);
    next.Clear();
    for (const Hyp& h : beam_) Extend(h, lp, cands, static_cast<int32_t>(frame_), &next);
    // No token of this frame was allowed for any hypothesis (only special tokens were likely):
    // the frame is skipped.
    if (next.hyps.empty()) continue;
    KeepBest(&next.hyps);
  }
}

CtcResult CtcBeamSearchDecoder::ToResult(const WordLink* words, const std::string& partial,
                                         int32_t partial_start, int32_t last_end) const {
  std::vector<const WordLink*> chain;
  for (; words != nullptr; words = words->prev.get()) chain.push_back(words);
  CtcResult r;
  const Lexicon& lex = lm_->lexicon();
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const WordLink* w = *it;
    r.words.push_back({lex.WordText(w->node), w->start * frame_seconds_, w->end * frame_seconds_});
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
  return ToResult(h.words.get(), lm_->lexicon().Spell(h.node, *vocab_), h.partial_start,
                  h.last_end);
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
    for (const auto& tail : tails) same = same && tail[agree]->node == tails[0][agree]->node;
    if (!same) break;
  }
  const Lexicon& lex = lm_->lexicon();
  for (size_t i = 0; i < agree; ++i) {
    const WordLink* w = tails[0][i];
    stable_.push_back({lex.WordText(w->node), w->start * frame_seconds_, w->end * frame_seconds_});
  }
  CtcResult r;
  r.words = stable_;
  for (size_t i = 0; i < r.words.size(); ++i)
    absl::StrAppend(&r.text, i ? " " : "", r.words[i].word);
  return r;
}

std::vector<CtcBeamSearchDecoder::Ending> CtcBeamSearchDecoder::Endings() const {
  const Lexicon& lex = lm_->lexicon();
  const NgramLm& lm = lm_->lm();
  std::vector<Ending> out;
  for (const Hyp& h : beam_) {
    double s = LogAddExp(h.pb, h.pnb) + h.lm;
    std::shared_ptr<const WordLink> words = h.words;
    if (h.node != Lexicon::kRoot) {
      const int32_t lm_id = lex.WordAt(h.node);
      if (lm_id == Lexicon::kNoWord) continue;
      s += options_.lm_weight * WordLmScore(words.get(), lm_id) + options_.word_score;
      words = CompleteWord(h, lm_id);
    }
    if (lm.eos_id() >= 0) s += options_.lm_weight * WordLmScore(words.get(), lm.eos_id());
    out.push_back({s, std::move(words)});
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

CtcResult CtcBeamSearchDecoder::WithProvisional(const torch::Tensor& logits) const {
  if (logits.size(0) == 0) return Best();
  CtcBeamSearchDecoder copy(lm_, *vocab_, frame_seconds_, options_);
  copy.beam_ = beam_;
  copy.frame_ = frame_;
  copy.Accept(logits);
  return copy.Best();
}

CtcResult BeamSearchDecode(const torch::Tensor& logits, std::shared_ptr<const LanguageModel> lm,
                           const Vocab& vocab, double frame_seconds,
                           const CtcBeamSearchOptions& options) {
  CtcBeamSearchDecoder d(std::move(lm), vocab, frame_seconds, options);
  d.Accept(logits.dim() == 3 ? logits[0] : logits);
  return d.Final();
}

}  // namespace lact
