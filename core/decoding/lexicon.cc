#include "core/decoding/lexicon.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace lact {

absl::StatusOr<Lexicon> Lexicon::Build(const std::vector<std::string>& words, const Vocab& vocab,
                                       const NgramLm& lm) {
  if (vocab.word_delimiter_id() < 0) {
    return absl::InvalidArgumentError("the vocabulary has no word delimiter: a lexicon needs one");
  }
  // One-character text tokens, by character.
  int64_t token_of[256];
  std::fill(std::begin(token_of), std::end(token_of), int64_t{-1});
  for (int64_t id = 0; id < vocab.size(); ++id) {
    const std::string& t = vocab.token(id);
    if (vocab.kind(id) == Vocab::Kind::kText && t.size() == 1) {
      token_of[static_cast<unsigned char>(t[0])] = id;
    }
  }
  Lexicon lex;
  lex.nodes_.emplace_back();  // root
  std::vector<int32_t> path;
  for (const std::string& w : words) {
    bool ok = !w.empty();
    for (char c : w) ok = ok && token_of[static_cast<unsigned char>(c)] >= 0;
    if (!ok) {
      ++lex.num_skipped_;
      continue;
    }
    int32_t node = kRoot;
    path.clear();
    for (char c : w) {
      const int64_t tok = token_of[static_cast<unsigned char>(c)];
      int32_t next = lex.Child(node, tok);
      if (next < 0) {
        next = static_cast<int32_t>(lex.nodes_.size());
        Node n;
        n.parent = node;
        n.token = tok;
        lex.nodes_.push_back(std::move(n));
        auto& ch = lex.nodes_[static_cast<size_t>(node)].children;
        ch.insert(std::lower_bound(ch.begin(), ch.end(), std::make_pair(tok, int32_t{-1})),
                  {tok, next});
      }
      node = next;
      path.push_back(node);
    }
    Node& end = lex.nodes_[static_cast<size_t>(node)];
    if (end.word != kNoWord) continue;  // listed twice
    end.word = lm.WordId(w);
    end.text = static_cast<int32_t>(lex.texts_.size());
    lex.texts_.push_back(w);
    ++lex.num_words_;
    const double u = lm.UnigramScore(end.word);
    for (int32_t k : path) {
      double& la = lex.nodes_[static_cast<size_t>(k)].look_ahead;
      la = std::max(la, u);
    }
  }
  if (lex.num_words_ == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("none of the ", words.size(),
                     " lexicon words can be spelled with the model's one-character "
                     "tokens (is the word list in the vocabulary's case?)"));
  }
  return lex;
}

int32_t Lexicon::Child(int32_t node, int64_t token_id) const {
  const auto& ch = nodes_[static_cast<size_t>(node)].children;
  auto it = std::lower_bound(ch.begin(), ch.end(), std::make_pair(token_id, int32_t{-1}));
  return (it != ch.end() && it->first == token_id) ? it->second : -1;
}

const std::string& Lexicon::WordText(int32_t node) const {
  return texts_[static_cast<size_t>(nodes_[static_cast<size_t>(node)].text)];
}

std::string Lexicon::Spell(int32_t node, const Vocab& vocab) const {
  std::string s;
  for (; node > kRoot; node = Parent(node)) s += vocab.token(TokenOf(node));
  std::reverse(s.begin(), s.end());
  return s;
}

}  // namespace lact
