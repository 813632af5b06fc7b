// LINEAR16 (little-endian int16, value / 32768) and FLOAT32 (little-endian IEEE float, nominally
// in [-1, 1]) PCM with interleaved channels. A FLOAT32 sample that is not finite or whose
// magnitude exceeds kMaxFloat32Magnitude is INVALID_ARGUMENT: such audio is not in the declared
// scale (typically int16 values sent as floats), and the model would transcribe it silently. A
// sample frame may be split across messages: the partial bytes are kept until the next message.
#pragma once

#include <string>

#include "server/audio_decoder.h"

namespace lact::server {

// 4.0 = 12 dB above full scale: room for the overshoot of resampled or filtered audio.
inline constexpr float kMaxFloat32Magnitude = 4.0f;

class PcmDecoder final : public AudioDecoder {
 public:
  PcmDecoder(bool float32, int sample_rate, int channels)
      : float32_(float32), sample_rate_(sample_rate), channels_(channels) {}

  absl::Status Decode(std::string_view bytes, std::vector<float>* out) override;
  absl::Status Finish(std::vector<float>* out) override;
  int sample_rate() const override { return sample_rate_; }

 private:
  // Frames converted at a time, so the scratch buffer stays small whatever the message size.
  static constexpr size_t kBlockFrames = 8192;

  size_t frame_bytes() const { return (float32_ ? 4 : 2) * static_cast<size_t>(channels_); }
  // Converts `frames` whole frames at `p`, mixes them to mono onto `out` (then Appended).
  absl::Status Convert(const unsigned char* p, size_t frames, std::vector<float>* out);

  bool float32_;
  int sample_rate_;
  int channels_;
  std::string carry_;       // bytes of an incomplete sample frame
  std::vector<float> tmp_;  // interleaved samples of the current block
};

}  // namespace lact::server
