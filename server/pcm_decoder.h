// LINEAR16 (little-endian int16, value / 32768) and FLOAT32 (little-endian IEEE float) PCM with
// interleaved channels. A sample frame may be split across messages: the partial bytes are kept
// until the next message.
#pragma once

#include <string>

#include "server/audio_decoder.h"

namespace lact::server {

class PcmDecoder final : public AudioDecoder {
 public:
  PcmDecoder(bool float32, int sample_rate, int channels)
      : float32_(float32), sample_rate_(sample_rate), channels_(channels) {}

  absl::Status Decode(std::string_view bytes, std::vector<float>* out) override;
  absl::Status Finish(std::vector<float>* out) override;
  int sample_rate() const override { return sample_rate_; }

 private:
  size_t frame_bytes() const { return (float32_ ? 4 : 2) * static_cast<size_t>(channels_); }

  bool float32_;
  int sample_rate_;
  int channels_;
  std::string carry_;      // bytes of an incomplete sample frame
  std::vector<float> tmp_;  // interleaved samples of the current message
};

}  // namespace lact::server
