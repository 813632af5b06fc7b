// Lexicon-constrained CTC prefix beam search with a word n-gram language model (shallow
// fusion), offline and incremental. The algorithm, per frame t with log-probabilities lp[t]:
//
//   A hypothesis is (completed words, partial-word node in the Lexicon trie) with the CTC
//   log-probabilities pb (paths ending in a blank) and pnb (ending in a non-blank), and
//   lm = sum over its completed words of (lm_weight * ln P(word | previous words) + word_score).
//   Its rank is logaddexp(pb, pnb) + lm + lm_weight * LookAhead(node) (0 at the root).
//   Tokens considered at t: not special (<s>, </s>, <unk>), lp >= max(lp[t]) - token_threshold.
//   From a hypothesis with total = logaddexp(pb, pnb):
//     blank            -> same hypothesis, pb += total + lp
//     delimiter "|"    -> at the root: same hypothesis, pnb += total + lp (no empty words);
//                         at a node that ends a word: the word is completed (lm gains its
//                         score, the node returns to the root), pnb += total + lp;
//                         elsewhere: not allowed
//     token c          -> if c repeats the partial word's last token: same hypothesis,
//                         pnb += pnb_old + lp, and (if the trie allows c again) the child,
//                         pnb += pb_old + lp; otherwise the child along c, pnb += total + lp,
//                         when the trie has that edge.
//   Equal hypotheses merge (log-sum of pb and of pnb); the beam_size best by rank survive (ties
//   keep the order of creation). A frame where no hypothesis can extend is skipped.
//   At the end a partial word must end a word (it is completed) or the hypothesis is dropped;
//   every survivor gains lm_weight * ln P(</s> | words); the best total is the transcript (the
//   first in rank order on a tie; when none survives, the best hypothesis' completed words).
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

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "core/decoding/ctc_decoder.h"
#include "core/decoding/language_model.h"
#include "core/decoding/vocab.h"

namespace lact {

struct CtcBeamSearchOptions {
  int beam_size = 32;            // hypotheses kept per frame
  double token_threshold = 8.0;  // tokens further below the frame's best (ln) are not tried
  double lm_weight = 0.5;        // alpha: weight of ln P(word | history)
  double word_score = 1.5;       // beta: bonus per word

  absl::Status Validate() const;
};

// One decoding (an utterance or a stream). Holds pointers to `lm` and `vocab` (shared_ptr for
// the LM), which must outlive it. Copyable: a copy decodes on independently (WithProvisional).
class CtcBeamSearchDecoder {
 public:
  CtcBeamSearchDecoder(std::shared_ptr<const LanguageModel> lm, const Vocab& vocab,
                       double frame_seconds, const CtcBeamSearchOptions& options);

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
  struct WordLink;  // a completed word, linked to the previous one (shared between hypotheses)
  struct Hyp {
    double pb, pnb, lm;
    int32_t node;                           // Lexicon node of the partial word
    std::shared_ptr<const WordLink> words;  // newest first; nullptr: none
    uint64_t hash;                          // of the word ids (merging key, with node)
    int32_t partial_start, last_end;        // frames: first token of the partial word; after
                                            // the last non-blank token
    double best_path;                       // log-prob of the path that set the frames
  };
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
  // The word list of `h` with its partial word (ending at h.node, LM id `lm_id`) completed.
  static std::shared_ptr<const WordLink> CompleteWord(const Hyp& h, int32_t lm_id);
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
                           const CtcBeamSearchOptions& options);

}  // namespace lact
