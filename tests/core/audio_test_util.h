// Helpers shared by the audio tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace lact {

// Frequency (Hz) in [lo_hz, hi_hz] with the largest magnitude in the spectrum of the
// Hann-windowed signal, zero-padded to 4 s (0.25 Hz bins).
inline double PeakFrequency(const std::vector<float>& x, int rate, double lo_hz, double hi_hz) {
  const int64_t n = static_cast<int64_t>(x.size());
  const torch::Tensor signal = torch::tensor(x) * torch::hann_window(n, /*periodic=*/false);  // [n]
  const int64_t n_fft = std::max<int64_t>(n, 4 * rate);
  const torch::Tensor magnitude = torch::fft::rfft(signal, n_fft).abs();  // [n_fft / 2 + 1]
  const double bin_hz = static_cast<double>(rate) / n_fft;
  const int64_t lo = static_cast<int64_t>(std::ceil(lo_hz / bin_hz));
  const int64_t hi = static_cast<int64_t>(std::floor(hi_hz / bin_hz));
  const int64_t peak = magnitude.slice(0, lo, hi + 1).argmax().item<int64_t>() + lo;
  return peak * bin_hz;
}

}  // namespace lact
