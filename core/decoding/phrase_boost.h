// Per-stream phrase boosting for the CTC beam search (Google/Riva
// RecognitionConfig.speech_contexts, sherpa-onnx hotwords): a phrase list with a boost each,
// compiled into
//
//   - an Aho-Corasick automaton over the vocabulary's tokens that scores the text a hypothesis
//     has spelled so far, and
//   - a small word trie of the phrases' words: the stream's lexicon overlay, so that a word of a
//     phrase can be output even when the model folder's lexicon does not list it (it is then
//     scored by the LM as <unk>, without the unknown-word penalty).
//
// The score, a function of the text alone (so hypotheses that spell the same text get the same
// score and still merge): the text is "|" + each completed word followed by "|" + the partial
// word (tokens, "|" the word delimiter). A phrase of words w1 .. wn is the pattern
// "|w1|...|wn|" of L + 1 tokens, and with boost B:
//   bonus(text) = sum over every occurrence of a pattern in the text of its B
//               + partial(the longest suffix of the text that is a prefix of some pattern),
//   partial(P)  = B_p * (|P| - 1) / L_p for the pattern p that has P as a proper prefix with the
//                 largest |B_p * (|P| - 1) / L_p| (the larger value on a tie); 0 when P is a
//                 prefix of none but itself.
// So a phrase being spelled earns its boost letter by letter (which keeps it in the beam), loses
// that share again when the text leaves the phrase, and keeps B once its last word is complete.
// Negative boosts penalise a phrase the same way. The automaton gives the bonus incrementally:
// Step(state, token) returns the change. Scores are natural-log units, like the LM's.
//
// Phrases are matched in the vocabulary's case: each character is looked up as written, then
// upper-cased, then lower-cased; runs of spaces are one word delimiter. A phrase with a
// character the model cannot spell is InvalidArgument (naming it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/decoding/vocab.h"

namespace lact {

struct BoostPhrase {
  std::string text;  // one or more words
  double boost = 0;  // added (natural log) when the whole phrase is recognized; 0: vocabulary only
};

struct PhraseBoostLimits {
  int max_phrases = 1000;        // per stream
  int max_phrase_chars = 100;    // per phrase, spaces included
  double max_abs_boost = 100.0;  // |boost|

  absl::Status Validate() const;
};

class PhraseBoost {
 public:
  // InvalidArgument (naming the phrase or limit) for too many phrases, an empty or too long
  // phrase, a boost that is not finite or beyond the limit, a character the vocabulary cannot
  // spell, or a vocabulary without a word delimiter.
  static absl::StatusOr<std::shared_ptr<const PhraseBoost>> Build(
      const std::vector<BoostPhrase>& phrases, const Vocab& vocab,
      const PhraseBoostLimits& limits = {});

  // The automaton's state at the start of a stream (after a virtual "|").
  int32_t Start() const { return start_; }
  // The state after `token`, with the bonus change added to *delta.
  int32_t Step(int32_t state, int64_t token, double* delta) const;

  // The word overlay: the phrases' words as a trie over tokens. Root 0; -1: no such child.
  static constexpr int32_t kWordRoot = 0;
  int32_t WordChild(int32_t node, int64_t token) const;
  bool WordEnds(int32_t node) const { return words_[static_cast<size_t>(node)].ends; }

  int num_phrases() const { return num_phrases_; }
  int64_t num_states() const { return static_cast<int64_t>(nodes_.size()); }

 private:
  struct Node {
    std::vector<std::pair<int64_t, int32_t>> children;  // (token, node), sorted by token
    int32_t fail = 0;     // longest proper suffix that is also a pattern prefix
    double complete = 0;  // boosts of the patterns that end here (this node's suffixes too)
    double partial = 0;
    bool has_partial = false;
  };
  struct WordNode {
    std::vector<std::pair<int64_t, int32_t>> children;
    bool ends = false;
  };
  static int32_t ChildOf(const std::vector<std::pair<int64_t, int32_t>>& children, int64_t token);
  static int32_t AddChild(std::vector<std::pair<int64_t, int32_t>>* children, int64_t token,
                          int32_t next);
  void AddPattern(const std::vector<int64_t>& tokens, double boost);
  void AddWord(const std::vector<int64_t>& tokens, size_t begin, size_t end);
  void Link();  // failure links and completed sums, breadth first
  // The automaton's transition: the longest pattern prefix that is a suffix of (state's text +
  // token), following failure links (0: none).
  int32_t Goto(int32_t state, int64_t token) const;

  std::vector<Node> nodes_;  // 0: the empty text
  std::vector<WordNode> words_;
  int32_t start_ = 0;
  int num_phrases_ = 0;
};

}  // namespace lact
