// Raw Opus (RFC 6716): each audio_content message is exactly one Opus packet, as an RTP or
// WebRTC sender produces them. Decoded with libopus straight to the output rate (no resampling
// when it is one of 8/12/16/24/48 kHz).
#pragma once

#include <vector>

#include "server/audio_decoder.h"

struct OpusDecoder;  // libopus

namespace lact::server {

// The largest Opus packet accepted: six 20 ms frames of at most 1275 bytes plus the code-3
// header (RFC 6716, 3.2 and 3.4). Longer packets are refused, in Ogg before they are buffered.
inline constexpr size_t kMaxOpusPacketBytes = 1275 * 6 + 7;

// A libopus decoder with its output mixed down to mono. Shared by the raw and the Ogg decoders.
class OpusPacketDecoder {
 public:
  // `output_rate` must satisfy IsOpusRate; `channels` 1 or 2.
  static absl::StatusOr<OpusPacketDecoder> Create(int output_rate, int channels);
  OpusPacketDecoder(OpusPacketDecoder&&) noexcept;
  OpusPacketDecoder& operator=(OpusPacketDecoder&&) noexcept;
  ~OpusPacketDecoder();

  // Decodes one packet, appending its mono samples to `out`; returns how many were appended.
  // `packet_index` only names the packet in the error message.
  absl::StatusOr<int> DecodePacket(const unsigned char* data, size_t size, int64_t packet_index,
                                   std::vector<float>* out);
  // Output gain (Ogg Opus header), in Q7.8 dB.
  absl::Status SetGain(int q78_db);
  int output_rate() const { return output_rate_; }

 private:
  OpusPacketDecoder(::OpusDecoder* decoder, int output_rate, int channels);
  ::OpusDecoder* decoder_ = nullptr;
  int output_rate_ = 0;
  int channels_ = 0;
  std::vector<float> pcm_;  // [max frame * channels] interleaved scratch
};

class RawOpusDecoder final : public AudioDecoder {
 public:
  explicit RawOpusDecoder(OpusPacketDecoder decoder) : decoder_(std::move(decoder)) {}

  // Empty messages are skipped (they carry no packet).
  absl::Status Decode(std::string_view bytes, std::vector<float>* out) override;
  absl::Status Finish(std::vector<float>*) override { return absl::OkStatus(); }
  int sample_rate() const override { return decoder_.output_rate(); }

 private:
  OpusPacketDecoder decoder_;
  int64_t packets_ = 0;
};

}  // namespace lact::server
