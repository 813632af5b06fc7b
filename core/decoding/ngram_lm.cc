#include "core/decoding/ngram_lm.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace lact {
namespace {

constexpr double kLn10 = 2.302585092994045684;

bool ParseLog10(absl::string_view s, float* out) {
  double v = 0;
  if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) return false;
  *out = static_cast<float>(v * kLn10);
  return true;
}

// A "\data\" line "ngram N=count": N must be the next order; `expected` gets the count.
absl::Status ReadCountLine(absl::string_view line, int* order, std::vector<int64_t>* expected) {
  int n = 0;
  int64_t count = 0;
  absl::string_view rest = line;
  if (!absl::ConsumePrefix(&rest, "ngram"))
    return absl::InvalidArgumentError("expected 'ngram N=count'");
  std::vector<absl::string_view> kv = absl::StrSplit(absl::StripAsciiWhitespace(rest), '=');
  if (kv.size() != 2 || !absl::SimpleAtoi(kv[0], &n) || !absl::SimpleAtoi(kv[1], &count) || n < 1 ||
      count < 0) {
    return absl::InvalidArgumentError("expected 'ngram N=count'");
  }
  if (n != *order + 1)
    return absl::InvalidArgumentError("ngram counts must be listed for 1, 2, ... in order");
  if (n > NgramLm::kMaxOrder) {
    return absl::InvalidArgumentError(
        absl::StrCat("order ", n, " > ", NgramLm::kMaxOrder, " is not supported"));
  }
  *order = n;
  expected->push_back(count);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NgramLm> NgramLm::LoadArpa(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat("cannot open language model ", path));
  std::stringstream buffer;
  buffer << f.rdbuf();
  if (f.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  return FromArpaString(buffer.str(), path);
}

absl::Status NgramLm::AddNgramLine(absl::string_view line, int n,
                                   const std::vector<int64_t>& expected,
                                   const std::string& source) {
  // log10 p, the words, optionally log10 back-off.
  std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (static_cast<int>(fields.size()) < n + 1 || static_cast<int>(fields.size()) > n + 2) {
    return bad("a ", n, "-gram line needs a log10 probability, ", n,
               " word(s) and an optional back-off");
  }
  Entry e;
  if (!ParseLog10(fields[0], &e.log_prob)) return bad("bad number '", fields[0], "'");
  if (fields.size() == static_cast<size_t>(n + 2) && !ParseLog10(fields[n + 1], &e.backoff)) {
    return bad("bad back-off '", fields[n + 1], "'");
  }
  if (n == 1) {
    if (tables_.empty()) {
      // Key layout: enough bits for the announced unigrams.
      const int64_t v = std::max<int64_t>(expected[0], 2);
      bits_ = 1;
      while ((int64_t{1} << bits_) < v) ++bits_;
      if (bits_ * order_ > 128) {
        return bad(source, ": ", expected[0], " words at order ", order_,
                   " do not fit a 128-bit key");
      }
      tables_.resize(static_cast<size_t>(order_));
    }
    const std::string word(fields[1]);
    if (ids_.contains(word)) return bad("unigram '", word, "' listed twice");
    if (static_cast<int64_t>(words_.size()) >= expected[0]) {
      return bad("more unigrams than the ", expected[0], " announced");
    }
    const int32_t id = static_cast<int32_t>(words_.size());
    ids_.emplace(word, id);
    words_.push_back(word);
    tables_[0].emplace(Key(&id, 1), e);
    return absl::OkStatus();
  }
  int32_t ids[kMaxOrder];
  for (int i = 0; i < n; ++i) {
    const int32_t id = WordId(fields[static_cast<size_t>(i) + 1]);
    if (id < 0)
      return bad("word '", fields[static_cast<size_t>(i) + 1], "' of a ", n,
                 "-gram is not a unigram");
    ids[i] = id;
  }
  tables_[static_cast<size_t>(n - 1)][Key(ids, n)] = e;
  return absl::OkStatus();
}

absl::StatusOr<NgramLm> NgramLm::FromArpaString(absl::string_view text, const std::string& source) {
  NgramLm lm;
  std::vector<int64_t> expected;  // header counts, [order-1]
  enum class Part { kPreamble, kData, kNgrams, kEnd } part = Part::kPreamble;
  int section = 0;  // n of the "\n-grams:" section being read
  int64_t line_no = 0;
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", line_no, ": ", what));
  };
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (part == Part::kEnd) break;
    if (line == "\\data\\") {
      if (part != Part::kPreamble) return error("a second \\data\\ header");
      part = Part::kData;
      continue;
    }
    if (part == Part::kPreamble) continue;  // free text before \data\ is allowed
    if (line == "\\end\\") {
      if (part != Part::kNgrams) return error("\\end\\ before any n-gram section");
      part = Part::kEnd;
      continue;
    }
    if (line.front() == '\\') {
      int n = 0;
      if (!absl::ConsumeSuffix(&line, "-grams:") || !absl::ConsumePrefix(&line, "\\") ||
          !absl::SimpleAtoi(line, &n)) {
        return error("expected a section header like \\2-grams:");
      }
      if (n != section + 1 || n > lm.order_) {
        return error(absl::StrCat("section \\", n,
                                  "-grams: is out of order or not announced in "
                                  "\\data\\ (order ",
                                  lm.order_, ")"));
      }
      if (section > 0 && lm.num_ngrams(section) != expected[section - 1]) {
        return error(absl::StrCat("\\data\\ announced ", expected[section - 1], " ", section,
                                  "-grams, the section has ", lm.num_ngrams(section)));
      }
      section = n;
      part = Part::kNgrams;
      continue;
    }
    if (part == Part::kData) {
      if (absl::Status s = ReadCountLine(line, &lm.order_, &expected); !s.ok())
        return error(s.message());
      continue;
    }
    if (absl::Status s = lm.AddNgramLine(line, section, expected, source); !s.ok()) {
      return s.code() == absl::StatusCode::kInvalidArgument &&
                     !absl::StartsWith(s.message(), source)
                 ? error(s.message())
                 : s;
    }
  }
  if (part != Part::kEnd) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ",
                                                   part == Part::kPreamble
                                                       ? "no \\data\\ header (not an ARPA file?)"
                                                       : "no \\end\\ (truncated?)"));
  }
  if (section != lm.order_) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": \\data\\ announced order ", lm.order_,
                                                   ", the file ends after the ", section,
                                                   "-grams"));
  }
  if (lm.num_ngrams(section) != expected[static_cast<size_t>(section - 1)]) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": \\data\\ announced ", expected[static_cast<size_t>(section - 1)],
                     " ", section, "-grams, the section has ", lm.num_ngrams(section)));
  }
  lm.bos_ = lm.WordId("<s>");
  lm.eos_ = lm.WordId("</s>");
  lm.unk_ = lm.WordId("<unk>");
  return lm;
}

int32_t NgramLm::WordId(absl::string_view word) const {
  auto it = ids_.find(word);
  return it == ids_.end() ? -1 : it->second;
}

absl::uint128 NgramLm::Key(const int32_t* ids, int n) const {
  absl::uint128 k = 0;
  for (int i = 0; i < n; ++i) k = (k << bits_) | static_cast<uint32_t>(ids[i]);
  return k;
}

const NgramLm::Entry* NgramLm::Find(const int32_t* ids, int n) const {
  const auto& table = tables_[static_cast<size_t>(n - 1)];
  auto it = table.find(Key(ids, n));
  return it == table.end() ? nullptr : &it->second;
}

double NgramLm::UnigramScore(int32_t word) const {
  if (word >= 0) {
    if (const Entry* e = Find(&word, 1)) return e->log_prob;
  }
  if (unk_ >= 0) return Find(&unk_, 1)->log_prob;
  return kUnkFloor;
}

double NgramLm::Score(const int32_t* history, int history_size, int32_t word) const {
  if (word < 0) return UnigramScore(-1);
  int h = std::min(history_size, order_ - 1);
  const int32_t* hist = history + (history_size - h);
  int32_t buf[kMaxOrder];
  double backoff = 0;
  for (; h > 0; --h, ++hist) {
    for (int i = 0; i < h; ++i) buf[i] = hist[i];
    buf[h] = word;
    if (const Entry* e = Find(buf, h + 1)) return backoff + e->log_prob;
    if (const Entry* c = Find(hist, h)) backoff += c->backoff;
  }
  return backoff + UnigramScore(word);
}

}  // namespace lact
