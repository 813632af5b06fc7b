// client/calibration and the word alignment it uses (core/corpus/scoring HypothesisHits): which
// hypothesis words are correct, the reliability bins and the expected calibration error, worked
// out by hand; hits agree with AlignTokens' hit count on random sequences.
#include "client/calibration.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "core/corpus/scoring.h"

namespace lact::eval {
namespace {

std::vector<std::string> W(const std::string& text) { return SplitWords(text); }

TEST(HypothesisHits, MarksTheWordsThatMatchTheirAlignedReferenceWord) {
  EXPECT_EQ(HypothesisHits(W("A B C"), W("A B C")), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(HypothesisHits(W("A B C"), W("A X C")), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(HypothesisHits(W("A B"), W("A Z B")), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(HypothesisHits(W("A B C"), W("A C")), (std::vector<bool>{true, true}));
  EXPECT_EQ(HypothesisHits(W(""), W("A B")), (std::vector<bool>{false, false}));
  EXPECT_TRUE(HypothesisHits(W("A B"), W("")).empty());
  // Two substitutions or a deletion + an insertion cost the same; the fewer substitutions win,
  // so B is a hit.
  EXPECT_EQ(HypothesisHits(W("A B"), W("B C")), (std::vector<bool>{true, false}));
}

TEST(HypothesisHits, CountAgreesWithAlignTokensOnRandomSequences) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::string> ref, hyp;
    const int n = static_cast<int>(rng() % 9), m = static_cast<int>(rng() % 9);
    for (int i = 0; i < n; ++i) ref.push_back(std::string(1, static_cast<char>('A' + rng() % 4)));
    for (int j = 0; j < m; ++j) hyp.push_back(std::string(1, static_cast<char>('A' + rng() % 4)));
    const std::vector<bool> hits = HypothesisHits(ref, hyp);
    ASSERT_EQ(hits.size(), hyp.size());
    EXPECT_EQ(std::count(hits.begin(), hits.end(), true), AlignTokens(ref, hyp).hits) << trial;
  }
}

TEST(CalibrationTally, BinsAndExpectedCalibrationErrorByHand) {
  CalibrationTally t;
  t.Add(0.95, true);
  t.Add(0.95, false);
  t.Add(0.15, false);
  t.Add(0.15, false);
  t.Add(0.55, true);
  t.Add(1.0, true);  // the last bin includes 1
  const CalibrationSummary s = t.Summary(10);
  ASSERT_EQ(s.bins.size(), 10u);
  EXPECT_EQ(s.words, 6);
  EXPECT_EQ(s.correct, 3);
  EXPECT_EQ(s.bins[1].count, 2);
  EXPECT_EQ(s.bins[5].count, 1);
  EXPECT_EQ(s.bins[9].count, 3);
  EXPECT_NEAR(s.bins[9].mean_confidence, (0.95 + 0.95 + 1.0) / 3, 1e-12);
  EXPECT_NEAR(s.bins[9].accuracy, 2.0 / 3, 1e-12);
  // |2/3 - 0.9667| * 3/6 + |0 - 0.15| * 2/6 + |1 - 0.55| * 1/6
  const double expected = std::fabs(2.0 / 3 - 2.9 / 3) * 3 / 6 + 0.15 * 2 / 6 + 0.45 / 6;
  EXPECT_NEAR(s.ece, expected, 1e-12);
  EXPECT_NEAR(s.mean_confidence, (0.95 * 2 + 0.15 * 2 + 0.55 + 1.0) / 6, 1e-12);
  // Perfectly calibrated: ECE 0.
  CalibrationTally perfect;
  for (int i = 0; i < 4; ++i) perfect.Add(0.25, i == 0);
  EXPECT_NEAR(perfect.Summary(4).ece, 0.0, 1e-12);
  EXPECT_EQ(CalibrationTally().Summary().ece, 0.0);
}

TEST(CalibrationTally, UtterancesAreAlignedAndMismatchesSkipped) {
  CalibrationTally t;
  t.AddUtterance("the cat sat", "THE BAT SAT", {0.9, 0.8, 0.7});  // normalised like WER
  t.AddUtterance("a b", "A B C", {0.5, 0.5});                     // 3 words, 2 confidences
  t.Add(std::nan(""), true);                                      // NaN counts as 0
  const CalibrationSummary s = t.Summary(10);
  EXPECT_EQ(s.words, 4);
  EXPECT_EQ(s.correct, 3);
  EXPECT_EQ(s.skipped_utterances, 1);
  EXPECT_EQ(s.bins[0].count, 1);
  EXPECT_EQ(s.bins[8].count, 1);  // BAT (0.8): wrong
  EXPECT_EQ(s.bins[8].accuracy, 0.0);
}

}  // namespace
}  // namespace lact::eval
