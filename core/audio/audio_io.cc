#include "core/audio/audio_io.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/audio/resampler.h"
#include "core/util/status_macros.h"

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
  if (info->samplerate < kMinFileSampleRate || info->samplerate > kMaxFileSampleRate) {
    sf_close(f);
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read audio file '", path, "': its header says ", info->samplerate,
        " Hz, outside the ", kMinFileSampleRate, "..", kMaxFileSampleRate, " Hz of real audio"));
  }
  return SndfilePtr(f);
}

// The frame count the header declares when it is a real count (libsndfile reports a huge
// value for "unknown"); -1 otherwise.
int64_t DeclaredFrames(const SF_INFO& sf) {
  return sf.frames > 0 && sf.frames < (int64_t{1} << 62) ? static_cast<int64_t>(sf.frames) : -1;
}

// After the last block: a decoding error, or a FLAC file that holds fewer frames than its
// STREAMINFO declares (a truncated download or copy; libsndfile just stops early). Other formats
// do not let a reader tell (libsndfile sizes a WAV's data chunk by the file).
absl::Status CheckComplete(const std::string& path, SNDFILE* file, const SF_INFO& sf,
                           int64_t frames_read) {
  // Truncation first: a cut FLAC often also ends with a decoder error ("lost sync"), and "is
  // truncated" says more.
  const int64_t declared = DeclaredFrames(sf);
  if ((sf.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_FLAC && declared > 0 &&
      frames_read < declared) {
    return absl::InvalidArgumentError(
        absl::StrFormat("audio file '%s' is truncated: its FLAC header declares %d samples (%.2f "
                        "s), it holds %d (%.2f s)",
                        path, declared, static_cast<double>(declared) / sf.samplerate, frames_read,
                        static_cast<double>(frames_read) / sf.samplerate));
  }
  if (sf_error(file) != SF_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat("error decoding audio file '", path, "': ", sf_strerror(file)));
  }
  return absl::OkStatus();
}

// Averages `frames` interleaved frames of `channels` ([frames * channels]) onto `mono`.
void AppendMonoFrames(const float* block, int64_t frames, int channels, std::vector<float>* mono) {
  if (channels == 1) {
    mono->insert(mono->end(), block, block + frames);
    return;
  }
  for (int64_t i = 0; i < frames; ++i) {
    double sum = 0;
    for (int c = 0; c < channels; ++c) sum += block[static_cast<size_t>(i * channels + c)];
    mono->push_back(static_cast<float>(sum / channels));
  }
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
    return absl::InvalidArgumentError(absl::StrCat(
        "reading '", path, "': target sample rate must be >= 0, got ", target_sample_rate));
  }
  // The file at its own rate through AudioFileReader (blocks, mix-down, the completeness and
  // truncation checks), then resampled in one go.
  LACT_ASSIGN_OR_RETURN(std::unique_ptr<AudioFileReader> reader,
                        AudioFileReader::Open(path, kNativeSampleRate));
  const int rate = reader->sample_rate();
  std::vector<float> mono;
  // The header's frame count is only a hint: a 1 KiB FLAC file can claim 2^33 frames, and
  // reserving that threw std::bad_alloc (32 GiB; regression input in
  // tests/fuzz/corpus/fuzz_audio_file). Reserve at most 2^24 frames; the vector grows past it.
  constexpr int64_t kMaxReserveFrames = int64_t{1} << 24;
  const double declared = reader->declared_seconds();
  if (declared > 0) {
    mono.reserve(static_cast<size_t>(std::min<int64_t>(reader->info().frames, kMaxReserveFrames)));
  }
  constexpr int64_t kBlockFrames = 1 << 15;
  while (true) {
    absl::StatusOr<bool> more = reader->Read(kBlockFrames, &mono);
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  if (info != nullptr) {
    *info = reader->info();
    info->frames = static_cast<int64_t>(mono.size());
    info->duration_s = static_cast<double>(mono.size()) / rate;
  }

  const int target = target_sample_rate == kNativeSampleRate ? rate : target_sample_rate;
  if (target == rate) return mono;
  absl::StatusOr<std::vector<float>> resampled = ResampleAll(mono, rate, target);
  if (!resampled.ok()) {
    return absl::Status(resampled.status().code(),
                        absl::StrCat("resampling '", path, "': ", resampled.status().message()));
  }
  return resampled;
}

struct AudioFileReader::State {
  std::string path;
  SF_INFO sf{};
  SndfilePtr file;
  std::optional<Resampler> resampler;  // absent when the rates are equal
  std::vector<float> block;            // [frames * channels] interleaved
  std::vector<float> mono;             // one block mixed down
  int64_t frames_read = 0;
  bool done = false;
};

absl::StatusOr<std::unique_ptr<AudioFileReader>> AudioFileReader::Open(const std::string& path,
                                                                       int target_sample_rate) {
  if (target_sample_rate < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reading '", path, "': target sample rate must be >= 0, got ", target_sample_rate));
  }
  auto state = std::make_unique<State>();
  state->path = path;
  LACT_ASSIGN_OR_RETURN(state->file, OpenForRead(path, &state->sf));
  const int target =
      target_sample_rate == kNativeSampleRate ? state->sf.samplerate : target_sample_rate;
  if (target != state->sf.samplerate) {
    absl::StatusOr<Resampler> r = Resampler::Create(state->sf.samplerate, target);
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("resampling '", path, "': ", r.status().message()));
    }
    state->resampler.emplace(std::move(*r));
  }
  AudioInfo info = ToAudioInfo(state->sf, state->sf.frames);
  return std::unique_ptr<AudioFileReader>(
      new AudioFileReader(std::move(state), std::move(info), target));
}

AudioFileReader::AudioFileReader(std::unique_ptr<State> state, AudioInfo info, int target_rate)
    : state_(std::move(state)), info_(std::move(info)), target_rate_(target_rate) {}

AudioFileReader::~AudioFileReader() = default;

double AudioFileReader::declared_seconds() const {
  const int64_t declared = DeclaredFrames(state_->sf);
  return declared < 0 ? -1.0 : static_cast<double>(declared) / state_->sf.samplerate;
}

absl::StatusOr<bool> AudioFileReader::Read(int64_t max_frames, std::vector<float>* out) {
  State& st = *state_;
  if (st.done) return false;
  const int channels = st.sf.channels;
  const sf_count_t want =
      static_cast<sf_count_t>(std::clamp<int64_t>(max_frames, 1, int64_t{1} << 20));
  st.block.resize(static_cast<size_t>(want) * channels);
  const sf_count_t got = sf_readf_float(st.file.get(), st.block.data(), want);
  st.mono.clear();
  if (got > 0) {
    AppendMonoFrames(st.block.data(), got, channels, &st.mono);
    st.frames_read += got;
  }
  if (got <= 0) {  // the end: errors and truncation, then the resampler's tail
    LACT_RETURN_IF_ERROR(CheckComplete(st.path, st.file.get(), st.sf, st.frames_read));
    if (st.frames_read == 0) {
      return absl::InvalidArgumentError(absl::StrCat("empty audio (0 samples): '", st.path, "'"));
    }
    st.done = true;
    if (st.resampler.has_value()) {
      const std::vector<float> tail = st.resampler->Flush();
      out->insert(out->end(), tail.begin(), tail.end());
    }
    return false;
  }
  if (st.resampler.has_value()) {
    const std::vector<float> converted = st.resampler->Process(st.mono);
    out->insert(out->end(), converted.begin(), converted.end());
  } else {
    out->insert(out->end(), st.mono.begin(), st.mono.end());
  }
  return true;
}

absl::Status WriteWav16(const std::string& path, const std::vector<float>& samples, int sample_rate,
                        int channels) {
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
