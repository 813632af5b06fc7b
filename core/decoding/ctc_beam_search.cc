#include "core/decoding/ctc_beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace lact {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

uint64_t HashMix(uint64_t h, uint64_t v) {
  return (h ^ (v + 1)) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
}

}  // namespace

double CtcBeamSearchDecoder::LogAddExp(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::fabs(a - b)));
}

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
  if (!(unk_penalty >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unk_penalty ", unk_penalty, " must be >= 0 (inf: closed vocabulary)"));
  }
  return absl::OkStatus();
}

CtcBeamSearchDecoder::CtcBeamSearchDecoder(std::shared_ptr<const LanguageModel> lm,
                                           const Vocab& vocab, double frame_seconds,
                                           const CtcBeamSearchOptions& options,
                                           std::shared_ptr<const PhraseBoost> boost)
    : lm_(std::move(lm)),
      boost_(std::move(boost)),
      unk_smear_(lm_ ? options.lm_weight * lm_->lm().UnigramScore(-1) : 0.0),
      vocab_(&vocab),
      frame_seconds_(frame_seconds),
      options_(options) {
  Reset();
}

void CtcBeamSearchDecoder::Reset() {
  frame_ = 0;
  beam_.clear();
  Hyp h;
  h.pnb = kNegInf;
  h.overlay = boost_ ? PhraseBoost::kWordRoot : kOff;
  h.boost_state = boost_ ? boost_->Start() : 0;
  beam_.push_back(std::move(h));
  stable_.clear();
}

double CtcBeamSearchDecoder::Rank(const Hyp& h) const {
  double smear = 0;  // empty partial word, or no LM
  if (!h.partial.empty() && lm_) {
    smear = kNegInf;
    if (h.node != kOff) smear = options_.lm_weight * lm_->lexicon().LookAhead(h.node);
    if (h.overlay != kOff) smear = std::max(smear, unk_smear_);
    if (open_vocabulary()) smear = std::max(smear, -options_.unk_penalty * h.partial_tokens);
  }
  return LogAddExp(h.pb, h.pnb) + h.lm + smear;
}

bool CtcBeamSearchDecoder::SameWords(const WordLink* a, const WordLink* b) {
  for (; a != b; a = a->prev.get(), b = b->prev.get()) {
    if (a == nullptr || b == nullptr || a->count != b->count || a->text != b->text) return false;
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

bool CtcBeamSearchDecoder::AppendToken(const Hyp& h, int64_t token, int32_t t, Hyp* out) const {
  const Lexicon* lex = lexicon();
  const int32_t node = (lex && h.node != kOff) ? lex->Child(h.node, token) : kOff;
  const int32_t overlay =
      (boost_ && h.overlay != kOff) ? boost_->WordChild(h.overlay, token) : kOff;
  if (node < 0 && overlay < 0 && !open_vocabulary()) return false;
  *out = h;
  out->node = node < 0 ? kOff : node;
  out->overlay = overlay < 0 ? kOff : overlay;
  if (h.partial.empty()) out->partial_start = t;
  out->last_end = t + 1;
  out->last_token = token;
  ++out->partial_tokens;
  out->partial += vocab_->token(token);
  out->partial_hash = HashMix(h.partial_hash, static_cast<uint64_t>(token));
  if (boost_) out->boost_state = boost_->Step(h.boost_state, token, &out->lm);
  return true;
}

bool CtcBeamSearchDecoder::CompleteWord(const Hyp& h, Hyp* out) const {
  const Lexicon* lex = lexicon();
  double score = options_.word_score;
  int32_t lm_id = -1;  // the LM's id of the word (-1: <unk>)
  if (lex && h.node != kOff && lex->WordAt(h.node) != Lexicon::kNoWord) {
    lm_id = lex->WordAt(h.node);
    score += options_.lm_weight * WordLmScore(h.words.get(), lm_id);
  } else if (lm_) {
    if (h.overlay != kOff && boost_->WordEnds(h.overlay)) {
      lm_id = lm_->lm().WordId(h.partial);
      score += options_.lm_weight * WordLmScore(h.words.get(), lm_id);
    } else if (open_vocabulary()) {
      score -= options_.unk_penalty * h.partial_tokens;  // spelled: per token, not the LM's
    } else {
      return false;
    }
  }
  auto link = std::make_shared<WordLink>();
  link->text = h.partial;
  link->lm_id = lm_id;
  link->start = h.partial_start;
  link->end = h.last_end;
  link->count = (h.words ? h.words->count : 0) + 1;
  link->prev = h.words;
  *out = h;
  out->lm = h.lm + score;
  if (boost_) out->boost_state = boost_->Step(h.boost_state, vocab_->word_delimiter_id(), &out->lm);
  out->words = std::move(link);
  out->hash = HashMix(h.hash, h.partial_hash);
  out->node = Lexicon::kRoot;
  out->overlay = boost_ ? PhraseBoost::kWordRoot : kOff;
  out->last_token = -1;
  out->partial_tokens = 0;
  out->partial.clear();
  out->partial_hash = 0;
  return true;
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
  // (words hash, partial-word hash) -> hyps index
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, size_t> index;

  void Clear() {
    const size_t last = hyps.size();
    hyps.clear();
    index.clear();        // absl frees a table of more than 127 slots here,
    index.reserve(last);  // so it is sized once for as many as the last frame had, not regrown
  }

  // Adds probability to the hypothesis (words, partial word), creating it from `meta` if new.
  void Add(const Hyp& meta, double pb, double pnb) {
    const double contribution = LogAddExp(pb, pnb);
    auto [it, inserted] = index.try_emplace({meta.hash, meta.partial_hash}, hyps.size());
    if (!inserted && (hyps[it->second].partial != meta.partial ||
                      !SameWords(hyps[it->second].words.get(), meta.words.get()))) {
      // A hash collision between different hypotheses: keep both; extremely rare, the later
      // one is a separate hypothesis.
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
  const int64_t blank = vocab_->blank_id();
  const int64_t delim = vocab_->word_delimiter_id();
  const double total = LogAddExp(h.pb, h.pnb);
  Hyp m;
  for (int64_t k : cands) {
    const double p = lp[k];
    if (k == blank) {
      next->Add(h, total + p, kNegInf);
    } else if (k == delim) {
      if (h.partial.empty()) {
        next->Add(h, kNegInf, total + p);
      } else if (CompleteWord(h, &m)) {
        next->Add(m, kNegInf, total + p);  // the partial word ends here, scored
      }
    } else if (k == h.last_token) {
      m = h;
      m.last_end = t + 1;
      next->Add(m, kNegInf, h.pnb + p);  // the same token again: collapsed
      if (AppendToken(h, k, t, &m)) next->Add(m, kNegInf, h.pb + p);  // after a blank: new
    } else if (AppendToken(h, k, t, &m)) {
      next->Add(m, kNegInf, total + p);
    }
  }
}

void CtcBeamSearchDecoder::KeepBest(std::vector<Hyp>* next) {
  std::vector<std::pair<double, size_t>> ranked;
  ranked.reserve(next->size());
  for (size_t i = 0; i < next->size(); ++i) ranked.emplace_back(Rank((*next)[i]), i);
  // Best rank first, ties in order of creation: a total order, so selecting the beam_size best
  // and sorting only them gives the prefix a stable sort of all would.
  auto better = [](const std::pair<double, size_t>& a, const std::pair<double, size_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  const size_t keep = std::min(ranked.size(), static_cast<size_t>(options_.beam_size));
  if (keep < ranked.size()) {
    std::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                     ranked.end(), better);
  }
  std::sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), better);
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

CtcResult CtcBeamSearchDecoder::WithProvisional(const torch::Tensor& logits) const {
  if (logits.size(0) == 0) return Best();
  CtcBeamSearchDecoder copy(lm_, *vocab_, frame_seconds_, options_, boost_);
  copy.beam_ = beam_;
  copy.frame_ = frame_;
  copy.Accept(logits);
  return copy.Best();
}

CtcResult BeamSearchDecode(const torch::Tensor& logits, std::shared_ptr<const LanguageModel> lm,
                           const Vocab& vocab, double frame_seconds,
                           const CtcBeamSearchOptions& options,
                           std::shared_ptr<const PhraseBoost> boost) {
  CtcBeamSearchDecoder d(std::move(lm), vocab, frame_seconds, options, std::move(boost));
  d.Accept(logits.dim() == 3 ? logits[0] : logits);
  return d.Final();
}

}  // namespace lact
