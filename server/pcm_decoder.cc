#include "server/pcm_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace lact::server {
namespace {

// Little-endian decoding that does not depend on the host's byte order or alignment.
inline float Int16At(const unsigned char* p) {
  const int16_t v =
      static_cast<int16_t>(static_cast<uint16_t>(p[0]) | (static_cast<uint16_t>(p[1]) << 8));
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

absl::Status PcmDecoder::Convert(const unsigned char* p, size_t frames, std::vector<float>* out) {
  const size_t sample_bytes = float32_ ? 4 : 2;
  tmp_.resize(frames * static_cast<size_t>(channels_));
  for (size_t i = 0; i < tmp_.size(); ++i) {
    const float v = float32_ ? Float32At(p + i * sample_bytes) : Int16At(p + i * sample_bytes);
    if (float32_ && !std::isfinite(v)) {
      return absl::InvalidArgumentError("FLOAT32 audio holds a NaN or infinite sample");
    }
    if (float32_ && std::fabs(v) > kMaxFloat32Magnitude) {
      return absl::InvalidArgumentError(
          absl::StrCat("FLOAT32 audio holds the sample ", v,
                       ": FLOAT32 samples are in [-1, 1] (int16 values "
                       "sent as floats? divide by 32768, or send LINEAR16)"));
    }
    tmp_[i] = v;
  }
  AppendMono(tmp_.data(), frames, channels_, out);
  return Appended(static_cast<int64_t>(frames), out);
}

absl::Status PcmDecoder::Decode(std::string_view bytes, std::vector<float>* out) {
  BeginDecode();
  const size_t fb = frame_bytes();
  if (!carry_.empty()) {  // complete the frame the previous message ended inside
    const size_t take = std::min(fb - carry_.size(), bytes.size());
    carry_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (carry_.size() < fb) return absl::OkStatus();
    if (absl::Status s = Convert(reinterpret_cast<const unsigned char*>(carry_.data()), 1, out);
        !s.ok()) {
      return s;
    }
    carry_.clear();
  }
  const size_t frames = bytes.size() / fb;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (size_t at = 0; at < frames; at += kBlockFrames) {
    const size_t n = std::min(kBlockFrames, frames - at);
    if (absl::Status s = Convert(p + at * fb, n, out); !s.ok()) return s;
  }
  carry_.assign(bytes.data() + frames * fb, bytes.size() - frames * fb);
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
