// core/corpus/scoring: hand-checkable cases, and equality with the independent Python reference
// (tests/client/score_reference.py -> tests/client/fixtures/score_reference.json).
#include "core/corpus/scoring.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lact::eval {
namespace {

EditCounts Counts(int64_t s, int64_t d, int64_t i, int64_t h) {
  EditCounts c;
  c.substitutions = s, c.deletions = d, c.insertions = i, c.hits = h;
  c.reference_length = h + s + d;
  return c;
}

TEST(NormalizeTranscript, UpperCasesKeepsApostrophesDropsPunctuationCollapsesSpace) {
  EXPECT_EQ(NormalizeTranscript("Hello, world!"), "HELLO WORLD");
  EXPECT_EQ(NormalizeTranscript("don't  STOP\tme\n"), "DON'T STOP ME");
  EXPECT_EQ(NormalizeTranscript("it\u2019s"), "IT'S");
  EXPECT_EQ(NormalizeTranscript("well-known rock/paper"), "WELL KNOWN ROCK PAPER");
  EXPECT_EQ(NormalizeTranscript("\"(quoted)\"; a.b"), "QUOTED AB");
  EXPECT_EQ(NormalizeTranscript("   "), "");
  EXPECT_EQ(NormalizeTranscript(""), "");
  EXPECT_EQ(NormalizeTranscript(" . , "), "");
  EXPECT_EQ(NormalizeTranscript("room 101"), "ROOM 101");
  EXPECT_EQ(NormalizeTranscript("caf\u00e9"), "CAF\u00e9");  // only ASCII letters change case
}

TEST(SplitWordsAndChars, Basics) {
  EXPECT_EQ(SplitWords("A BC D"), (std::vector<std::string>{"A", "BC", "D"}));
  EXPECT_TRUE(SplitWords("").empty());
  EXPECT_EQ(SplitChars("A \u00e9"), (std::vector<std::string>{"A", " ", "\u00e9"}));
}

TEST(AlignTokens, Substitution) {
  auto c = AlignTokens(SplitWords("A B C D"), SplitWords("A X C D"));
  EXPECT_EQ(c, Counts(1, 0, 0, 3));
  EXPECT_EQ(c.errors(), 1);
  EXPECT_DOUBLE_EQ(c.rate(), 0.25);
}

TEST(AlignTokens, Deletion) {
  auto c = AlignTokens(SplitWords("A B C D"), SplitWords("A C D"));
  EXPECT_EQ(c, Counts(0, 1, 0, 3));
  EXPECT_DOUBLE_EQ(c.rate(), 0.25);
}

TEST(AlignTokens, Insertion) {
  auto c = AlignTokens(SplitWords("A B C D"), SplitWords("A B Y C D Z"));
  EXPECT_EQ(c, Counts(0, 0, 2, 4));
  EXPECT_DOUBLE_EQ(c.rate(), 0.5);
}

TEST(AlignTokens, MixedAndRateAboveOne) {
  // Every word wrong plus extras: WER can exceed 1.
  auto c = AlignTokens(SplitWords("A B"), SplitWords("X Y Z W"));
  EXPECT_EQ(c, Counts(2, 0, 2, 0));
  EXPECT_DOUBLE_EQ(c.rate(), 2.0);
}

TEST(AlignTokens, TiePrefersHitsOverSubstitutions) {
  // "A B" -> "B C": two substitutions, or delete A, keep B, insert C. Same distance (2); the
  // documented choice is the one with fewer substitutions.
  EXPECT_EQ(AlignTokens(SplitWords("A B"), SplitWords("B C")), Counts(0, 1, 1, 1));
}

TEST(AlignTokens, EmptyHypothesis) {
  auto c = AlignTokens(SplitWords("A B C"), {});
  EXPECT_EQ(c, Counts(0, 3, 0, 0));
  EXPECT_DOUBLE_EQ(c.rate(), 1.0);
}

TEST(AlignTokens, EmptyReference) {
  auto c = AlignTokens({}, SplitWords("A B"));
  EXPECT_EQ(c, Counts(0, 0, 2, 0));
  EXPECT_EQ(c.reference_length, 0);
  EXPECT_DOUBLE_EQ(c.rate(), 2.0);  // the error count when there is no reference
  EXPECT_DOUBLE_EQ(AlignTokens({}, {}).rate(), 0.0);
}

TEST(ScoreUtterance, NormalisesBeforeScoring) {
  auto s = ScoreUtterance("He hoped, there would be stew.", "HE HOPED THERE WOULD BE STEW");
  EXPECT_EQ(s.words.errors(), 0);
  EXPECT_EQ(s.chars.errors(), 0);
  EXPECT_EQ(s.words.reference_length, 6);
  EXPECT_EQ(s.chars.reference_length, 28);  // characters with the 5 spaces
}

TEST(ScoreUtterance, CharacterLevel) {
  // "CAT" -> "CUT": one char substitution in 3 chars; one word substitution.
  auto s = ScoreUtterance("cat", "cut");
  EXPECT_EQ(s.chars, Counts(1, 0, 0, 2));
  EXPECT_EQ(s.words, Counts(1, 0, 0, 0));
  EXPECT_NEAR(s.cer(), 1.0 / 3.0, 1e-12);
}

TEST(CorpusScore, TotalErrorsOverTotalReferenceNotMeanOfRates) {
  CorpusScore corpus;
  corpus.Add(ScoreUtterance("A", "B"));  // 1 error / 1 word (rate 1.0)
  corpus.Add(ScoreUtterance("A B C D E F G H I", "A B C D E F G H I"));  // 0 / 9
  EXPECT_EQ(corpus.utterances(), 2);
  EXPECT_EQ(corpus.words().errors(), 1);
  EXPECT_EQ(corpus.words().reference_length, 10);
  EXPECT_DOUBLE_EQ(corpus.wer(), 0.1);  // not (1.0 + 0.0) / 2
  EXPECT_EQ(corpus.chars().reference_length, 1 + 17);
  EXPECT_DOUBLE_EQ(corpus.cer(), 1.0 / 18.0);
}

TEST(ScoringReference, MatchesIndependentPythonImplementation) {
  std::ifstream in(LACT_CLIENT_FIXTURES "/score_reference.json");
  ASSERT_TRUE(in) << "missing fixture; regenerate with /usr/bin/python3 "
                     "tests/client/score_reference.py > tests/client/fixtures/score_reference.json";
  const nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_GE(cases.size(), 50u);
  CorpusScore corpus;
  EditCounts want_words, want_chars;
  for (const auto& c : cases) {
    const std::string ref = c.at("ref"), hyp = c.at("hyp");
    SCOPED_TRACE("ref='" + ref + "' hyp='" + hyp + "'");
    EXPECT_EQ(NormalizeTranscript(ref), c.at("ref_norm").get<std::string>());
    EXPECT_EQ(NormalizeTranscript(hyp), c.at("hyp_norm").get<std::string>());
    const UtteranceScore got = ScoreUtterance(ref, hyp);
    auto expect = [](const nlohmann::json& j) {
      EditCounts e;
      e.substitutions = j.at("S"), e.deletions = j.at("D"), e.insertions = j.at("I");
      e.hits = j.at("H"), e.reference_length = j.at("N");
      return e;
    };
    const EditCounts w = expect(c.at("words")), ch = expect(c.at("chars"));
    EXPECT_EQ(got.words, w) << "words S/D/I/H got " << got.words.substitutions << "/"
                            << got.words.deletions << "/" << got.words.insertions << "/"
                            << got.words.hits;
    EXPECT_EQ(got.chars, ch) << "chars S/D/I/H got " << got.chars.substitutions << "/"
                             << got.chars.deletions << "/" << got.chars.insertions << "/"
                             << got.chars.hits;
    corpus.Add(got);
    want_words += w;
    want_chars += ch;
  }
  EXPECT_DOUBLE_EQ(corpus.wer(), static_cast<double>(want_words.errors()) /
                                     static_cast<double>(want_words.reference_length));
  EXPECT_DOUBLE_EQ(corpus.cer(), static_cast<double>(want_chars.errors()) /
                                     static_cast<double>(want_chars.reference_length));
}

}  // namespace
}  // namespace lact::eval
