#include "server/pcm_decoder.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace lact::server {
namespace {

// Little-endian decoding that does not depend on the host's byte order or alignment.
inline float Int16At(const unsigned char* p) {
  const int16_t v = static_cast<int16_t>(static_cast<uint16_t>(p[0]) | (static_cast<uint16_t>(p[1]) << 8));
  return static_cast<float>(v) / 32768.0f;
}
inline float Float32At(const unsigned char* p) {
  const uint32_t bits = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                        (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace

absl::Status PcmDecoder::Decode(std::string_view bytes, std::vector<float>* out) {
  const size_t fb = frame_bytes();
  const size_t sample_bytes = float32_ ? 4 : 2;
  std::string joined;
  if (!carry_.empty()) {
    joined = carry_;
    joined.append(bytes.data(), bytes.size());
    bytes = joined;
  }
  const size_t frames = bytes.size() / fb;
  const size_t used = frames * fb;
  tmp_.resize(frames * static_cast<size_t>(channels_));
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (size_t i = 0; i < tmp_.size(); ++i) {
    const float v = float32_ ? Float32At(p + i * sample_bytes) : Int16At(p + i * sample_bytes);
    if (float32_ && !std::isfinite(v)) {
      return absl::InvalidArgumentError("FLOAT32 audio holds a NaN or infinite sample");
    }
    tmp_[i] = v;
  }
  AppendMono(tmp_.data(), frames, channels_, out);
  carry_.assign(bytes.data() + used, bytes.size() - used);
  return absl::OkStatus();
}

absl::Status PcmDecoder::Finish(std::vector<float>* out) {
  if (!carry_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        float32_ ? "FLOAT32" : "LINEAR16", " audio ends inside a sample frame: ", carry_.size(),
        " trailing bytes, a frame is ", frame_bytes(), " bytes (", channels_, " channel(s))"));
  }
  return absl::OkStatus();
}

}  // namespace lact::server
