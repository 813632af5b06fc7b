#include "core/corpus/scoring.h"

#include <algorithm>

namespace lact::eval {
namespace {

bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool StartsWith(std::string_view text, size_t at, std::string_view prefix) {
  return text.substr(at, prefix.size()) == prefix;
}

// Length in bytes of the UTF-8 sequence starting at text[at]; 1 for a byte that does not start
// a valid sequence (so malformed input still advances).
size_t Utf8Length(std::string_view text, size_t at) {
  const unsigned char c = static_cast<unsigned char>(text[at]);
  size_t n = 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  }
  if (at + n > text.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(text[at + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

// One cell of the alignment table: the best alignment of a reference prefix with a hypothesis
// prefix, ordered by (errors, substitutions).
struct Cell {
  int64_t errors = 0;
  int64_t subs = 0;
  int64_t dels = 0;
  int64_t ins = 0;
  bool BetterThan(const Cell& other) const {
    return errors != other.errors ? errors < other.errors : subs < other.subs;
  }
};

}  // namespace

std::string NormalizeTranscript(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  auto emit = [&](std::string_view piece) {
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.append(piece);
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (IsSpace(c) || c == '-' || c == '/') {
        pending_space = true;
      } else if (c == '\'') {
        emit("'");
      } else if (c >= 'a' && c <= 'z') {
        const char upper = static_cast<char>(c - 'a' + 'A');
        emit(std::string_view(&upper, 1));
      } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        emit(std::string_view(text.data() + i, 1));
      } else if (c < 0x20 || c == 0x7F) {
        // Other control characters: dropped like punctuation.
      } else {
        // ASCII punctuation other than ' - /: dropped.
      }
      ++i;
      continue;
    }
    if (StartsWith(text, i, "\xE2\x80\x99")) {  // U+2019 RIGHT SINGLE QUOTATION MARK
      emit("'");
      i += 3;
    } else if (StartsWith(text, i, "\xE2\x80\x93") || StartsWith(text, i, "\xE2\x80\x94")) {
      pending_space = true;  // U+2013 EN DASH, U+2014 EM DASH
      i += 3;
    } else {
      const size_t n = Utf8Length(text, i);
      emit(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::vector<std::string> SplitWords(std::string_view normalized) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start < normalized.size()) {
    size_t end = normalized.find(' ', start);
    if (end == std::string_view::npos) end = normalized.size();
    if (end > start) words.emplace_back(normalized.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

std::vector<std::string> SplitChars(std::string_view normalized) {
  std::vector<std::string> chars;
  chars.reserve(normalized.size());
  for (size_t i = 0; i < normalized.size();) {
    const size_t n = Utf8Length(normalized, i);
    chars.emplace_back(normalized.substr(i, n));
    i += n;
  }
  return chars;
}

double EditCounts::rate() const {
  if (reference_length == 0) return static_cast<double>(errors());
  return static_cast<double>(errors()) / static_cast<double>(reference_length);
}

EditCounts& EditCounts::operator+=(const EditCounts& other) {
  substitutions += other.substitutions;
  deletions += other.deletions;
  insertions += other.insertions;
  hits += other.hits;
  reference_length += other.reference_length;
  return *this;
}

bool EditCounts::operator==(const EditCounts& other) const {
  return substitutions == other.substitutions && deletions == other.deletions &&
         insertions == other.insertions && hits == other.hits &&
         reference_length == other.reference_length;
}

EditCounts AlignTokens(const std::vector<std::string>& reference,
                       const std::vector<std::string>& hypothesis) {
  const size_t n = reference.size();
  const size_t m = hypothesis.size();
  // row[j]: best alignment of reference[0, i) with hypothesis[0, j), for the current i.
  std::vector<Cell> row(m + 1), next(m + 1);
  for (size_t j = 0; j <= m; ++j) {
    row[j].errors = static_cast<int64_t>(j);
    row[j].ins = static_cast<int64_t>(j);
  }
  for (size_t i = 1; i <= n; ++i) {
    next[0] = Cell{static_cast<int64_t>(i), 0, static_cast<int64_t>(i), 0};
    for (size_t j = 1; j <= m; ++j) {
      // Diagonal: a hit or a substitution.
      Cell best = row[j - 1];
      if (reference[i - 1] != hypothesis[j - 1]) {
        best.errors += 1;
        best.subs += 1;
      }
      // Deletion of reference[i - 1].
      Cell del = row[j];
      del.errors += 1;
      del.dels += 1;
      if (del.BetterThan(best)) best = del;
      // Insertion of hypothesis[j - 1].
      Cell ins = next[j - 1];
      ins.errors += 1;
      ins.ins += 1;
      if (ins.BetterThan(best)) best = ins;
      next[j] = best;
    }
    std::swap(row, next);
  }
  const Cell& end = row[m];
  EditCounts counts;
  counts.substitutions = end.subs;
  counts.deletions = end.dels;
  counts.insertions = end.ins;
  counts.reference_length = static_cast<int64_t>(n);
  counts.hits = counts.reference_length - counts.substitutions - counts.deletions;
  return counts;
}

std::vector<bool> HypothesisHits(const std::vector<std::string>& reference,
                                 const std::vector<std::string>& hypothesis) {
  const size_t n = reference.size(), m = hypothesis.size();
  // cost[i][j]: (errors, substitutions) of the best alignment of reference[0, i) with
  // hypothesis[0, j), compared lexicographically as AlignTokens does.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> cost(
      n + 1, std::vector<std::pair<int64_t, int64_t>>(m + 1));
  for (size_t j = 0; j <= m; ++j) cost[0][j] = {static_cast<int64_t>(j), 0};
  for (size_t i = 1; i <= n; ++i) {
    cost[i][0] = {static_cast<int64_t>(i), 0};
    for (size_t j = 1; j <= m; ++j) {
      const bool same = reference[i - 1] == hypothesis[j - 1];
      auto best = cost[i - 1][j - 1];
      if (!same) best = {best.first + 1, best.second + 1};
      best = std::min(best, {cost[i - 1][j].first + 1, cost[i - 1][j].second});
      best = std::min(best, {cost[i][j - 1].first + 1, cost[i][j - 1].second});
      cost[i][j] = best;
    }
  }
  std::vector<bool> hits(m, false);
  for (size_t i = n, j = m; i > 0 || j > 0;) {
    if (i > 0 && j > 0) {
      const bool same = reference[i - 1] == hypothesis[j - 1];
      const auto& d = cost[i - 1][j - 1];
      if (cost[i][j] == std::make_pair(d.first + (same ? 0 : 1), d.second + (same ? 0 : 1))) {
        hits[j - 1] = same;
        --i, --j;
        continue;
      }
    }
    if (i > 0 && cost[i][j] == std::make_pair(cost[i - 1][j].first + 1, cost[i - 1][j].second)) {
      --i;  // a deletion
    } else {
      --j;  // an insertion
    }
  }
  return hits;
}

UtteranceScore ScoreUtterance(std::string_view reference, std::string_view hypothesis) {
  const std::string ref = NormalizeTranscript(reference);
  const std::string hyp = NormalizeTranscript(hypothesis);
  UtteranceScore score;
  score.words = AlignTokens(SplitWords(ref), SplitWords(hyp));
  score.chars = AlignTokens(SplitChars(ref), SplitChars(hyp));
  return score;
}

void CorpusScore::Add(const UtteranceScore& score) {
  words_ += score.words;
  chars_ += score.chars;
  ++utterances_;
}

}  // namespace lact::eval
