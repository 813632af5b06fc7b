// Fuzz target: the audio file reader (core/audio/audio_io.cc with core/audio/resampler.cc:
// libsndfile, then mix-down and soxr), what lact_transcribe, lact_train and lact_eval_client read
// WAV/FLAC with. Input: the bytes of a file (any format libsndfile detects). Probe, read at the
// file's own rate, and read at 16 kHz as the tools do.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/audio/audio_io.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lact::fuzz::ScratchFile scratch(".audio");
  const std::string& path = scratch.Write(data, size);

  auto probe = lact::ProbeAudioFile(path);
  if (probe.ok()) {
    LACT_FUZZ_CHECK(probe->sample_rate > 0);
    LACT_FUZZ_CHECK(probe->channels > 0);
  }
  lact::AudioInfo info;
  auto native = lact::ReadAudioFile(path, lact::kNativeSampleRate, &info);
  if (!native.ok()) return 0;
  LACT_FUZZ_CHECK(!native->empty());
  LACT_FUZZ_CHECK(static_cast<int64_t>(native->size()) == info.frames);
  // Resample as the tools do, but keep the output small: a header that claims 1 Hz would
  // otherwise turn a few KiB into hundreds of MiB of samples (legitimately, not a bug).
  const double out_samples = static_cast<double>(native->size()) * 16000.0 / info.sample_rate;
  if (out_samples > (1 << 22)) return 0;
  auto at16k = lact::ReadAudioFile(path, 16000);
  if (!at16k.ok()) {  // e.g. a rate the resampler does not take (above Resampler's kMaxRate)
    LACT_FUZZ_CHECK(at16k.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  LACT_FUZZ_CHECK(std::fabs(static_cast<double>(at16k->size()) - out_samples) <=
                  2 + out_samples * 1e-3);
  return 0;
}
