// The words a lexicon-constrained CTC beam search may output, as a prefix tree (trie) over the
// model's single-character tokens: a hypothesis may only extend its current partial word along
// an edge of the trie, and may only end a word (emit the delimiter "|") at a node that ends a
// word. Each node also keeps the best unigram log-probability of the words below it (the
// look-ahead score that the search adds to a partial word, as in flashlight's lexicon decoder).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/decoding/ngram_lm.h"
#include "core/decoding/vocab.h"

namespace lact {

class Lexicon {
 public:
  static constexpr int32_t kRoot = 0;

  // Words are spelled with the vocabulary's one-character text tokens (Vocab::Kind::kText); a
  // word with any other character is skipped. `lm` gives each word its id (-1: unknown to the
  // LM, scored as <unk>) and its look-ahead score. InvalidArgument when no word can be spelled
  // (e.g. a lower-case word list for an upper-case vocabulary) or the vocabulary has no word
  // delimiter.
  static absl::StatusOr<Lexicon> Build(const std::vector<std::string>& words, const Vocab& vocab,
                                       const NgramLm& lm);

  // Child of `node` along token `token_id`, or -1.
  int32_t Child(int32_t node, int64_t token_id) const;
  // LM word id of the word ending at `node`; kNoWord if no word ends there. (-1: a word the LM
  // does not list.)
  static constexpr int32_t kNoWord = -2;
  int32_t WordAt(int32_t node) const { return nodes_[static_cast<size_t>(node)].word; }
  const std::string& WordText(int32_t node) const;  // requires WordAt(node) != kNoWord
  // The token of the edge into `node` (-1 for the root), its parent, and the look-ahead score.
  int64_t TokenOf(int32_t node) const { return nodes_[static_cast<size_t>(node)].token; }
  int32_t Parent(int32_t node) const { return nodes_[static_cast<size_t>(node)].parent; }
  double LookAhead(int32_t node) const { return nodes_[static_cast<size_t>(node)].look_ahead; }
  // The characters from the root to `node` (the partial word).
  std::string Spell(int32_t node, const Vocab& vocab) const;

  int64_t num_words() const { return num_words_; }
  int64_t num_skipped() const { return num_skipped_; }
  int64_t num_nodes() const { return static_cast<int64_t>(nodes_.size()); }

 private:
  struct Node {
    int32_t parent = -1;
    int64_t token = -1;
    int32_t word = kNoWord;
    int32_t text = -1;  // index into texts_ when a word ends here
    double look_ahead = -1e30;
    std::vector<std::pair<int64_t, int32_t>> children;  // (token, node), sorted by token
  };
  std::vector<Node> nodes_;
  std::vector<std::string> texts_;
  int64_t num_words_ = 0, num_skipped_ = 0;
};

}  // namespace lact
