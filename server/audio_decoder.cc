#include "server/audio_decoder.h"

#include "absl/strings/str_cat.h"
#include "server/ogg_opus_decoder.h"
#include "server/opus_decoder.h"
#include "server/pcm_decoder.h"

namespace lact::server {

const char* AudioEncodingName(AudioEncoding encoding) {
  switch (encoding) {
    case AudioEncoding::kLinear16: return "LINEAR16";
    case AudioEncoding::kFloat32: return "FLOAT32";
    case AudioEncoding::kOggOpus: return "OGG_OPUS";
    case AudioEncoding::kOpus: return "OPUS";
    case AudioEncoding::kUnspecified: break;
  }
  return "ENCODING_UNSPECIFIED";
}

bool IsOpusRate(int rate) {
  return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000;
}

absl::Status AudioFormat::Validate() const {
  auto bad = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (channel_count < 0 || channel_count > 2) {
    return bad("audio_channel_count ", channel_count,
               " is not supported (0 or 1: mono, 2: stereo)");
  }
  switch (encoding) {
    case AudioEncoding::kUnspecified:
      return bad("encoding is ENCODING_UNSPECIFIED: set LINEAR16, FLOAT32, OGG_OPUS or OPUS");
    case AudioEncoding::kLinear16:
    case AudioEncoding::kFloat32:
      if (sample_rate_hertz < 8000 || sample_rate_hertz > 192000) {
        return bad("sample_rate_hertz ", sample_rate_hertz, " is not supported for ",
                   AudioEncodingName(encoding), " (8000..192000)");
      }
      return absl::OkStatus();
    case AudioEncoding::kOpus:
      if (!IsOpusRate(sample_rate_hertz)) {
        return bad("sample_rate_hertz ", sample_rate_hertz,
                   " is not supported for OPUS (8000, 12000, 16000, 24000 or 48000)");
      }
      return absl::OkStatus();
    case AudioEncoding::kOggOpus:
      if (sample_rate_hertz != 0 && !IsOpusRate(sample_rate_hertz)) {
        return bad("sample_rate_hertz ", sample_rate_hertz,
                   " is not supported for OGG_OPUS (0, 8000, 12000, 16000, 24000 or 48000)");
      }
      return absl::OkStatus();
  }
  return bad("unknown encoding ", static_cast<int>(encoding));
}

std::string AudioFormat::ToString() const {
  return absl::StrCat(AudioEncodingName(encoding), "/", sample_rate_hertz, "Hz/",
                      channel_count == 0 ? 1 : channel_count, "ch");
}

absl::StatusOr<std::unique_ptr<AudioDecoder>> CreateAudioDecoder(const AudioFormat& format,
                                                                 int preferred_rate) {
  if (absl::Status s = format.Validate(); !s.ok()) return s;
  const int channels = format.channel_count == 0 ? 1 : format.channel_count;
  const int opus_rate = IsOpusRate(preferred_rate) ? preferred_rate : 48000;
  switch (format.encoding) {
    case AudioEncoding::kLinear16:
    case AudioEncoding::kFloat32:
      return std::make_unique<PcmDecoder>(format.encoding == AudioEncoding::kFloat32,
                                          format.sample_rate_hertz, channels);
    case AudioEncoding::kOpus: {
      auto d = OpusPacketDecoder::Create(opus_rate, channels);
      if (!d.ok()) return d.status();
      return std::make_unique<RawOpusDecoder>(std::move(*d));
    }
    case AudioEncoding::kOggOpus:
      return std::make_unique<OggOpusDecoder>(opus_rate, format.channel_count);
    case AudioEncoding::kUnspecified: break;
  }
  return absl::InvalidArgumentError("unsupported encoding");
}

absl::Status AudioDecoder::Appended(int64_t added, std::vector<float>* out) {
  appended_in_decode_ += added;
  if (appended_in_decode_ > max_samples_per_decode_) {
    return absl::OutOfRangeError(absl::StrCat("the audio decodes to more than ",
                                              max_samples_per_decode_, " samples in one message"));
  }
  if (piece_sink_ && !out->empty() && out->size() >= piece_samples_) {
    absl::Status s = piece_sink_(out);
    out->clear();
    return s;
  }
  return absl::OkStatus();
}

void AppendMono(const float* interleaved, size_t frames, int channels, std::vector<float>* out) {
  if (channels == 1) {
    out->insert(out->end(), interleaved, interleaved + frames);
    return;
  }
  // Averaged in double, as core's ReadAudioFile mixes files down, so both give the same mono.
  out->reserve(out->size() + frames);
  for (size_t i = 0; i < frames; ++i) {
    double sum = 0;
    for (int c = 0; c < channels; ++c) sum += interleaved[i * channels + c];
    out->push_back(static_cast<float>(sum / channels));
  }
}

}  // namespace lact::server
