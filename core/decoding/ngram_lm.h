// A word n-gram language model in the ARPA text format (as written by KenLM's lmplz, SRILM,
// IRSTLM and tools/build_ngram_lm.py), with Katz-style back-off:
//
//   ln P(w | h) = ln p(h w)                        if the n-gram "h w" is listed,
//               = ln bo(h) + ln P(w | h[1:])       otherwise (bo(h) = 1 when h is not listed),
//   ln P(w | ()) = ln p(<unk>) for a word that is not a unigram (kUnkFloor without <unk>).
//
// ARPA stores log10 values; Score returns natural logarithms. Words are case-sensitive strings;
// <s> and </s> are the sentence boundaries (<s> is only ever a history word).
//
// Memory: every n-gram is one hash-table entry (~40 bytes), so a pruned LibriSpeech 3-gram
// (~5 M n-grams) takes ~200 MB; KenLM's binary format is not read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"

namespace lact {

class NgramLm {
 public:
  static constexpr double kUnkFloor = -100.0;  // ln P of an unknown word when there is no <unk>
  static constexpr int kMaxOrder = 6;

  // Reads an ARPA file. Errors name the file and line: NotFound when missing; InvalidArgument for
  // a missing \data\ header or \end\, a section that is not announced in the header, a count
  // that differs from the header's, a malformed line (too few fields, a number that does not
  // parse, a word of an n-gram (n >= 2) that is not a unigram), an order above kMaxOrder, or a
  // vocabulary too large to index.
  static absl::StatusOr<NgramLm> LoadArpa(const std::string& path);
  // Same from the text of an ARPA file; `source` names it in error messages.
  static absl::StatusOr<NgramLm> FromArpaString(absl::string_view text,
                                                const std::string& source = "<string>");

  int order() const { return order_; }
  int32_t num_words() const { return static_cast<int32_t>(words_.size()); }
  // Id of `word`, or -1 when it is not a unigram of the model.
  int32_t WordId(absl::string_view word) const;
  const std::string& Word(int32_t id) const { return words_[static_cast<size_t>(id)]; }
  int32_t bos_id() const { return bos_; }  // -1 when absent
  int32_t eos_id() const { return eos_; }  // -1 when absent
  int32_t unk_id() const { return unk_; }  // -1 when absent

  // ln P(word | history) with back-off. `history` holds word ids, oldest first (only the last
  // order()-1 are used; an empty history is the unigram distribution); word < 0 scores as <unk>.
  double Score(const int32_t* history, int history_size, int32_t word) const;
  // ln p of the unigram `word` as listed (for look-ahead); <unk>'s (or kUnkFloor) if absent.
  double UnigramScore(int32_t word) const;

  // Number of n-grams of order n (1..order()).
  int64_t num_ngrams(int n) const {
    return static_cast<int64_t>(tables_[static_cast<size_t>(n - 1)].size());
  }

 private:
  struct Entry {
    float log_prob = 0;  // natural log
    float backoff = 0;   // natural log (0: none listed)
  };
  absl::uint128 Key(const int32_t* ids, int n) const;
  const Entry* Find(const int32_t* ids, int n) const;
  // One line of the \n-grams: section (the words of an n > 1 gram must be unigrams); errors
  // without the line's location (the caller adds it).
  absl::Status AddNgramLine(absl::string_view line, int n, const std::vector<int64_t>& expected,
                            const std::string& source);

  int order_ = 0;
  int bits_ = 1;  // bits per word id in a key
  std::vector<std::string> words_;
  absl::flat_hash_map<std::string, int32_t> ids_;
  std::vector<absl::flat_hash_map<absl::uint128, Entry>> tables_;  // [order-1]
  int32_t bos_ = -1, eos_ = -1, unk_ = -1;
};

}  // namespace lact
