// lact_bench's small helpers: timing, percentiles, device sync, the test signal.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <torch/torch.h>

namespace lact::bench {

using Clock = std::chrono::steady_clock;
inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * (v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

inline void Sync(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// n samples at 16 kHz: a gliding tone in noise (speech-like load, no speech).
inline std::vector<float> TestAudio(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 0.05f);
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) {
    const double t = i / 16000.0;
    x[i] = 0.3f * std::sin(2 * M_PI * (150 + 50 * std::sin(t)) * t) + noise(rng);
  }
  return x;
}

}  // namespace lact::bench
