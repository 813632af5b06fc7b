// CTC prefix beam search over words: lexicon-constrained with a word n-gram language model
// (shallow fusion), open to words outside the lexicon at a penalty, lexicon-free without an LM,
// with per-stream phrase boosting (core/decoding/phrase_boost.h); offline and incremental.
// The algorithm, per frame t with log-probabilities lp[t]:
//
//   A hypothesis is (completed words, partial word: its text, its Lexicon trie node or "off the
//   lexicon", its node in the boost's word overlay or "off") with the CTC log-probabilities pb
//   (paths ending in a blank) and pnb (ending in a non-blank), and
//   lm = sum over its completed words of their word scores (below) + bonus(its text) of the
//   phrase boost (0 without one).
//   A completed word w of n tokens (after the words `hist`) scores, by the first rule that
//   applies:
//     in the lexicon:         lm_weight * ln P(w | hist) + word_score
//     in the boost's overlay: lm_weight * ln P(w | hist) + word_score
//     otherwise (open vocabulary, unk_penalty finite): word_score - unk_penalty * n
//                             (spelled out: a cost per token in place of the LM's, so that
//                             gluing several unknown words into one saves nothing)
//     otherwise:              not allowed (the closed vocabulary: unk_penalty infinite)
//   where ln P of a word the LM does not list is ln p(<unk>) (no history). Without an LM there is
//   no lexicon: every word is allowed and scores word_score (no LM term, no penalty).
//   Its rank is logaddexp(pb, pnb) + lm + smear, smear = 0 for an empty partial word, else the
//   largest of: lm_weight * LookAhead(node) when the partial is in the lexicon;
//   lm_weight * ln p(<unk>) when it is in the overlay; -unk_penalty * (its tokens) when the
//   vocabulary is open (0 without an LM).
//   Tokens considered at t: not special (<s>, </s>, <unk>), lp >= max(lp[t]) - token_threshold.
//   From a hypothesis with total = logaddexp(pb, pnb):
//     blank            -> same hypothesis, pb += total + lp
//     delimiter "|"    -> with an empty partial word: same hypothesis, pnb += total + lp (no
//                         empty words); else, where the partial word may end (rules above): it
//                         is completed (lm gains its score, the partial word empties),
//                         pnb += total + lp; else not allowed
//     token c          -> if c repeats the partial word's last token: same hypothesis,
//                         pnb += pnb_old + lp, and the partial word extended by c,
//                         pnb += pb_old + lp; otherwise the partial word extended by c,
//                         pnb += total + lp. An extension is allowed when the result is in the
//                         lexicon, in the overlay, or the vocabulary is open (or there is no LM).
//   Equal hypotheses (same words, same partial text) merge (log-sum of pb and of pnb); the
//   beam_size best by rank survive (ties keep the order of creation). A frame where no
//   hypothesis can extend is skipped.
//   At the end a non-empty partial word is completed where it may end, or the hypothesis is
//   dropped; every survivor gains lm_weight * ln P(</s> | words) (with an LM); the best total is
//   the transcript (the first in rank order on a tie; when none survives, the best hypothesis'
//   completed words).
//   The boost's text is "|" followed by each completed word and "|", then the partial word.
//
// N-best and confidence (not part of the reference's contract): survivors with the same words
// are one alternative, scored (and timed) by its best member; alternatives rank by that total.
// An alternative's confidence is its posterior among all of them (softmax of the totals); a
// word's confidence is the summed posterior of the alternatives that have the same word at an
// overlapping time (its own included). When no hypothesis can end with a finite total, the
// transcript is the best hypothesis' completed words (as in the reference) with confidence 0.
//
// tests/reference/ctc_beam_search_reference.py is an independent re-implementation of this text.
// Word times: a word starts at the frame of its first token and ends after the frame of its
// last token (the path that contributed most to a merged hypothesis sets them).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "core/decoding/ctc_decoder.h"
#include "core/decoding/language_model.h"
#include "core/decoding/phrase_boost.h"
#include "core/decoding/vocab.h"

namespace lact {

struct CtcBeamSearchOptions {
  int beam_size = 32;            // hypotheses kept per frame
  double token_threshold = 8.0;  // tokens further below the frame's best (ln) are not tried
  double lm_weight = 0.5;        // alpha: weight of ln P(word | history)
  double word_score = 1.5;       // beta: bonus per word
  // Per token of a word outside the lexicon and the boost's overlay (natural log): finite opens
  // the vocabulary; infinity closes it.
  double unk_penalty = std::numeric_limits<double>::infinity();

  absl::Status Validate() const;
};

// One decoding (an utterance or a stream). Holds a pointer to `vocab`, which must outlive it.
// `lm` null: lexicon-free, no LM. `boost` null: no phrase boosting. Copyable: a copy decodes on
// independently (WithProvisional).
class CtcBeamSearchDecoder {
 public:
  CtcBeamSearchDecoder(std::shared_ptr<const LanguageModel> lm, const Vocab& vocab,
                       double frame_seconds, const CtcBeamSearchOptions& options,
                       std::shared_ptr<const PhraseBoost> boost = nullptr);

  // Decodes the next frames: `logits` [T, V] (any float dtype, any device; log-softmax is
  // applied here). V must equal vocab.size() (TORCH_CHECK).
  void Accept(const torch::Tensor& logits);
  // Same from log-softmax rows, [frames, vocab_size] row-major.
  void AcceptLogProbs(const double* log_probs, int64_t frames, int64_t vocab_size);

  // The best hypothesis so far, with its partial word as typed (no end-of-sentence scoring).
  CtcResult Best() const;
  // The words every hypothesis in the beam agrees on: they can no longer change. Only grows.
  CtcResult Stable();
  // The transcript if the input ended now (end-of-sentence scoring, partial words completed).
  CtcResult Final() const;
  // The `n` best distinct transcripts if the input ended now, best first (Final() first); fewer
  // when the beam holds fewer, at least one.
  std::vector<CtcResult> FinalAlternatives(int n) const;
  // Best() after also decoding `logits` (frames that may still change); state unchanged.
  CtcResult WithProvisional(const torch::Tensor& logits) const;

  void Reset();
  int64_t num_frames() const { return frame_; }

 private:
  // A completed word, linked to the previous one (shared between hypotheses).
  struct WordLink {
    std::string text;
    int32_t lm_id;  // its LM id (-1: not in the LM)
    int32_t start, end;
    int64_t count;  // words up to and including this one
    std::shared_ptr<const WordLink> prev;
  };
  static constexpr int32_t kOff = -1;  // a partial word off the lexicon / the overlay
  struct Hyp {
    double pb = 0, pnb = 0, lm = 0;
    int32_t node = Lexicon::kRoot;            // Lexicon node of the partial word, or kOff
    int32_t overlay = kOff;                   // PhraseBoost word node of the partial word, or kOff
    int32_t boost_state = 0;                  // PhraseBoost automaton state
    int64_t last_token = -1;                  // the partial word's last token (-1: empty)
    int32_t partial_tokens = 0;               // tokens of the partial word
    std::string partial;                      // the partial word's text
    uint64_t partial_hash = 0;                // of its tokens (merging key, with hash)
    std::shared_ptr<const WordLink> words;    // newest first; nullptr: none
    uint64_t hash = 0;                        // of the words (merging key)
    int32_t partial_start = 0, last_end = 0;  // frames: first token of the partial word; after
                                              // the last non-blank token
    double best_path = 0;                     // log-prob of the path that set the frames
  };
  static double LogAddExp(double a, double b);  // ln(e^a + e^b), -inf aware
  struct NextBeam;  // the next frame's hypotheses, merged by (words, node)
  double Rank(const Hyp& h) const;
  // AcceptLogProbs's steps for one frame lp [V]: the tokens worth trying (within
  // token_threshold of the best, not special); every extension of `h` by them; the beam_size
  // best of `next` become the beam.
  void CandidateTokens(const double* lp, std::vector<int64_t>* cands) const;
  void Extend(const Hyp& h, const double* lp, const std::vector<int64_t>& cands, int32_t t,
              NextBeam* next) const;
  void KeepBest(std::vector<Hyp>* next);
  static bool SameWords(const WordLink* a, const WordLink* b);
  void History(const WordLink* words, std::vector<int32_t>* out) const;
  double WordLmScore(const WordLink* words, int32_t word) const;
  // `h` with its partial word extended by `token` at frame t (false: not allowed).
  bool AppendToken(const Hyp& h, int64_t token, int32_t t, Hyp* out) const;
  // `h` with its (non-empty) partial word completed and scored (false: it may not end).
  bool CompleteWord(const Hyp& h, Hyp* out) const;
  const Lexicon* lexicon() const { return lm_ ? &lm_->lexicon() : nullptr; }
  bool open_vocabulary() const { return !lm_ || std::isfinite(options_.unk_penalty); }
  CtcResult ToResult(const WordLink* words, const std::string& partial, int32_t partial_start,
                     int32_t last_end) const;
  // Every survivor that can end, its partial word completed, with its final total.
  struct Ending {
    double total;
    std::shared_ptr<const WordLink> words;
  };
  std::vector<Ending> Endings() const;
  // A distinct word sequence among the endings: its best member's total and words.
  struct Alternative {
    double best;
    const WordLink* words;
  };
  // The n best of `alts` (sorted here) with their posteriors and word confidences.
  std::vector<CtcResult> RankAlternatives(std::vector<Alternative>& alts, int n) const;

  std::shared_ptr<const LanguageModel> lm_;
  std::shared_ptr<const PhraseBoost> boost_;
  double unk_smear_ = 0;  // U: lm_weight * ln p(<unk>), 0 without an LM
  const Vocab* vocab_;
  double frame_seconds_;
  CtcBeamSearchOptions options_;
  int64_t frame_ = 0;
  std::vector<Hyp> beam_;  // sorted by rank, best first
  std::vector<WordInfo> stable_;
};

// Whole-utterance convenience: Accept(logits) then Final().
CtcResult BeamSearchDecode(const torch::Tensor& logits, std::shared_ptr<const LanguageModel> lm,
                           const Vocab& vocab, double frame_seconds,
                           const CtcBeamSearchOptions& options,
                           std::shared_ptr<const PhraseBoost> boost = nullptr);

}  // namespace lact
