// Turns the bytes of audio_content messages into mono float samples, per encoding:
// LINEAR16 / FLOAT32 PCM (pcm_decoder.h), raw Opus packets (opus_decoder.h) and Ogg Opus
// (ogg_opus_decoder.h). No gRPC or protobuf here: the service maps its enum onto AudioFormat.
//
// Every error is InvalidArgument with a message that says what was wrong with the audio, but for
// OutOfRange past the caller's bound (set_max_samples_per_decode) and the piece sink's own errors.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact::server {

enum class AudioEncoding { kUnspecified, kLinear16, kFloat32, kOggOpus, kOpus };

const char* AudioEncodingName(AudioEncoding encoding);

// What the client declared in RecognitionConfig.
struct AudioFormat {
  AudioEncoding encoding = AudioEncoding::kUnspecified;
  int sample_rate_hertz = 0;  // see asr.proto for what each encoding needs
  int channel_count = 0;      // 0 or 1: mono, 2: stereo (mixed down)

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

  // Bounds what one Decode call may append: once it has appended more than `max_samples`, it
  // stops and returns OutOfRange (the caller's duration limit is crossed; the rest of the bytes
  // is not decoded, and `out` may hold up to one Opus packet, 120 ms, past the bound). Needed
  // for Ogg Opus, whose output is not bounded by its input: a page of 2-byte packets of 120 ms
  // decodes to ~620 samples per byte at 16 kHz (~1,850 at 48 kHz), so one 4 MB message could
  // allocate 10 GB or more before anything checked the stream's duration. Default: unbounded.
  void set_max_samples_per_decode(int64_t max_samples) { max_samples_per_decode_ = max_samples; }

  // Decoded audio in pieces: with a sink set, Decode hands `out` to it (all it holds) whenever
  // it holds at least `piece_samples` samples, and clears it; what is left at the end of Decode
  // stays in `out`. The sink's error ends Decode with that error. So the memory one message
  // takes is about one piece, not the message's whole audio (which for Ogg Opus can be
  // thousands of samples per byte), and the sink can hold the decoder back (the server's
  // backpressure). PCM is cut into pieces too; raw Opus (one packet, <= 120 ms) needs none.
  using PieceSink = std::function<absl::Status(std::vector<float>* samples)>;
  void set_piece_sink(size_t piece_samples, PieceSink sink) {
    piece_samples_ = piece_samples;
    piece_sink_ = std::move(sink);
  }

 protected:
  // For Decode implementations: call at the start of Decode...
  void BeginDecode() { appended_in_decode_ = 0; }
  // ...and after appending `added` samples to `out`: OutOfRange past max_samples_per_decode,
  // else hands `out` to the piece sink when it is long enough.
  absl::Status Appended(int64_t added, std::vector<float>* out);

  int64_t max_samples_per_decode_ = std::numeric_limits<int64_t>::max();

 private:
  int64_t appended_in_decode_ = 0;
  size_t piece_samples_ = 0;
  PieceSink piece_sink_;
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
