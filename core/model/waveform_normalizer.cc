#include "core/model/waveform_normalizer.h"

#include <algorithm>
#include <cmath>

namespace lact {

void WaveformStats::Add(const float* x, size_t n) {
  double s = 0, ss = 0;
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    s += v;
    ss += v * v;
  }
  count += static_cast<int64_t>(n);
  sum += s;
  sum_squares += ss;
}

double WaveformStats::variance() const {
  if (count <= 0) return 0.0;
  const double m = sum / count;
  return std::max(0.0, sum_squares / count - m * m);
}

namespace {

// Sum, mean and sum of squared deviations of x[0..n), n > 0, in double with two passes.
void TwoPassMoments(const float* x, size_t n, double* sum, double* mean, double* m2) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  *sum = s;
  *mean = s / n;
  *m2 = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = x[i] - *mean;
    *m2 += d * d;
  }
}

}  // namespace

WaveformStats ComputeWaveformStats(const float* x, size_t n) {
  WaveformStats stats;
  if (n == 0) return stats;
  double sum, mean, m2;
  TwoPassMoments(x, n, &sum, &mean, &m2);
  // Express as sums so mean()/variance() give the two-pass values.
  stats.count = static_cast<int64_t>(n);
  stats.sum = sum;
  stats.sum_squares = m2 + n * mean * mean;
  return stats;
}

namespace {

void Apply(const float* in, size_t n, float* out, double mean, double variance, double epsilon) {
  const double inv_std = 1.0 / std::sqrt(variance + epsilon);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>((in[i] - mean) * inv_std);
}

}  // namespace

void NormalizeWaveform(float* x, size_t n, double epsilon) {
  if (n == 0) return;
  double sum, mean, m2;
  TwoPassMoments(x, n, &sum, &mean, &m2);
  Apply(x, n, x, mean, m2 / n, epsilon);
}

void NormalizeWaveform(std::vector<float>& x, double epsilon) {
  NormalizeWaveform(x.data(), x.size(), epsilon);
}

void RunningNormalizer::PushBlock(const WaveformStats& block) {
  complete_.count += block.count;
  complete_.sum += block.sum;
  complete_.sum_squares += block.sum_squares;
  blocks_.push_back(block);
  while (blocks_.size() > 1 && complete_.count - blocks_.front().count >= max_history_) {
    complete_.count -= blocks_.front().count;
    complete_.sum -= blocks_.front().sum;
    complete_.sum_squares -= blocks_.front().sum_squares;
    blocks_.pop_front();
  }
}

void RunningNormalizer::Accumulate(const float* x, size_t n) {
  if (max_history_ <= 0) {
    stats_.Add(x, n);
    return;
  }
  if (block_samples_ <= 0) {
    WaveformStats block;
    block.Add(x, n);
    PushBlock(block);
    stats_ = complete_;
    return;
  }
  while (n > 0) {
    // The block's sums continue sequentially (as one Add over the whole block would run).
    const size_t take = std::min(n, static_cast<size_t>(block_samples_ - current_.count));
    double s = current_.sum, ss = current_.sum_squares;
    for (size_t i = 0; i < take; ++i) {
      const double v = x[i];
      s += v;
      ss += v * v;
    }
    current_.count += static_cast<int64_t>(take);
    current_.sum = s;
    current_.sum_squares = ss;
    x += take;
    n -= take;
    if (current_.count == block_samples_) {
      PushBlock(current_);
      current_ = WaveformStats{};
    }
  }
  stats_ = complete_;
  if (current_.count > 0) {
    stats_.count += current_.count;
    stats_.sum += current_.sum;
    stats_.sum_squares += current_.sum_squares;
  }
}

void RunningNormalizer::Normalize(const float* in, size_t n, float* out) const {
  if (stats_.count == 0) {
    if (in != out) std::copy(in, in + n, out);
    return;
  }
  Apply(in, n, out, stats_.mean(), stats_.variance(), epsilon_);
}

std::vector<float> RunningNormalizer::Normalize(const std::vector<float>& x) const {
  std::vector<float> out(x.size());
  Normalize(x.data(), x.size(), out.data());
  return out;
}

void RunningNormalizer::NormalizeFloat32(const float* in, size_t n, float* out) const {
  if (stats_.count == 0) {
    if (in != out) std::copy(in, in + n, out);
    return;
  }
  // As LibTorch's CPU kernels evaluate (x - mean) * inv_std with double scalars and a float
  // tensor: the scalars rounded to float, each operation rounded to float.
  const float mean = static_cast<float>(stats_.mean());
  const float inv_std = static_cast<float>(1.0 / std::sqrt(stats_.variance() + epsilon_));
  for (size_t i = 0; i < n; ++i) out[i] = (in[i] - mean) * inv_std;
}

}  // namespace lact
