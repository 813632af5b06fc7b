#include "core/audio_io.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/resampler.h"
#include "core/status_macros.h"

namespace lact {
namespace {

struct SndfileCloser {
  void operator()(SNDFILE* f) const {
    if (f != nullptr) sf_close(f);
  }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// Opens `path` for reading; `info` receives libsndfile's description of it.
absl::StatusOr<SndfilePtr> OpenForRead(const std::string& path, SF_INFO* info) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) {
    return absl::NotFoundError(absl::StrCat("audio file not found: '", path, "'"));
  }
  if (!std::filesystem::is_regular_file(st)) {
    return absl::InvalidArgumentError(absl::StrCat("not a regular file: '", path, "'"));
  }
  *info = SF_INFO{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, info);
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read audio file '", path, "': ", sf_strerror(nullptr)));
  }
  if (info->samplerate <= 0 || info->channels <= 0) {
    sf_close(f);
    return absl::InvalidArgumentError(absl::StrCat("cannot read audio file '", path,
                                                   "': invalid sample rate ", info->samplerate,
                                                   " or channel count ", info->channels));
  }
  return SndfilePtr(f);
}

std::string MajorFormatName(int format) {
  SF_FORMAT_INFO fi{};
  fi.format = format & SF_FORMAT_TYPEMASK;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &fi, sizeof(fi)) == 0 && fi.name != nullptr) {
    return fi.name;
  }
  return "unknown";
}

AudioInfo ToAudioInfo(const SF_INFO& sf, int64_t frames) {
  AudioInfo info;
  info.sample_rate = sf.samplerate;
  info.channels = sf.channels;
  info.frames = frames;
  info.duration_s = static_cast<double>(frames) / sf.samplerate;
  info.format = MajorFormatName(sf.format);
  return info;
}

}  // namespace

absl::StatusOr<AudioInfo> ProbeAudioFile(const std::string& path) {
  SF_INFO sf;
  LACT_ASSIGN_OR_RETURN(SndfilePtr file, OpenForRead(path, &sf));
  return ToAudioInfo(sf, sf.frames);
}

absl::StatusOr<std::vector<float>> ReadAudioFile(const std::string& path, int target_sample_rate,
                                                 AudioInfo* info) {
  if (target_sample_rate < 0) {
    return absl::InvalidArgumentError(absl::StrCat("reading '", path,
                                                   "': target sample rate must be >= 0, got ",
                                                   target_sample_rate));
  }
  SF_INFO sf;
  LACT_ASSIGN_OR_RETURN(SndfilePtr file, OpenForRead(path, &sf));
  // Default normalisation (SFC_SET_NORM_FLOAT on): integer PCM is scaled by 1 / 2^(bits-1).
  const int channels = sf.channels;

  // Read in blocks until EOF rather than trusting sf.frames (unknown for some streams).
  constexpr sf_count_t kBlockFrames = 1 << 15;
  std::vector<float> block(static_cast<size_t>(kBlockFrames) * channels);
  std::vector<float> mono;
  // The header's frame count is only a hint: a 1 KiB FLAC file can claim 2^33 frames, and
  // reserving that threw std::bad_alloc (32 GiB; regression input in
  // tests/fuzz/corpus/fuzz_audio_file). Reserve at most 2^24 frames; the vector grows past it.
  constexpr int64_t kMaxReserveFrames = int64_t{1} << 24;
  if (sf.frames > 0) mono.reserve(static_cast<size_t>(std::min<int64_t>(sf.frames, kMaxReserveFrames)));
  while (true) {
    const sf_count_t got = sf_readf_float(file.get(), block.data(), kBlockFrames);
    if (got <= 0) break;
    if (channels == 1) {
      mono.insert(mono.end(), block.begin(), block.begin() + got);
    } else {
      for (sf_count_t i = 0; i < got; ++i) {
        double sum = 0;
        for (int c = 0; c < channels; ++c) sum += block[static_cast<size_t>(i * channels + c)];
        mono.push_back(static_cast<float>(sum / channels));
      }
    }
  }
  if (sf_error(file.get()) != SF_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat("error decoding audio file '", path, "': ", sf_strerror(file.get())));
  }
  if (info != nullptr) *info = ToAudioInfo(sf, static_cast<int64_t>(mono.size()));
  if (mono.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("empty audio (0 samples): '", path, "'"));
  }

  const int target = target_sample_rate == kNativeSampleRate ? sf.samplerate : target_sample_rate;
  if (target == sf.samplerate) return mono;
  absl::StatusOr<std::vector<float>> resampled = ResampleAll(mono, sf.samplerate, target);
  if (!resampled.ok()) {
    return absl::Status(resampled.status().code(),
                        absl::StrCat("resampling '", path, "': ", resampled.status().message()));
  }
  return resampled;
}

absl::Status WriteWav16(const std::string& path, const std::vector<float>& samples,
                        int sample_rate, int channels) {
  if (sample_rate <= 0 || channels <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("writing '", path, "': invalid sample rate ",
                                                   sample_rate, " or channel count ", channels));
  }
  if (samples.size() % static_cast<size_t>(channels) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("writing '", path, "': ", samples.size(),
                                                   " samples is not a multiple of ", channels,
                                                   " channels"));
  }
  SF_INFO sf{};
  sf.samplerate = sample_rate;
  sf.channels = channels;
  sf.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SndfilePtr file(sf_open(path.c_str(), SFM_WRITE, &sf));
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write WAV file '", path, "': ", sf_strerror(nullptr)));
  }
  // Convert ourselves: libsndfile scales float -> int16 by 32767, which would not round-trip
  // with its 1/32768 read scaling.
  std::vector<int16_t> pcm(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const double x = static_cast<double>(samples[i]);
    const double v = std::isnan(x) ? 0.0 : std::nearbyint(x * 32768.0);
    pcm[i] = static_cast<int16_t>(std::clamp(v, -32768.0, 32767.0));
  }
  const sf_count_t frames = static_cast<sf_count_t>(samples.size() / channels);
  if (sf_writef_short(file.get(), pcm.data(), frames) != frames) {
    return absl::InternalError(
        absl::StrCat("short write to WAV file '", path, "': ", sf_strerror(file.get())));
  }
  if (sf_close(file.release()) != 0) {
    return absl::InternalError(absl::StrCat("cannot close WAV file '", path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace lact
