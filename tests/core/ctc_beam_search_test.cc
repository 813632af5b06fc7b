// Tests of core/decoding/ctc_beam_search: agreement with the independent Python reference
// (tests/fixtures/beam_search, made by tests/fixtures/make_beam_search_fixtures.py), the lexicon
// and LM at work, incremental decoding (any split of the frames gives the whole's result; the
// stable words only grow), word times, and core/streaming/decoding_config validation.
#include "core/decoding/ctc_beam_search.h"

#include <random>

#include <gtest/gtest.h>

#include "core/decoding/ctc_decoder.h"
#include "core/streaming/decoding_config.h"
#include "tests/core/beam_search_fixture.h"

namespace lact {
namespace {

constexpr double kFrame = testing_util::kFixtureFrameSeconds;
using testing_util::FixtureLm;
using testing_util::FixtureLogits;
using testing_util::FixtureVocab;

struct Row {
  std::string file;
  CtcBeamSearchOptions options;
  std::string greedy, expected;
};

std::vector<Row> Rows() {
  std::vector<Row> rows;
  for (const auto& c : testing_util::FixtureTsv("expected.tsv", 6)) {
    Row r;
    r.file = c[0];
    r.options.beam_size = std::stoi(c[1]);
    r.options.lm_weight = std::stod(c[2]);
    r.options.word_score = std::stod(c[3]);
    r.options.token_threshold = 8.0;
    r.greedy = c[4];
    r.expected = c[5];
    rows.push_back(r);
  }
  return rows;
}

TEST(CtcBeamSearchTest, MatchesTheReference) {
  const auto rows = Rows();
  ASSERT_EQ(rows.size(), 40u);
  int differs_from_greedy = 0;
  for (const Row& r : rows) {
    torch::Tensor logits = FixtureLogits(r.file);
    CtcResult got = BeamSearchDecode(logits, FixtureLm(), FixtureVocab(), kFrame, r.options);
    EXPECT_EQ(got.text, r.expected) << r.file << " beam " << r.options.beam_size << " alpha "
                                    << r.options.lm_weight << " beta " << r.options.word_score;
    // The fixture's greedy text (computed in Python) is what our greedy decoder reads too.
    EXPECT_EQ(GreedyDecode(logits, FixtureVocab(), kFrame).text, r.greedy) << r.file;
    differs_from_greedy += got.text != r.greedy;
  }
  EXPECT_GE(differs_from_greedy, 5);
}

TEST(CtcBeamSearchTest, AttrsAreTheFolderDefaults) {
  EXPECT_DOUBLE_EQ(FixtureLm()->attrs().alpha, 0.6);
  EXPECT_DOUBLE_EQ(FixtureLm()->attrs().beta, 1.0);
}

// Accepting the frames in pieces gives the result of accepting them at once; the stable words
// only grow, are a prefix of every later result, and WithProvisional leaves no trace.
TEST(CtcBeamSearchTest, IncrementalEqualsWhole) {
  std::mt19937 rng(7);
  for (const Row& r : Rows()) {
    if (r.options.beam_size != 16 || r.options.lm_weight != 0.6) continue;
    torch::Tensor logits = FixtureLogits(r.file);
    const int64_t T = logits.size(0);
    CtcBeamSearchDecoder d(FixtureLm(), FixtureVocab(), kFrame, r.options);
    std::vector<WordInfo> stable;
    for (int64_t at = 0; at < T;) {
      const int64_t n = std::min<int64_t>(T - at, 1 + static_cast<int64_t>(rng() % 9));
      d.Accept(logits.narrow(0, at, n));
      at += n;
      if (at < T) d.WithProvisional(logits.narrow(0, at, std::min<int64_t>(T - at, 5)));
      CtcResult s = d.Stable();
      ASSERT_GE(s.words.size(), stable.size());
      for (size_t i = 0; i < stable.size(); ++i) EXPECT_EQ(s.words[i].word, stable[i].word);
      stable = s.words;
    }
    EXPECT_EQ(d.num_frames(), T);
    CtcResult final_result = d.Final();
    EXPECT_EQ(final_result.text, r.expected) << r.file;
    ASSERT_LE(stable.size(), final_result.words.size());
    for (size_t i = 0; i < stable.size(); ++i) {
      EXPECT_EQ(final_result.words[i].word, stable[i].word) << r.file;
    }
    // Reset starts over.
    d.Reset();
    EXPECT_EQ(d.Final().text, "");
    d.Accept(logits);
    EXPECT_EQ(d.Final().text, r.expected);
  }
}

// Near one-hot frames: "<pad> C A T T | <pad> S A T <pad>" -> "CAT SAT" with frame times.
TEST(CtcBeamSearchTest, WordTimesAndPartialWords) {
  const Vocab& v = FixtureVocab();
  const std::vector<std::string> frames = {"<pad>", "C", "A", "T", "T",    "|",
                                           "<pad>", "S", "A", "T", "<pad>"};
  torch::Tensor logits = torch::full({static_cast<int64_t>(frames.size()), v.size()}, -10.0);
  for (size_t t = 0; t < frames.size(); ++t)
    logits[static_cast<int64_t>(t)][v.id(frames[t])] = 10.0;
  CtcBeamSearchOptions o;
  CtcBeamSearchDecoder d(FixtureLm(), v, kFrame, o);
  d.Accept(logits.narrow(0, 0, 9));  // up to "S A": a partial word
  CtcResult best = d.Best();
  EXPECT_EQ(best.text, "CAT SA");
  CtcResult r = BeamSearchDecode(logits, FixtureLm(), v, kFrame, o);
  ASSERT_EQ(r.text, "CAT SAT");
  ASSERT_EQ(r.words.size(), 2u);
  EXPECT_NEAR(r.words[0].start_s, 1 * kFrame, 1e-9);  // first token at frame 1
  EXPECT_NEAR(r.words[0].end_s, 5 * kFrame, 1e-9);    // last token's run ends after frame 4
  EXPECT_NEAR(r.words[1].start_s, 7 * kFrame, 1e-9);
  EXPECT_NEAR(r.words[1].end_s, 10 * kFrame, 1e-9);
}

// A word outside the lexicon cannot come out, whatever the acoustics say: "KAT" is not a word of
// the fixture LM, "CAT" is.
TEST(CtcBeamSearchTest, LexiconConstrainsTheOutput) {
  const Vocab& v = FixtureVocab();
  const std::vector<std::string> frames = {"K", "A", "T"};
  torch::Tensor logits = torch::full({3, v.size()}, -10.0);
  for (int64_t t = 0; t < 3; ++t) logits[t][v.id(frames[static_cast<size_t>(t)])] = 10.0;
  logits[0][v.id("C")] = 8.0;  // C is second best on the first frame
  EXPECT_EQ(GreedyDecode(logits, v, kFrame).text, "KAT");
  EXPECT_EQ(BeamSearchDecode(logits, FixtureLm(), v, kFrame, {}).text, "CAT");
  // With C pruned by the token threshold nothing in the lexicon fits: the result is empty.
  CtcBeamSearchOptions tight;
  tight.token_threshold = 1.0;
  EXPECT_EQ(BeamSearchDecode(logits, FixtureLm(), v, kFrame, tight).text, "");
  // No frames at all.
  EXPECT_EQ(BeamSearchDecode(torch::zeros({0, v.size()}), FixtureLm(), v, kFrame, {}).text, "");
}

TEST(CtcBeamSearchTest, OptionsAreValidated) {
  CtcBeamSearchOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.beam_size = 0;
  EXPECT_FALSE(o.Validate().ok());
  o = {};
  o.lm_weight = -1;
  EXPECT_FALSE(o.Validate().ok());
  o = {};
  o.token_threshold = 0;
  EXPECT_FALSE(o.Validate().ok());
  o = {};
  o.word_score = std::nan("");
  EXPECT_FALSE(o.Validate().ok());

  DecodingConfig c;
  EXPECT_TRUE(c.Validate().ok());  // lm_weight / word_score NaN: from the model
  c.method = "viterbi";
  EXPECT_EQ(c.Validate().code(), absl::StatusCode::kInvalidArgument);
  c = {};
  c.beam_size = -3;
  EXPECT_FALSE(c.Validate().ok());
}

}  // namespace
}  // namespace lact
