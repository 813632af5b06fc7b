#include "core/audio/resampler.h"

#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace lact {
namespace {

constexpr int kMaxRate = 1'000'000;

unsigned long SoxrRecipe(Resampler::Quality quality) {
  switch (quality) {
    case Resampler::Quality::kQuick: return SOXR_QQ;
    case Resampler::Quality::kLow: return SOXR_LQ;
    case Resampler::Quality::kMedium: return SOXR_MQ;
    case Resampler::Quality::kHigh: return SOXR_HQ;
    case Resampler::Quality::kVeryHigh: return SOXR_VHQ;
  }
  return SOXR_HQ;
}

}  // namespace

void Resampler::SoxrDeleter::operator()(soxr* s) const {
  if (s != nullptr) soxr_delete(s);
}

Resampler::Resampler(int input_rate, int output_rate, soxr* handle)
    : input_rate_(input_rate), output_rate_(output_rate), soxr_(handle) {}

Resampler::Resampler(Resampler&&) noexcept = default;
Resampler& Resampler::operator=(Resampler&&) noexcept = default;
Resampler::~Resampler() = default;

absl::StatusOr<Resampler> Resampler::Create(int input_rate, int output_rate, Quality quality) {
  if (input_rate <= 0 || output_rate <= 0 || input_rate > kMaxRate || output_rate > kMaxRate) {
    return absl::InvalidArgumentError(absl::StrCat("resampler: sample rates must be in (0, ",
                                                   kMaxRate, "], got ", input_rate, " -> ",
                                                   output_rate));
  }
  if (input_rate == output_rate) return Resampler(input_rate, output_rate, nullptr);

  soxr_error_t error = nullptr;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SoxrRecipe(quality), 0);
  // One thread: many streams run in parallel. The smallest DFT sizes (2^8) bound the audio soxr
  // holds back to about one 20 ms piece; the defaults (2^10 / 2^17) hold up to ~100 ms at
  // 8 kHz -> 16 kHz and release it in bursts. Output differs by < 1e-6 and the cost is still
  // ~2000x real time on one core.
  soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
  runtime.log2_min_dft_size = 8;
  runtime.log2_large_dft_size = 8;
  soxr_t handle = soxr_create(input_rate, output_rate, 1, &error, &io, &q, &runtime);
  if (error != nullptr || handle == nullptr) {
    if (handle != nullptr) soxr_delete(handle);
    return absl::InternalError(absl::StrCat("resampler: soxr_create(", input_rate, " -> ",
                                            output_rate, ") failed: ", soxr_strerror(error)));
  }
  return Resampler(input_rate, output_rate, handle);
}

std::vector<float> Resampler::Process(const float* samples, size_t n) {
  samples_in_ += static_cast<int64_t>(n);
  if (n == 0) return {};  // never pass in==nullptr/ilen==0 to soxr: that means end of input
  if (!soxr_) {
    samples_out_ += static_cast<int64_t>(n);
    return std::vector<float>(samples, samples + n);
  }
  const double ratio = static_cast<double>(output_rate_) / input_rate_;
  std::vector<float> out;
  out.reserve(static_cast<size_t>(std::ceil(n * ratio)) + 16);
  // soxr consumes at most about olen / ratio input samples per call: loop until all is taken and
  // the output buffer is no longer filled to the brim.
  const size_t chunk = std::max<size_t>(1024, static_cast<size_t>(std::ceil(n * ratio)) + 64);
  std::vector<float> buffer(chunk);
  size_t consumed = 0;
  while (true) {
    size_t idone = 0, odone = 0;
    soxr_error_t error = soxr_process(soxr_.get(), samples + consumed, n - consumed, &idone,
                                      buffer.data(), buffer.size(), &odone);
    if (error != nullptr) break;  // only on invalid arguments, which this class never passes
    consumed += idone;
    out.insert(out.end(), buffer.begin(), buffer.begin() + odone);
    if (consumed >= n && odone < buffer.size()) break;
    if (idone == 0 && odone == 0) break;  // no progress: defensive
  }
  samples_out_ += static_cast<int64_t>(out.size());
  return out;
}

std::vector<float> Resampler::Flush() {
  std::vector<float> out;
  if (soxr_) {
    std::vector<float> buffer(4096);
    while (true) {
      size_t odone = 0;
      soxr_error_t error =
          soxr_process(soxr_.get(), nullptr, 0, nullptr, buffer.data(), buffer.size(), &odone);
      if (error != nullptr) break;
      out.insert(out.end(), buffer.begin(), buffer.begin() + odone);
      if (odone == 0) break;
    }
  }
  Reset();
  return out;
}

void Resampler::Reset() {
  if (soxr_) soxr_clear(soxr_.get());
  samples_in_ = 0;
  samples_out_ = 0;
}

absl::StatusOr<std::vector<float>> ResampleAll(const std::vector<float>& samples, int input_rate,
                                               int output_rate, Resampler::Quality quality) {
  LACT_ASSIGN_OR_RETURN(Resampler resampler, Resampler::Create(input_rate, output_rate, quality));
  std::vector<float> out = resampler.Process(samples);
  std::vector<float> tail = resampler.Flush();
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

}  // namespace lact
