#include "core/decoding/phrase_boost.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace lact {
namespace {

// The one-character text token for `c` in the vocabulary's case, or -1.
int64_t TokenFor(const Vocab& vocab, char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  for (char v : {c, static_cast<char>(std::toupper(u)), static_cast<char>(std::tolower(u))}) {
    const int64_t id = vocab.id(std::string(1, v));
    if (id >= 0 && vocab.kind(id) == Vocab::Kind::kText) return id;
  }
  return -1;
}

}  // namespace

absl::Status PhraseBoostLimits::Validate() const {
  if (max_phrases < 1 || max_phrase_chars < 1) {
    return absl::InvalidArgumentError(absl::StrCat("phrase limits must be >= 1, got ", max_phrases,
                                                   " phrases, ", max_phrase_chars, " chars"));
  }
  if (!(max_abs_boost > 0) || !std::isfinite(max_abs_boost)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the boost limit must be a positive number, got ", max_abs_boost));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const PhraseBoost>> PhraseBoost::Build(
    const std::vector<BoostPhrase>& phrases, const Vocab& vocab, const PhraseBoostLimits& limits) {
  if (absl::Status s = limits.Validate(); !s.ok()) return s;
  const int64_t delim = vocab.word_delimiter_id();
  if (delim < 0) {
    return absl::InvalidArgumentError("phrase boosting needs a vocabulary with a word delimiter");
  }
  if (phrases.size() > static_cast<size_t>(limits.max_phrases)) {
    return absl::InvalidArgumentError(
        absl::StrCat(phrases.size(), " phrases, more than the ", limits.max_phrases, " allowed"));
  }
  auto boost = std::shared_ptr<PhraseBoost>(new PhraseBoost());
  boost->nodes_.emplace_back();
  boost->words_.emplace_back();
  boost->start_ = AddChild(&boost->nodes_[0].children, delim, 1);
  boost->nodes_.emplace_back();
  for (const BoostPhrase& p : phrases) {
    if (p.text.size() > static_cast<size_t>(limits.max_phrase_chars)) {
      return absl::InvalidArgumentError(absl::StrCat("phrase '", p.text.substr(0, 40), "...' has ",
                                                     p.text.size(), " characters, more than the ",
                                                     limits.max_phrase_chars, " allowed"));
    }
    if (!std::isfinite(p.boost) || std::fabs(p.boost) > limits.max_abs_boost) {
      return absl::InvalidArgumentError(absl::StrCat("phrase '", p.text, "': boost ", p.boost,
                                                     " outside [-", limits.max_abs_boost, ", ",
                                                     limits.max_abs_boost, "]"));
    }
    std::vector<int64_t> tokens = {delim};  // "|w1|...|wn|"
    for (absl::string_view word : absl::StrSplit(p.text, ' ', absl::SkipWhitespace())) {
      const size_t begin = tokens.size();
      for (char c : word) {
        const int64_t t = TokenFor(vocab, c);
        if (t < 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "phrase '", p.text, "': the model cannot spell '", std::string(1, c), "'"));
        }
        tokens.push_back(t);
      }
      boost->AddWord(tokens, begin, tokens.size());
      tokens.push_back(delim);
    }
    if (tokens.size() < 3) {
      return absl::InvalidArgumentError(absl::StrCat("phrase '", p.text, "' has no words"));
    }
    boost->AddPattern(tokens, p.boost);
    ++boost->num_phrases_;
  }
  boost->Link();
  return std::shared_ptr<const PhraseBoost>(std::move(boost));
}

int32_t PhraseBoost::ChildOf(const std::vector<std::pair<int64_t, int32_t>>& children,
                             int64_t token) {
  auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(token, int32_t{-1}));
  return (it != children.end() && it->first == token) ? it->second : -1;
}

int32_t PhraseBoost::AddChild(std::vector<std::pair<int64_t, int32_t>>* children, int64_t token,
                              int32_t next) {
  auto it =
      std::lower_bound(children->begin(), children->end(), std::make_pair(token, int32_t{-1}));
  if (it != children->end() && it->first == token) return it->second;
  children->insert(it, {token, next});
  return next;
}

void PhraseBoost::AddPattern(const std::vector<int64_t>& tokens, double boost) {
  const double length = static_cast<double>(tokens.size() - 1);  // L: tokens after the first "|"
  int32_t node = 0;
  for (size_t k = 1; k <= tokens.size(); ++k) {
    const int32_t fresh = static_cast<int32_t>(nodes_.size());
    node = AddChild(&nodes_[static_cast<size_t>(node)].children, tokens[k - 1], fresh);
    if (node == fresh) nodes_.emplace_back();
    Node& n = nodes_[static_cast<size_t>(node)];
    if (k == tokens.size()) {
      n.complete += boost;
      break;
    }
    const double share = boost * static_cast<double>(k - 1) / length;
    if (!n.has_partial || std::fabs(share) > std::fabs(n.partial) ||
        (std::fabs(share) == std::fabs(n.partial) && share > n.partial)) {
      n.partial = share;
      n.has_partial = true;
    }
  }
}

void PhraseBoost::AddWord(const std::vector<int64_t>& tokens, size_t begin, size_t end) {
  int32_t node = kWordRoot;
  for (size_t i = begin; i < end; ++i) {
    const int32_t fresh = static_cast<int32_t>(words_.size());
    node = AddChild(&words_[static_cast<size_t>(node)].children, tokens[i], fresh);
    if (node == fresh) words_.emplace_back();
  }
  if (end > begin) words_[static_cast<size_t>(node)].ends = true;
}

void PhraseBoost::Link() {
  std::deque<int32_t> queue;
  for (const auto& [token, child] : nodes_[0].children) {
    nodes_[static_cast<size_t>(child)].fail = 0;
    queue.push_back(child);
  }
  while (!queue.empty()) {
    const int32_t u = queue.front();
    queue.pop_front();
    for (const auto& [token, v] : nodes_[static_cast<size_t>(u)].children) {
      const int32_t target = Goto(nodes_[static_cast<size_t>(u)].fail, token);
      Node& n = nodes_[static_cast<size_t>(v)];
      n.fail = target;
      n.complete += nodes_[static_cast<size_t>(target)].complete;
      queue.push_back(v);
    }
  }
}

int32_t PhraseBoost::Goto(int32_t state, int64_t token) const {
  for (int32_t s = state;; s = nodes_[static_cast<size_t>(s)].fail) {
    const int32_t c = ChildOf(nodes_[static_cast<size_t>(s)].children, token);
    if (c >= 0) return c;
    if (s == 0) return 0;
  }
}

int32_t PhraseBoost::Step(int32_t state, int64_t token, double* delta) const {
  const int32_t s = Goto(state, token);
  const Node& n = nodes_[static_cast<size_t>(s)];
  *delta += n.complete + n.partial - nodes_[static_cast<size_t>(state)].partial;
  return s;
}

int32_t PhraseBoost::WordChild(int32_t node, int64_t token) const {
  return ChildOf(words_[static_cast<size_t>(node)].children, token);
}

}  // namespace lact
