// Turns mono float audio into the audio_content messages of one stream, in the encodings of
// lact.asr.v1.AudioEncoding that the eval client sends:
//
//   LINEAR16  little-endian int16 PCM at the audio's rate, one message per --chunk_duration_ms.
//   OPUS      raw Opus (libopus) at the audio's rate (8/12/16/24/48 kHz, which Opus takes
//             natively: no resampling), one packet of --opus_frame_ms per message, as RFC 6716
//             packets are sent over a datagram transport. The last frame is zero-padded.
//   OGG_OPUS  an Ogg Opus stream (libopusenc, RFC 7845) cut into messages wherever the
//             encoder's output has reached after each --chunk_duration_ms of audio. libopusenc
//             hands out whole pages, so cuts fall between pages here (the API allows any byte);
//             the first message carries the OpusHead/OpusTags headers, pages are flushed at most
//             one chunk duration late, and a chunk that completed no page is merged into the
//             next message.
//
// Each message carries `audio_end_s`, the amount of the stream's audio it completes, which the
// send schedule (stream_sender.h) and the latency attribution use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact::eval {

enum class AudioEncoding { kLinear16, kOggOpus, kOpus };

// "linear16", "ogg_opus", "opus" (case-insensitive).
absl::StatusOr<AudioEncoding> ParseAudioEncoding(std::string_view name);
std::string_view AudioEncodingName(AudioEncoding encoding);

struct EncoderOptions {
  AudioEncoding encoding = AudioEncoding::kLinear16;
  int sample_rate = 16000;       // Hz, of the input samples (and of the stream's config)
  int chunk_duration_ms = 100;   // LINEAR16 / OGG_OPUS message size in audio time
  int opus_frame_ms = 20;        // OPUS packet duration: 10, 20, 40 or 60
  int opus_bitrate_bps = 32000;  // OPUS / OGG_OPUS target bitrate

  absl::Status Validate() const;
};

// One audio_content message.
struct EncodedChunk {
  std::string bytes;
  double audio_end_s = 0;  // seconds of the stream's audio sent once this message is sent
};

// All the messages of one stream, in order. `audio` is mono [-1, 1] at options.sample_rate.
absl::StatusOr<std::vector<EncodedChunk>> EncodeForStreaming(const std::vector<float>& audio,
                                                             const EncoderOptions& options);

}  // namespace lact::eval
