// Reading audio files into the model's input format, and writing small WAV files.
//
// Reading goes through libsndfile (WAV, FLAC, Ogg/Vorbis, Ogg/Opus where the library has it, AIFF,
// ...): samples come back as float32 with libsndfile's normalisation, i.e. 16-bit PCM is
// int16 / 32768 exactly, so values lie in [-1, 1). Multi-channel audio is mixed down to mono by
// averaging the channels, then resampled with soxr (Resampler::Quality::kHigh) when the file's
// rate differs from the requested one. Resampled values are not clipped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact {

// What a file holds, before any mix-down or resampling.
struct AudioInfo {
  int sample_rate = 0;  // Hz
  int channels = 0;
  int64_t frames = 0;     // samples per channel
  double duration_s = 0;  // frames / sample_rate
  std::string
      format;  // libsndfile's name of the major format, e.g. "FLAC (FLAC Lossless Audio Codec)"
};

// Pass as `target_sample_rate` to keep the file's own rate.
inline constexpr int kNativeSampleRate = 0;

// The sample rates a file may declare (Hz). Outside them a header is corrupt or hostile rather
// than audio: a 2 KB WAV that says 1 Hz holds half an hour, which resampled to 16 kHz and
// decoded offline asked for 40 GB. InvalidArgument, before any sample is read.
inline constexpr int kMinFileSampleRate = 1000;
inline constexpr int kMaxFileSampleRate = 768000;

// Reads `path` as mono float32 at `target_sample_rate` Hz ([n]). Errors, each naming the path:
// NotFound (no such file), InvalidArgument (not a regular file, not audio libsndfile can decode,
// a sample rate outside [kMinFileSampleRate, kMaxFileSampleRate], a decoding error, a FLAC file
// that holds fewer samples than its header declares (truncated), "empty audio" with zero
// samples, target rate < 0). `info`, when given, receives the file's original format.
absl::StatusOr<std::vector<float>> ReadAudioFile(const std::string& path,
                                                 int target_sample_rate = 16000,
                                                 AudioInfo* info = nullptr);

// The format of `path` without decoding the samples (same errors as ReadAudioFile, except that
// an empty file is not an error here).
absl::StatusOr<AudioInfo> ProbeAudioFile(const std::string& path);

// Reads a file a block at a time as mono float32 at a target rate (libsndfile, then the streaming
// Resampler: the same signal as ReadAudioFile to float rounding), so a file of any length is read
// in bounded memory. The same errors as ReadAudioFile, the truncation check included (at the end).
class AudioFileReader {
 public:
  static absl::StatusOr<std::unique_ptr<AudioFileReader>> Open(const std::string& path,
                                                               int target_sample_rate = 16000);
  ~AudioFileReader();
  AudioFileReader(const AudioFileReader&) = delete;
  AudioFileReader& operator=(const AudioFileReader&) = delete;

  // The header: rate, channels, format, and `frames` as declared (may be a guess for some
  // formats; see declared_seconds).
  const AudioInfo& info() const { return info_; }
  // The header's duration in seconds; a negative value when the header does not say.
  double declared_seconds() const;
  // The rate of the samples Read appends.
  int sample_rate() const { return target_rate_; }
  // Appends the samples of up to `max_frames` more input frames ([m] mono at sample_rate()) to
  // `out`. Returns false once the file is exhausted (the resampler's tail included), true while
  // more may follow.
  absl::StatusOr<bool> Read(int64_t max_frames, std::vector<float>* out);

 private:
  struct State;
  explicit AudioFileReader(std::unique_ptr<State> state, AudioInfo info, int target_rate);
  std::unique_ptr<State> state_;
  AudioInfo info_;
  int target_rate_ = 0;
};

// Writes 16-bit PCM WAV. `samples` are interleaved ([frames * channels]) floats; each is stored as
// round(x * 32768) clamped to [-32768, 32767], so values k / 32768 read back exactly.
absl::Status WriteWav16(const std::string& path, const std::vector<float>& samples, int sample_rate,
                        int channels = 1);

}  // namespace lact
