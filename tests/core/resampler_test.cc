// Tests of core/audio/resampler: streaming soxr resampling must equal one-shot resampling for any
// split of the input, keep the length ratio and the frequency of a sine, and pass through equal
// rates.
#include "core/audio/resampler.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/core/audio_test_util.h"

namespace lact {
namespace {

std::vector<float> Sine(double freq_hz, int rate, size_t n, double amplitude = 0.5) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * freq_hz * i / rate));
  return x;
}

// Streams `x` through `r` in pieces of the given sizes (cycled), then flushes.
std::vector<float> Stream(Resampler& r, const std::vector<float>& x,
                          const std::vector<size_t>& sizes) {
  std::vector<float> out;
  size_t pos = 0, k = 0;
  while (pos < x.size()) {
    const size_t n = std::min(sizes[k++ % sizes.size()], x.size() - pos);
    std::vector<float> piece = r.Process(x.data() + pos, n);
    out.insert(out.end(), piece.begin(), piece.end());
    pos += n;
  }
  std::vector<float> tail = r.Flush();
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST(ResamplerTest, RejectsInvalidRates) {
  EXPECT_EQ(Resampler::Create(0, 16000).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Resampler::Create(16000, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Resampler::Create(16000, 2'000'000).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResampleAll({0.f}, 8000, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ResamplerTest, PassThroughWhenRatesAreEqual) {
  absl::StatusOr<Resampler> r = Resampler::Create(16000, 16000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->is_passthrough());
  const std::vector<float> x = Sine(300, 16000, 1000);
  EXPECT_EQ(Stream(*r, x, {1, 7, 160, 333}), x);
  EXPECT_TRUE(r->Process(nullptr, 0).empty());
  EXPECT_TRUE(r->Flush().empty());
}

TEST(ResamplerTest, EmptyPiecesAreHarmless) {
  absl::StatusOr<Resampler> r = Resampler::Create(8000, 16000);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<float> x = Sine(440, 8000, 4000);
  const std::vector<float> reference = Stream(*r, x, {x.size()});
  std::vector<float> out;
  for (size_t pos = 0; pos < x.size(); pos += 500) {
    std::vector<float> none = r->Process(x.data() + pos, 0);  // must not end the input
    EXPECT_TRUE(none.empty());
    std::vector<float> piece = r->Process(x.data() + pos, 500);
    out.insert(out.end(), piece.begin(), piece.end());
  }
  std::vector<float> tail = r->Flush();
  out.insert(out.end(), tail.begin(), tail.end());
  ASSERT_EQ(out.size(), reference.size());
  EXPECT_LE(MaxAbsDiff(out, reference), 1e-5f);
}

struct RatePair {
  int in;
  int out;
};

class ResamplerRateTest : public ::testing::TestWithParam<RatePair> {};

TEST_P(ResamplerRateTest, LengthFollowsTheRateRatio) {
  const auto [in_rate, out_rate] = GetParam();
  for (size_t n :
       {size_t{1000}, static_cast<size_t>(in_rate), static_cast<size_t>(3 * in_rate + 17)}) {
    absl::StatusOr<std::vector<float>> y = ResampleAll(Sine(440, in_rate, n), in_rate, out_rate);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_NEAR(static_cast<double>(y->size()), static_cast<double>(n) * out_rate / in_rate, 3.0)
        << n << " samples";
  }
}

TEST_P(ResamplerRateTest, PreservesSineFrequencyAndAmplitude) {
  const auto [in_rate, out_rate] = GetParam();
  for (double freq : {440.0, 1234.0, 3000.0}) {
    if (freq >= 0.45 * std::min(in_rate, out_rate)) continue;
    absl::StatusOr<std::vector<float>> y =
        ResampleAll(Sine(freq, in_rate, in_rate / 2), in_rate, out_rate);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_NEAR(PeakFrequency(*y, out_rate, 50, 0.5 * out_rate - 50), freq, 2.0);
    // Away from the edges the sine keeps its amplitude: compare with the ideal output sine.
    const std::vector<float> ideal = Sine(freq, out_rate, y->size());
    const size_t edge = y->size() / 10;
    double err = 0;
    for (size_t i = edge; i + edge < y->size(); ++i)
      err = std::max(err, std::abs(double((*y)[i]) - ideal[i]));
    EXPECT_LT(err, 2e-3) << freq << " Hz: the output should be the same sine, not delayed";
  }
}

TEST_P(ResamplerRateTest, OutputLagsInputByLessThan50ms) {
  const auto [in_rate, out_rate] = GetParam();
  absl::StatusOr<Resampler> r = Resampler::Create(in_rate, out_rate);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<float> piece = Sine(440, in_rate, static_cast<size_t>(in_rate / 50));  // 20 ms
  size_t produced = 0;
  for (int k = 1; k <= 25; ++k) {
    produced += r->Process(piece).size();
    const double expected = k * 0.02 * out_rate;
    EXPECT_GE(static_cast<double>(produced), expected - 0.05 * out_rate)
        << "after " << k << " pieces";
  }
}

TEST_P(ResamplerRateTest, StreamingEqualsOneShotForAnySplit) {
  const auto [in_rate, out_rate] = GetParam();
  std::mt19937 rng(1234);
  std::normal_distribution<float> noise(0.f, 0.05f);
  std::vector<float> x = Sine(523.25, in_rate, static_cast<size_t>(in_rate * 1.3));
  for (float& v : x) v += noise(rng);

  absl::StatusOr<std::vector<float>> one_shot = ResampleAll(x, in_rate, out_rate);
  ASSERT_TRUE(one_shot.ok()) << one_shot.status();

  std::uniform_int_distribution<size_t> random_size(1, 4000);
  std::vector<size_t> random_sizes(64);
  for (size_t& s : random_sizes) s = random_size(rng);
  const std::vector<std::vector<size_t>> splits = {
      {1}, {2, 3}, {160}, {320}, {997}, {static_cast<size_t>(in_rate / 10)}, {4096}, random_sizes};
  absl::StatusOr<Resampler> r = Resampler::Create(in_rate, out_rate);
  ASSERT_TRUE(r.ok()) << r.status();
  for (const auto& sizes : splits) {
    SCOPED_TRACE(::testing::Message() << "first piece size " << sizes[0]);
    const std::vector<float> streamed = Stream(*r, x, sizes);  // Flush resets r for the next run
    ASSERT_EQ(streamed.size(), one_shot->size());
    EXPECT_LE(MaxAbsDiff(streamed, *one_shot), 1e-5f);
  }
}

INSTANTIATE_TEST_SUITE_P(Resampler, ResamplerRateTest,
                         ::testing::Values(RatePair{8000, 16000}, RatePair{44100, 16000},
                                           RatePair{48000, 16000}, RatePair{22050, 16000},
                                           RatePair{16000, 8000}),
                         [](const ::testing::TestParamInfo<RatePair>& info) {
                           return std::to_string(info.param.in) + "to" +
                                  std::to_string(info.param.out);
                         });

TEST(ResamplerTest, CountsSamplesAndResetsOnFlush) {
  absl::StatusOr<Resampler> r = Resampler::Create(48000, 16000);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<float> x = Sine(440, 48000, 4800);
  size_t produced = r->Process(x).size();
  EXPECT_EQ(r->samples_in(), 4800);
  EXPECT_EQ(r->samples_out(), static_cast<int64_t>(produced));
  EXPECT_LE(produced, 1600u);  // the filter holds some back until Flush
  produced += r->Flush().size();
  EXPECT_NEAR(static_cast<double>(produced), 1600.0, 3.0);
  EXPECT_EQ(r->samples_in(), 0);

  // After Flush (or Reset) the next signal starts from a clean state.
  absl::StatusOr<Resampler> fresh = Resampler::Create(48000, 16000);
  ASSERT_TRUE(fresh.ok());
  std::vector<float> a = r->Process(x);
  std::vector<float> b = fresh->Process(x);
  EXPECT_EQ(a, b);
  r->Reset();
  fresh->Reset();
  a = r->Process(x);
  b = fresh->Process(x);
  EXPECT_EQ(a, b);
}

TEST(ResamplerTest, IsMovable) {
  absl::StatusOr<Resampler> r = Resampler::Create(8000, 16000);
  ASSERT_TRUE(r.ok());
  Resampler moved = std::move(*r);
  EXPECT_EQ(moved.input_rate(), 8000);
  EXPECT_EQ(moved.output_rate(), 16000);
  EXPECT_FALSE(moved.Process(Sine(440, 8000, 1600)).empty());
}

}  // namespace
}  // namespace lact
