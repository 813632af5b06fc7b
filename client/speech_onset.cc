#include "client/speech_onset.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace lact::eval {

double SpeechOnsetMs(const std::vector<float>& samples, int sample_rate) {
  const size_t frame = static_cast<size_t>(std::max(1, sample_rate / 100));  // 10 ms
  const size_t n = samples.size() / frame;
  if (n == 0) return 0;
  std::vector<double> rms(n);
  for (size_t f = 0; f < n; ++f) {
    double sum = 0;
    for (size_t i = f * frame; i < (f + 1) * frame; ++i) sum += double(samples[i]) * samples[i];
    rms[f] = std::sqrt(sum / static_cast<double>(frame));
  }
  // The 95th percentile, linearly interpolated (numpy's default).
  std::vector<double> sorted = rms;
  std::sort(sorted.begin(), sorted.end());
  const double pos = 0.95 * static_cast<double>(n - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, n - 1);
  const double loud = sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
  if (loud <= 0) return 0;
  for (size_t f = 0; f < n; ++f) {
    if (rms[f] >= 0.1 * loud) return 10.0 * static_cast<double>(f);
  }
  return 0;
}

}  // namespace lact::eval
