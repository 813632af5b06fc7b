#include "server/opus_decoder.h"

#include <opus/opus.h>

#include "absl/strings/str_cat.h"

namespace lact::server {

absl::StatusOr<OpusPacketDecoder> OpusPacketDecoder::Create(int output_rate, int channels) {
  if (!IsOpusRate(output_rate)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Opus cannot be decoded at ", output_rate, " Hz"));
  }
  if (channels != 1 && channels != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("Opus with ", channels, " channels is not supported (1 or 2)"));
  }
  int error = OPUS_OK;
  ::OpusDecoder* d = opus_decoder_create(output_rate, channels, &error);
  if (d == nullptr || error != OPUS_OK) {
    return absl::InternalError(absl::StrCat("opus_decoder_create: ", opus_strerror(error)));
  }
  return OpusPacketDecoder(d, output_rate, channels);
}

OpusPacketDecoder::OpusPacketDecoder(::OpusDecoder* decoder, int output_rate, int channels)
    : decoder_(decoder), output_rate_(output_rate), channels_(channels) {
  // The longest Opus packet is 120 ms.
  pcm_.resize(static_cast<size_t>(output_rate_) * 120 / 1000 * channels_);
}

OpusPacketDecoder::OpusPacketDecoder(OpusPacketDecoder&& o) noexcept
    : decoder_(o.decoder_),
      output_rate_(o.output_rate_),
      channels_(o.channels_),
      pcm_(std::move(o.pcm_)) {
  o.decoder_ = nullptr;
}

OpusPacketDecoder& OpusPacketDecoder::operator=(OpusPacketDecoder&& o) noexcept {
  if (this != &o) {
    if (decoder_ != nullptr) opus_decoder_destroy(decoder_);
    decoder_ = o.decoder_;
    output_rate_ = o.output_rate_;
    channels_ = o.channels_;
    pcm_ = std::move(o.pcm_);
    o.decoder_ = nullptr;
  }
  return *this;
}

OpusPacketDecoder::~OpusPacketDecoder() {
  if (decoder_ != nullptr) opus_decoder_destroy(decoder_);
}

absl::Status OpusPacketDecoder::SetGain(int q78_db) {
  const int r = opus_decoder_ctl(decoder_, OPUS_SET_GAIN(q78_db));
  if (r != OPUS_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("Opus output gain ", q78_db, ": ", opus_strerror(r)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> OpusPacketDecoder::DecodePacket(const unsigned char* data, size_t size,
                                                    int64_t packet_index, std::vector<float>* out) {
  if (size > kMaxOpusPacketBytes) {
    return absl::InvalidArgumentError(absl::StrCat("undecodable Opus packet ", packet_index, ": ",
                                                   size, " bytes is longer than any Opus packet"));
  }
  const int max_frames = static_cast<int>(pcm_.size()) / channels_;
  const int n = opus_decode_float(decoder_, data, static_cast<opus_int32>(size), pcm_.data(),
                                  max_frames, /*decode_fec=*/0);
  if (n < 0) {
    return absl::InvalidArgumentError(absl::StrCat("undecodable Opus packet ", packet_index, " (",
                                                   size, " bytes): ", opus_strerror(n)));
  }
  AppendMono(pcm_.data(), static_cast<size_t>(n), channels_, out);
  return n;
}

absl::Status RawOpusDecoder::Decode(std::string_view bytes, std::vector<float>* out) {
  BeginDecode();
  if (bytes.empty()) return absl::OkStatus();
  auto n = decoder_.DecodePacket(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                                 packets_++, out);
  if (!n.ok()) return n.status();
  return Appended(*n, out);
}

}  // namespace lact::server
