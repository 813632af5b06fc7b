// Turns the bytes of audio_content messages into mono float samples, per encoding:
// LINEAR16 / FLOAT32 PCM (pcm_decoder.h), raw Opus packets (opus_decoder.h) and Ogg Opus
// (ogg_opus_decoder.h). No gRPC or protobuf here: the service maps its enum onto AudioFormat.
//
// Every error is InvalidArgument with a message that says what was wrong with the audio.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact::server {

enum class AudioEncoding { kUnspecified, kLinear16, kFloat32, kOggOpus, kOpus };

const char* AudioEncodingName(AudioEncoding encoding);

// What the client declared in RecognitionConfig.
struct AudioFormat {
  AudioEncoding encoding = AudioEncoding::kUnspecified;
  int sample_rate_hertz = 0;    // see asr.proto for what each encoding needs
  int channel_count = 0;        // 0 or 1: mono, 2: stereo (mixed down)

  // InvalidArgument when the combination is not supported (e.g. OPUS at 44100 Hz).
  absl::Status Validate() const;
  std::string ToString() const;
};

class AudioDecoder {
 public:
  virtual ~AudioDecoder() = default;

  // Decodes the bytes of one audio_content message, appending mono samples ([n], nominally in
  // [-1, 1]) at sample_rate() to `out`. An error leaves the decoder unusable.
  virtual absl::Status Decode(std::string_view bytes, std::vector<float>* out) = 0;
  // End of input: appends what is still held back; an error when the input ended mid-sample
  // or (Ogg Opus) without any audio.
  virtual absl::Status Finish(std::vector<float>* out) = 0;
  // The rate of the samples Decode appends (Hz); 0 while unknown (Ogg Opus before its header).
  virtual int sample_rate() const = 0;
};

// A decoder for `format` (validated). Opus is decoded at `preferred_rate` when libopus can
// produce it (8, 12, 16, 24 or 48 kHz: pass the model's rate to skip resampling), else 48 kHz.
absl::StatusOr<std::unique_ptr<AudioDecoder>> CreateAudioDecoder(const AudioFormat& format,
                                                                 int preferred_rate);

// Averages interleaved channels ([frames * channels]) into mono, appending to `out`.
void AppendMono(const float* interleaved, size_t frames, int channels, std::vector<float>* out);

// True for the rates libopus decodes to.
bool IsOpusRate(int rate);

}  // namespace lact::server
