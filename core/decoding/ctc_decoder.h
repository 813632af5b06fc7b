// Greedy (best-path) CTC decoding with word timings, offline and incremental.
//
// Rules, per frame argmax id, as transformers' Wav2Vec2CTCTokenizer.decode(...,
// skip_special_tokens=True, output_word_offsets=True):
//   - special tokens (<s>, </s>, <unk>; Vocab::Kind::kSpecial) are dropped before anything else,
//     as if their frames held nothing (so "A <s> A" collapses to "A");
//   - runs of one id collapse to one token; the blank (pad) separates runs ("L <pad> L" -> "LL");
//   - blanks are dropped; the word delimiter "|" ends the current word; several delimiters in a
//     row (with or without blanks between) make one boundary; the text has single spaces between
//     words and none at either end;
//   - every other token's text is appended to the current word.
// Timings: a word starts at the first frame of its first token and ends at the end of the last
// frame of the run of its last token:
//   start_s = first_frame * frame_seconds,   end_s = (last_frame + 1) * frame_seconds.
// frame_seconds is the model's frame period (conv stride product / sample rate; 320 / 16000 =
// 0.02 s for the standard Wav2Vec2 feature encoder).
//
// Precondition violations (ids outside the vocabulary, logits whose last dimension is not the
// vocabulary size, wrong ranks) throw c10::Error via TORCH_CHECK: they are programming errors,
// the caller checks the model's vocab_size against Vocab::size() once at load time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/decoding/vocab.h"

namespace lact {

struct WordInfo {
  std::string word;
  double start_s = 0;
  double end_s = 0;
  // In [0, 1], uncalibrated (docs/language_model.md, "N-best and confidence"): the beam search's
  // posterior of the word at that time; greedy decoding's mean top-token posterior over the word's
  // frames.
  double confidence = 0;
};

struct CtcResult {
  std::string text;             // words joined by single spaces
  std::vector<WordInfo> words;  // in order
  // In [0, 1], uncalibrated: the beam search's posterior of this transcript among the beam's
  // completed ones; greedy decoding's mean word confidence (1 without words).
  double confidence = 0;
};

// Per-frame argmax ids of `logits` ([T, V], or [1, T, V]; any device) -> [T] int64 on the CPU.
torch::Tensor CtcArgmax(const torch::Tensor& logits);

// Decodes a whole utterance. `logits`: [T, V] (or [1, T, V]) with V == vocab.size().
CtcResult GreedyDecode(const torch::Tensor& logits, const Vocab& vocab, double frame_seconds);
// Same from argmax ids ([T], integer dtype, any device).
CtcResult GreedyDecodeIds(const torch::Tensor& ids, const Vocab& vocab, double frame_seconds);

// Incremental decoding for streams: frames are committed in pieces, in order. Accepting the ids
// of a sequence in any split gives the same result as GreedyDecodeIds on the whole sequence:
// the last id is kept across calls so a run that spans a boundary still collapses, and frame
// indices continue. The committed text only grows: each Committed() text is a prefix of the next
// one, earlier words never change, the last word may still gain tokens (and a later end time).
//
// Holds a pointer to `vocab`, which must outlive the decoder. Copyable (a copy is independent).
class CtcGreedyDecoder {
 public:
  CtcGreedyDecoder(const Vocab& vocab, double frame_seconds);

  // Commits the argmax ids of the next frames ([T], integer dtype, any device) and, for word
  // confidences, their logits ([T, V], any float dtype; undefined: every frame counts as
  // certain, confidence 1).
  void Accept(const torch::Tensor& ids, const torch::Tensor& logits = {});
  // `probs`: each frame's posterior of its id (nullptr: 1).
  void Accept(const int64_t* ids, size_t n, const double* probs = nullptr);

  // The transcript of all committed frames.
  CtcResult Committed() const;

  // The transcript of the committed frames followed by `provisional` ([T'] ids of the frames
  // after them, which may still change); the decoder's state is not changed.
  CtcResult WithProvisional(const torch::Tensor& provisional,
                            const torch::Tensor& provisional_logits = {}) const;

  // Forgets everything: the next frame is frame 0 again.
  void Reset();

  int64_t num_frames() const { return frame_; }  // frames committed so far
  double frame_seconds() const { return frame_seconds_; }

 private:
  struct Word {
    std::string text;
    int64_t start_frame = 0;
    int64_t end_frame = 0;  // exclusive
    double prob_sum = 0;    // posteriors of the frames [start_frame, end_frame)
  };

  CtcResult ToResult() const;

  const Vocab* vocab_;
  double frame_seconds_;
  int64_t frame_ = 0;        // index of the next frame
  int64_t prev_id_ = -1;     // last non-special id seen (a blank counts), for collapsing runs
  bool word_open_ = false;   // the last word has had no delimiter since
  double pending_prob_ = 0;  // frames after the open word's last token (they join it if it grows)
  std::vector<Word> words_;
};

}  // namespace lact
