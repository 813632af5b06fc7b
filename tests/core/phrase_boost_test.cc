// Tests of core/decoding/phrase_boost: the bonus of a text (summed Step deltas) against values
// worked out by hand from the header's definition, case folding, the word overlay, and the
// refusals of bad phrase lists.
#include "core/decoding/phrase_boost.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/core/beam_search_fixture.h"

namespace lact {
namespace {

using testing_util::FixtureVocab;

// bonus("|" + text) by feeding the text's characters (spaces as the word delimiter).
double Bonus(const PhraseBoost& b, const std::string& text) {
  const Vocab& v = FixtureVocab();
  int32_t state = b.Start();
  double total = 0;
  for (char c : text) {
    const int64_t token = c == ' ' ? v.word_delimiter_id() : v.id(std::string(1, c));
    state = b.Step(state, token, &total);
  }
  return total;
}

TEST(PhraseBoostTest, OneWordEarnsItsBoostLetterByLetter) {
  auto b = PhraseBoost::Build({{"zebra", 12.0}}, FixtureVocab()).value();  // "|ZEBRA|", L = 6
  EXPECT_DOUBLE_EQ(Bonus(*b, ""), 0.0);
  EXPECT_DOUBLE_EQ(Bonus(*b, "ZEB"), 12.0 * 3 / 6);
  EXPECT_DOUBLE_EQ(Bonus(*b, "ZEBRA"), 12.0 * 5 / 6);
  EXPECT_DOUBLE_EQ(Bonus(*b, "ZEBRA "), 12.0);
  EXPECT_DOUBLE_EQ(Bonus(*b, "ZEBRAS"), 0.0);         // left the phrase: share taken back
  EXPECT_DOUBLE_EQ(Bonus(*b, "THE ZEBRA "), 12.0);    // after another word
  EXPECT_DOUBLE_EQ(Bonus(*b, "AZEBRA "), 0.0);        // not at a word start
  EXPECT_DOUBLE_EQ(Bonus(*b, "ZEBRA ZEBRA "), 24.0);  // every occurrence
  EXPECT_DOUBLE_EQ(Bonus(*b, "ZEBRA ZE"), 12.0 + 12.0 * 2 / 6);
  EXPECT_EQ(b->num_phrases(), 1);
}

TEST(PhraseBoostTest, MultiWordAndOverlappingPhrases) {
  // "|THE|HAT|" (L = 8, boost 4) and "|HAT|" (L = 4, boost 2), "|CAT|" negative.
  auto b =
      PhraseBoost::Build({{"the  hat", 4.0}, {"HAT", 2.0}, {"Cat", -3.0}}, FixtureVocab()).value();
  EXPECT_DOUBLE_EQ(Bonus(*b, "THE "), 4.0 * 4 / 8);
  EXPECT_DOUBLE_EQ(Bonus(*b, "THE H"), 4.0 * 5 / 8);  // the longer phrase's share (larger)
  EXPECT_DOUBLE_EQ(Bonus(*b, "THE HAT "), 4.0 + 2.0);
  EXPECT_DOUBLE_EQ(Bonus(*b, "A HAT "), 2.0);
  EXPECT_DOUBLE_EQ(Bonus(*b, "THE CAT "), -3.0);  // THE's share gone, CAT's penalty kept
  EXPECT_DOUBLE_EQ(Bonus(*b, "THE CA"), -3.0 * 2 / 4);
  EXPECT_DOUBLE_EQ(Bonus(*b, "THE THE HAT "), 6.0);  // the failure link restarts at "|THE|"
}

TEST(PhraseBoostTest, OverlayHasEveryWordOfEveryPhrase) {
  const Vocab& v = FixtureVocab();
  auto b = PhraseBoost::Build({{"New Zork", 1.0}, {"QUUX", 0.0}}, v).value();
  auto spells = [&](const std::string& w) {
    int32_t node = PhraseBoost::kWordRoot;
    for (char c : w) {
      node = b->WordChild(node, v.id(std::string(1, c)));
      if (node < 0) return false;
    }
    return b->WordEnds(node);
  };
  EXPECT_TRUE(spells("NEW"));
  EXPECT_TRUE(spells("ZORK"));
  EXPECT_TRUE(spells("QUUX"));
  EXPECT_FALSE(spells("ZOR"));
  EXPECT_FALSE(spells("NEWZORK"));
}

TEST(PhraseBoostTest, BadListsAreRefused) {
  const Vocab& v = FixtureVocab();
  PhraseBoostLimits limits;
  limits.max_phrases = 2;
  limits.max_phrase_chars = 10;
  limits.max_abs_boost = 20;
  auto code = [&](const std::vector<BoostPhrase>& p) {
    return PhraseBoost::Build(p, v, limits).status().code();
  };
  EXPECT_EQ(code({{"A", 1}, {"B", 1}}), absl::StatusCode::kOk);
  EXPECT_EQ(code({{"A", 1}, {"B", 1}, {"C", 1}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"ABCDEFGHIJK", 1}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"   ", 1}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"", 1}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"A", 21}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"A", -21}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"A", NAN}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"A", INFINITY}}), absl::StatusCode::kInvalidArgument);
  auto bad_char = PhraseBoost::Build({{"caf\xc3\xa9", 1}}, v, limits).status();
  EXPECT_EQ(bad_char.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_char.message().find("cannot spell"), std::string::npos) << bad_char;
  EXPECT_EQ(code({{"A|B", 1}}), absl::StatusCode::kInvalidArgument);  // "|" is no character
  limits.max_phrases = 0;
  EXPECT_EQ(code({}), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lact
