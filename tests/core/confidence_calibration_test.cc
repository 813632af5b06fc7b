// Word-confidence calibration (issue 21, core/decoding/calibration/confidence_calibration.h):
// the Platt map keeps order and lands in [0, 1], is exactly the identity by default; the fit
// recovers the parameters that generated right/wrong labels, refuses what it cannot fit;
// confidence.json is read strictly and round-trips; a map applied to a decoder's result changes
// word confidences (and greedy decoding's transcript confidence, their mean) only.
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/decoding/calibration/confidence_calibration.h"
#include "core/decoding/ctc_decoder.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace {

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

TEST(ConfidenceMapTest, DefaultIsExactlyTheIdentity) {
  const ConfidenceMap m;
  EXPECT_TRUE(m.identity());
  for (double raw : {0.0, 1e-9, 0.3, 0.999999, 1.0}) EXPECT_EQ(m.Apply(raw), raw);
  EXPECT_EQ(m.Apply(std::nan("")), 0.0);
  EXPECT_EQ(m.Apply(1.5), 1.0);
}

TEST(ConfidenceMapTest, PlattOnTheLogitKeepsOrderInTheUnitInterval) {
  const ConfidenceMap m{0.5, -0.7};
  // Worked by hand: logit(0.8) = ln 4; 0.5 * ln 4 - 0.7 = -0.0068528; sigmoid = 0.4982868
  EXPECT_NEAR(m.Apply(0.8), 0.4982868, 1e-6);
  double previous = -1;
  for (int i = 0; i <= 1000; ++i) {
    const double c = m.Apply(i / 1000.0);
    EXPECT_GE(c, 0.0);
    EXPECT_LE(c, 1.0);
    EXPECT_GE(c, previous) << i;
    previous = c;
  }
  // Raw 0 and 1 are clamped to 1e-6 from the ends: finite images strictly inside (0, 1).
  EXPECT_GT(m.Apply(0.0), 0.0);
  EXPECT_LT(m.Apply(1.0), 1.0);
}

TEST(ConfidenceMapTest, ValidateRejectsInvertingAndNonFiniteMaps) {
  EXPECT_TRUE((ConfidenceMap{0.3, 2.0}).Validate().ok());
  for (const ConfidenceMap& bad :
       {ConfidenceMap{0, 0}, ConfidenceMap{-1, 0}, ConfidenceMap{std::nan(""), 0},
        ConfidenceMap{1, INFINITY}, ConfidenceMap{101, 0}, ConfidenceMap{1, -101}}) {
    EXPECT_EQ(bad.Validate().code(), absl::StatusCode::kInvalidArgument) << bad.a << " " << bad.b;
  }
}

// Labels drawn from P(right) = sigmoid(a * logit(raw) + b) for raw spread over (0, 1).
void Draw(double a, double b, int n, uint32_t seed, std::vector<double>* raw,
          std::vector<bool>* right) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.01, 0.99), coin(0, 1);
  for (int i = 0; i < n; ++i) {
    const double c = u(rng);
    raw->push_back(c);
    right->push_back(coin(rng) < Sigmoid(a * std::log(c / (1 - c)) + b));
  }
}

TEST(FitConfidenceMapTest, RecoversTheGeneratingParameters) {
  for (auto [a, b] : {std::pair{0.5, -0.7}, std::pair{2.0, 0.4}, std::pair{1.0, 0.0}}) {
    std::vector<double> raw;
    std::vector<bool> right;
    Draw(a, b, 40000, 7, &raw, &right);
    auto fit = FitConfidenceMap(raw, right);
    ASSERT_TRUE(fit.ok()) << fit.status();
    EXPECT_NEAR(fit->a, a, 0.05 * a) << a << " " << b;
    EXPECT_NEAR(fit->b, b, 0.05) << a << " " << b;
  }
}

TEST(FitConfidenceMapTest, OverconfidentScoresAreMappedDown) {
  // Every word claims 0.99 but 70% are right: the map sends 0.99 to about 0.7.
  std::vector<double> raw(1000, 0.99);
  std::vector<bool> right(1000, false);
  for (int i = 0; i < 700; ++i) right[i] = true;
  auto fit = FitConfidenceMap(raw, right);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->Apply(0.99), 0.7, 0.01);
}

TEST(FitConfidenceMapTest, OnlyRightWordsStayFinite) {
  std::vector<double> raw;
  for (int i = 0; i < 200; ++i) raw.push_back(0.5 + i / 500.0);
  auto fit = FitConfidenceMap(raw, std::vector<bool>(raw.size(), true));
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_TRUE(fit->Validate().ok());
  EXPECT_GT(fit->Apply(0.5), 0.9);
}

TEST(FitConfidenceMapTest, RefusesWhatItCannotFit) {
  std::vector<double> raw(10, 0.5);
  EXPECT_EQ(FitConfidenceMap(raw, std::vector<bool>(10, true)).status().code(),
            absl::StatusCode::kInvalidArgument)
      << "too few words";
  raw.assign(50, 0.5);
  EXPECT_EQ(FitConfidenceMap(raw, std::vector<bool>(49, true)).status().code(),
            absl::StatusCode::kInvalidArgument)
      << "sizes differ";
  raw[3] = 1.5;
  EXPECT_EQ(FitConfidenceMap(raw, std::vector<bool>(50, true)).status().code(),
            absl::StatusCode::kInvalidArgument)
      << "outside [0, 1]";
  // The higher the score, the likelier the word is wrong: no order-keeping map fits.
  std::vector<double> inverted;
  std::vector<bool> right;
  Draw(-1.5, 0, 2000, 3, &inverted, &right);
  EXPECT_EQ(FitConfidenceMap(inverted, right).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ConfidenceFileTest, ParsesRoundTripsAndIsStrict) {
  auto f = ConfidenceCalibrationFile::Parse(
      R"({"beam": {"word": {"a": 0.5, "b": -0.25}}, "greedy": {"word": {"a": 2, "b": 1}}})", "x");
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE(f->beam && f->greedy);
  EXPECT_EQ(f->beam->word.a, 0.5);
  EXPECT_EQ(f->beam->word.b, -0.25);
  EXPECT_EQ(f->greedy->word.a, 2.0);
  auto again = ConfidenceCalibrationFile::Parse(f->ToJson(), "again");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->beam->word.b, -0.25);
  EXPECT_EQ(again->greedy->word.b, 1.0);
  auto only_greedy = ConfidenceCalibrationFile::Parse(R"({"greedy": {}})", "x");
  ASSERT_TRUE(only_greedy.ok());
  EXPECT_FALSE(only_greedy->beam.has_value());
  EXPECT_TRUE(only_greedy->greedy->identity());
  for (const char* bad :
       {R"([])", R"({"viterbi": {}})", R"({"beam": {"words": {}}})",
        R"({"beam": {"word": {"a": 1}}})", R"({"beam": {"word": {"a": 0, "b": 0}}})",
        R"({"beam": {"word": {"a": "1", "b": 0}}})",
        R"({"beam": {"word": {"a": 1, "b": 0, "c": 2}}})", R"({"beam": 3})"}) {
    auto r = ConfidenceCalibrationFile::Parse(bad, "DIR/confidence.json");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("DIR/confidence.json"), std::string::npos) << r.status();
  }
}

TEST(ConfidenceFileTest, LoadsFromAModelFolder) {
  const std::string dir = testing_util::TempDir("confidence_file");
  EXPECT_FALSE(ConfidenceCalibrationFile::Present(dir));
  EXPECT_EQ(ConfidenceCalibrationFile::Load(dir).status().code(), absl::StatusCode::kNotFound);
  ConfidenceCalibrationFile file;
  file.beam = ConfidenceCalibration{ConfidenceMap{0.7, 0.1}};
  ASSERT_TRUE(file.Write(dir + "/" + kConfidenceFile).ok());
  EXPECT_TRUE(ConfidenceCalibrationFile::Present(dir));
  auto loaded = ConfidenceCalibrationFile::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->beam->word.a, 0.7);
  EXPECT_FALSE(loaded->greedy.has_value());
}

TEST(ConfidenceCalibrationTest, MapsWordsAndAGreedyTranscriptsMean) {
  CtcResult r;
  r.text = "a b";
  r.words = {WordInfo{"a", 0, 0.1, 0.9}, WordInfo{"b", 0.2, 0.3, 0.6}};
  r.confidence = 0.42;
  const ConfidenceCalibration c{ConfidenceMap{0.5, -0.7}};
  CtcResult beam = r;
  c.Apply(&beam, /*greedy=*/false);
  EXPECT_DOUBLE_EQ(beam.words[0].confidence, c.word.Apply(0.9));
  EXPECT_DOUBLE_EQ(beam.words[1].confidence, c.word.Apply(0.6));
  EXPECT_EQ(beam.confidence, 0.42) << "a beam transcript's posterior is kept";
  EXPECT_EQ(beam.words[1].start_s, 0.2);
  CtcResult greedy = r;
  c.Apply(&greedy, /*greedy=*/true);
  EXPECT_DOUBLE_EQ(greedy.confidence, (c.word.Apply(0.9) + c.word.Apply(0.6)) / 2);
  CtcResult untouched = r;
  ConfidenceCalibration{}.Apply(&untouched, true);
  EXPECT_EQ(untouched.confidence, 0.42) << "the identity changes nothing";
  EXPECT_EQ(untouched.words[0].confidence, 0.9);
}

}  // namespace
}  // namespace lact
