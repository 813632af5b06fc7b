// Tests of core/model/waveform_normalizer against the Hugging Face formula
// y = (x - mean) / sqrt(var + 1e-7) (population variance), recomputed here in double.
#include "core/model/waveform_normalizer.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lact {
namespace {

// A speech-like test signal: noise + a sine + a DC offset.
std::vector<float> TestSignal(size_t n, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 0.1f);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = 0.03f + 0.3f * std::sin(0.05f * i) + noise(rng);
  return x;
}

// The reference: Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm, in double.
std::vector<double> Reference(const std::vector<float>& x) {
  double mean = 0;
  for (float v : x) mean += v;
  mean /= x.size();
  double var = 0;
  for (float v : x) var += (v - mean) * (v - mean);
  var /= x.size();
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) / std::sqrt(var + 1e-7);
  return y;
}

TEST(WaveformNormalizerTest, OfflineMatchesTheFormula) {
  const std::vector<float> x = TestSignal(48000);
  std::vector<float> y = x;
  NormalizeWaveform(y);
  const std::vector<double> expected = Reference(x);
  ASSERT_EQ(y.size(), expected.size());
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-5) << i;
}

TEST(WaveformNormalizerTest, OutputHasZeroMeanAndUnitVariance) {
  std::vector<float> y = TestSignal(16000, 3);
  NormalizeWaveform(y);
  const WaveformStats stats = ComputeWaveformStats(y.data(), y.size());
  EXPECT_NEAR(stats.mean(), 0.0, 1e-6);
  EXPECT_NEAR(stats.variance(), 1.0, 1e-4);
}

TEST(WaveformNormalizerTest, ConstantAndEmptySignals) {
  std::vector<float> constant(100, 0.25f);
  NormalizeWaveform(constant);  // var 0: (x - mean) / sqrt(1e-7) = 0
  for (float v : constant) EXPECT_EQ(v, 0.0f);
  std::vector<float> empty;
  NormalizeWaveform(empty);
  EXPECT_TRUE(empty.empty());
}

TEST(WaveformNormalizerTest, StatsMatchTwoPassComputation) {
  const std::vector<float> x = TestSignal(10000, 11);
  double mean = 0;
  for (float v : x) mean += v;
  mean /= x.size();
  double var = 0;
  for (float v : x) var += (v - mean) * (v - mean);
  var /= x.size();
  const WaveformStats stats = ComputeWaveformStats(x.data(), x.size());
  EXPECT_EQ(stats.count, 10000);
  EXPECT_NEAR(stats.mean(), mean, 1e-12);
  EXPECT_NEAR(stats.variance(), var, 1e-12);
}

TEST(WaveformNormalizerTest, RunningStatsAfterAllSamplesEqualOfflineStats) {
  const std::vector<float> x = TestSignal(50000, 5);
  RunningNormalizer running;
  EXPECT_EQ(running.count(), 0);
  size_t pos = 0;
  for (size_t piece : {1u, 159u, 320u, 4000u, 7u, 12345u}) {
    running.Accumulate(x.data() + pos, piece);
    pos += piece;
  }
  running.Accumulate(x.data() + pos, x.size() - pos);
  const WaveformStats offline = ComputeWaveformStats(x.data(), x.size());
  EXPECT_EQ(running.count(), offline.count);
  EXPECT_NEAR(running.mean(), offline.mean(), 1e-12);
  EXPECT_NEAR(running.variance(), offline.variance(), 1e-10);

  // Normalising the whole utterance with the running stats is the offline normalisation.
  std::vector<float> offline_y = x;
  NormalizeWaveform(offline_y);
  const std::vector<float> running_y = running.Normalize(x);
  ASSERT_EQ(running_y.size(), offline_y.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(running_y[i], offline_y[i], 1e-5) << i;
}

TEST(WaveformNormalizerTest, RunningUsesTheStatisticsSeenSoFar) {
  const std::vector<float> x = TestSignal(8000, 9);
  const std::vector<float> first(x.begin(), x.begin() + 3000);
  RunningNormalizer running;
  running.Accumulate(first);
  // With only the first piece seen, normalising it equals normalising it offline on its own.
  const std::vector<double> expected = Reference(first);
  const std::vector<float> y = running.Normalize(first);
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-5) << i;
  // Normalize does not change the statistics.
  EXPECT_EQ(running.count(), 3000);
  running.Reset();
  EXPECT_EQ(running.count(), 0);
  EXPECT_EQ(running.mean(), 0.0);
}

TEST(WaveformNormalizerTest, HistoryKeepsOnlyTheRecentBlocks) {
  // Three blocks of 1000 samples at very different levels; a history of 1500 samples keeps the
  // newest two blocks (dropping a block must leave at least 1500), then only the last ones.
  std::vector<float> loud = TestSignal(1000, 3), quiet = TestSignal(1000, 4),
                     mid = TestSignal(1000, 5);
  for (float& v : loud) v *= 8.0f;
  for (float& v : mid) v *= 0.5f;
  RunningNormalizer windowed(kWaveformNormEpsilon, 1500);
  RunningNormalizer whole;
  for (const auto* block : {&loud, &quiet, &mid}) {
    windowed.Accumulate(*block);
    whole.Accumulate(*block);
  }
  std::vector<float> recent(quiet);
  recent.insert(recent.end(), mid.begin(), mid.end());
  const WaveformStats expected = ComputeWaveformStats(recent.data(), recent.size());
  EXPECT_EQ(windowed.count(), 2000);
  EXPECT_NEAR(windowed.mean(), expected.mean(), 1e-9);
  EXPECT_NEAR(windowed.variance(), expected.variance(), 1e-9);
  EXPECT_EQ(whole.count(), 3000);
  EXPECT_GT(whole.variance(), 10 * windowed.variance());  // the loud block dominates the whole
  windowed.Reset();
  EXPECT_EQ(windowed.count(), 0);
  windowed.Accumulate(mid);
  EXPECT_EQ(windowed.count(), 1000);
}

TEST(WaveformNormalizerTest, HistoryLongerThanTheStreamChangesNothing) {
  const std::vector<float> x = TestSignal(8000, 21);
  RunningNormalizer windowed(kWaveformNormEpsilon, 8000);
  RunningNormalizer whole;
  for (size_t at = 0; at < x.size(); at += 700) {
    const size_t n = std::min<size_t>(700, x.size() - at);
    windowed.Accumulate(x.data() + at, n);
    whole.Accumulate(x.data() + at, n);
    // Bit for bit: the same sums in the same order.
    ASSERT_EQ(windowed.mean(), whole.mean());
    ASSERT_EQ(windowed.variance(), whole.variance());
  }
}

// Fixed blocks (the stream's: --feed_ms): whatever the pieces fed (the server's early-partial
// pieces, a client's packets), the statistics at every block boundary are bit for bit those of
// feeding whole blocks, which are the per-call blocks of before; the history drops whole blocks.
TEST(WaveformNormalizerTest, FixedBlocksMakeTheStatisticsIndependentOfThePieces) {
  std::vector<float> x = TestSignal(12000, 23);
  for (size_t i = 6000; i < x.size(); ++i) x[i] *= 6.0f;  // a change of level the history follows
  const int64_t block = 1000, history = 2500;
  RunningNormalizer per_call(kWaveformNormEpsilon, history);  // whole blocks, one per call
  RunningNormalizer fixed_whole(kWaveformNormEpsilon, history, block);
  RunningNormalizer fixed_pieces(kWaveformNormEpsilon, history, block);
  const size_t pieces[] = {130, 1, 999, 470, 2400, 3};
  size_t fed = 0, k = 0;
  for (size_t at = 0; at < x.size(); at += block) {
    per_call.Accumulate(x.data() + at, block);
    fixed_whole.Accumulate(x.data() + at, block);
    while (fed < at + block) {  // pieces of odd sizes, stopping at the block boundary
      const size_t n = std::min(pieces[k++ % 6], at + block - fed);
      fixed_pieces.Accumulate(x.data() + fed, n);
      fed += n;
    }
    for (const RunningNormalizer* r : {&fixed_whole, &fixed_pieces}) {
      ASSERT_EQ(r->count(), per_call.count()) << at;
      ASSERT_EQ(r->mean(), per_call.mean()) << at;
      ASSERT_EQ(r->variance(), per_call.variance()) << at;
    }
  }
  EXPECT_EQ(per_call.count(), 3000);  // the history kept the newest three blocks
  // Mid-block, the partial block counts as it fills (here 1500 samples past a boundary).
  RunningNormalizer partial(kWaveformNormEpsilon, history, block);
  partial.Accumulate(x.data(), 1500);
  const WaveformStats expected = ComputeWaveformStats(x.data(), 1500);
  EXPECT_EQ(partial.count(), 1500);
  EXPECT_NEAR(partial.mean(), expected.mean(), 1e-12);
  EXPECT_NEAR(partial.variance(), expected.variance(), 1e-12);
}

TEST(WaveformNormalizerTest, RunningBeforeAnySampleIsIdentity) {
  const RunningNormalizer running;
  const std::vector<float> x = {0.5f, -0.25f, 0.125f};
  EXPECT_EQ(running.Normalize(x), x);
  std::vector<float> y(x.size());
  running.NormalizeFloat32(x.data(), x.size(), y.data());
  EXPECT_EQ(y, x);
}

TEST(WaveformNormalizerTest, Float32NormalizeMatchesVectorNormalize) {
  const std::vector<float> x = TestSignal(2000, 13);
  RunningNormalizer running;
  running.Accumulate(x);
  const std::vector<float> y = running.Normalize(x);
  std::vector<float> y32(x.size());
  running.NormalizeFloat32(x.data(), x.size(), y32.data());
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_NEAR(y32[i], y[i], 1e-5 + 1e-5 * std::abs(y[i])) << i;
}

// The streaming recognizer normalises each window straight into the encoder's batch with
// NormalizeFloat32; before, it evaluated `(window - mean) * inv_std` on a float tensor: the same
// bits, so streaming results did not move. Over a loud and a quiet signal and with the
// statistics of different prefixes.
TEST(WaveformNormalizerTest, Float32NormalizeEqualsTensorNormalizeBitForBit) {
  for (float gain : {1.0f, 1e-3f, 40.0f}) {
    std::vector<float> x = TestSignal(48000, 17);
    for (float& v : x) v *= gain;
    RunningNormalizer running(kWaveformNormEpsilon, 16000, 4000);
    for (size_t fed = 0; fed < x.size(); fed += 7000) {
      const size_t n = std::min<size_t>(7000, x.size() - fed);
      running.Accumulate(x.data() + fed, n);
      const torch::Tensor t = torch::from_blob(x.data(), {static_cast<int64_t>(x.size())},
                                               torch::kFloat);  // [N]
      const double inv_std = 1.0 / std::sqrt(running.variance() + running.epsilon());
      const torch::Tensor expected = (t - running.mean()) * inv_std;  // the recognizer's old way
      std::vector<float> y(x.size());
      running.NormalizeFloat32(x.data(), x.size(), y.data());
      const torch::Tensor got =
          torch::from_blob(y.data(), {static_cast<int64_t>(y.size())}, torch::kFloat);
      ASSERT_TRUE(torch::equal(got, expected)) << "gain " << gain << ", " << fed + n << " fed";
    }
  }
  RunningNormalizer empty;  // before any sample: a copy
  const std::vector<float> x = {0.5f, -0.25f};
  std::vector<float> y(2);
  empty.NormalizeFloat32(x.data(), 2, y.data());
  EXPECT_EQ(y, x);
}

}  // namespace
}  // namespace lact
