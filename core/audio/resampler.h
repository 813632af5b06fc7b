// Streaming sample-rate conversion over libsoxr (mono float32).
//
// The server receives audio in pieces of arbitrary size; `Resampler` converts each piece as it
// arrives and keeps the filter state in between, so the concatenation of every `Process` output
// followed by `Flush()` is the same signal as resampling the whole input at once (to float
// rounding; the tests check this for many splits). When the two rates are equal it is an exact
// pass-through and holds no state.
//
// Latency: soxr holds back the tail of its filter and works in small blocks; the output lags the
// input by roughly 10-40 ms (tested: under 50 ms when fed 20 ms pieces). What is held back
// appears on a later `Process` or on `Flush()`.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

struct soxr;  // libsoxr's opaque resampler (soxr_t == soxr*).

namespace lact {

class Resampler {
 public:
  // Quality presets of libsoxr (see soxr.h, SOXR_*Q). kHigh = 20-bit precision, linear phase:
  // the library's default for streams and what `ReadAudioFile` uses.
  enum class Quality { kQuick, kLow, kMedium, kHigh, kVeryHigh };

  // Rates must be positive (and at most 1 MHz); otherwise InvalidArgument.
  static absl::StatusOr<Resampler> Create(int input_rate, int output_rate,
                                          Quality quality = Quality::kHigh);

  Resampler(Resampler&&) noexcept;
  Resampler& operator=(Resampler&&) noexcept;
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;
  ~Resampler();

  // Feeds `n` input samples ([n], mono) and returns the output samples that are ready now
  // ([m], m ≈ n * output_rate / input_rate, less while the filter fills).
  std::vector<float> Process(const float* samples, size_t n);
  std::vector<float> Process(const std::vector<float>& samples) {
    return Process(samples.data(), samples.size());
  }

  // Ends the input: returns the output still held in the filter. Afterwards the resampler is
  // reset (counters included) and ready for a new, unrelated signal.
  std::vector<float> Flush();

  // Drops any held state (e.g. when a stream restarts); the next input starts a new signal.
  void Reset();

  int input_rate() const { return input_rate_; }
  int output_rate() const { return output_rate_; }
  bool is_passthrough() const { return input_rate_ == output_rate_; }

  // Total input samples fed and output samples returned since creation / the last reset.
  int64_t samples_in() const { return samples_in_; }
  int64_t samples_out() const { return samples_out_; }

 private:
  struct SoxrDeleter {
    void operator()(soxr* s) const;
  };
  Resampler(int input_rate, int output_rate, soxr* handle);

  int input_rate_ = 0;
  int output_rate_ = 0;
  std::unique_ptr<soxr, SoxrDeleter> soxr_;  // null for a pass-through
  int64_t samples_in_ = 0;
  int64_t samples_out_ = 0;
};

// One-shot convenience: resamples a whole signal ([n] -> [≈ n * output_rate / input_rate]).
absl::StatusOr<std::vector<float>> ResampleAll(
    const std::vector<float>& samples, int input_rate, int output_rate,
    Resampler::Quality quality = Resampler::Quality::kHigh);

}  // namespace lact
