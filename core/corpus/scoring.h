// Word and character error rates: transcript normalisation, Levenshtein alignment with
// substitutions, deletions and insertions counted separately, and corpus-level totals.
//
// Normalisation (NormalizeTranscript), applied to reference and hypothesis alike:
//   1. ASCII letters are upper-cased ("Hello" -> "HELLO"); other bytes (UTF-8 letters, digits)
//      are kept as they are.
//   2. Apostrophes are kept: ASCII ' and the typographic U+2019 (which becomes ').
//   3. Hyphens, en/em dashes (U+2013, U+2014) and '/' become a space, so "WELL-KNOWN" scores as
//      the two words "WELL KNOWN" (LibriSpeech references write compounds that way) rather than
//      as one glued word.
//   4. Every other ASCII punctuation character is dropped (deleted): ". , ; : ! ? \" ( ) ..."
//   5. Whitespace runs (space, tab, newline, CR, FF, VT) collapse to one space; leading and
//      trailing whitespace is removed.
//
// Alignment: the classic Levenshtein distance with unit costs (substitution, deletion,
// insertion = 1). Where several minimum-cost alignments exist their S/D/I split can differ
// (ref "A B" vs hyp "B C": two substitutions, or delete A + insert C); this library picks,
// among minimum-cost alignments, the one with the fewest substitutions (i.e. the most correct
// words), so the split is a property of the two sequences and not of a tie-breaking order.
// The total number of errors is the same either way. tests/client/score_reference.py computes
// the same quantities independently.
//
// Characters for CER are Unicode code points of the normalised text (UTF-8 decoded; a byte that
// is not valid UTF-8 counts as one character), spaces between words included, as jiwer does.
//
// Rates: errors / reference length. With an empty reference the rate is the error count (the
// number of inserted tokens; 0 when the hypothesis is empty too), so it never divides by zero.
// Corpus rates are total errors over total reference words (characters), never a mean of
// per-utterance rates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lact::eval {

// The normalised form of `text` (see the rules above).
std::string NormalizeTranscript(std::string_view text);

// Words of an already normalised text (split on single spaces; "" gives no words).
std::vector<std::string> SplitWords(std::string_view normalized);

// Code points of an already normalised text, each as its UTF-8 bytes.
std::vector<std::string> SplitChars(std::string_view normalized);

// The outcome of aligning a hypothesis against a reference.
struct EditCounts {
  int64_t substitutions = 0;
  int64_t deletions = 0;         // reference tokens missing from the hypothesis
  int64_t insertions = 0;        // hypothesis tokens with no reference counterpart
  int64_t hits = 0;              // tokens that match
  int64_t reference_length = 0;  // hits + substitutions + deletions

  int64_t errors() const { return substitutions + deletions + insertions; }
  int64_t hypothesis_length() const { return hits + substitutions + insertions; }
  // errors / reference_length; the error count when reference_length is 0.
  double rate() const;

  EditCounts& operator+=(const EditCounts& other);
  bool operator==(const EditCounts& other) const;
};

// Aligns two token sequences (tokens compared as strings). O(|ref| * |hyp|) time, O(|hyp|) memory.
EditCounts AlignTokens(const std::vector<std::string>& reference,
                       const std::vector<std::string>& hypothesis);

// For each hypothesis token: whether it is a hit (equal to the reference token it is aligned
// with) in the alignment AlignTokens counts (minimum errors, then fewest substitutions; among
// those, a backtrace that prefers the diagonal). O(|ref| * |hyp|) time and memory.
std::vector<bool> HypothesisHits(const std::vector<std::string>& reference,
                                 const std::vector<std::string>& hypothesis);

// Word- and character-level scores of one utterance, after normalisation.
struct UtteranceScore {
  EditCounts words;
  EditCounts chars;
  double wer() const { return words.rate(); }
  double cer() const { return chars.rate(); }
};

// Normalises both texts and aligns them at word and character level.
UtteranceScore ScoreUtterance(std::string_view reference, std::string_view hypothesis);

// Sums utterance scores into corpus totals.
class CorpusScore {
 public:
  void Add(const UtteranceScore& score);
  const EditCounts& words() const { return words_; }
  const EditCounts& chars() const { return chars_; }
  int64_t utterances() const { return utterances_; }
  double wer() const { return words_.rate(); }  // total word errors / total reference words
  double cer() const { return chars_.rate(); }  // total char errors / total reference chars

 private:
  EditCounts words_;
  EditCounts chars_;
  int64_t utterances_ = 0;
};

}  // namespace lact::eval
