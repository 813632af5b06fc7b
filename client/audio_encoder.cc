#include "client/audio_encoder.h"

#include <opus.h>
#include <opusenc.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace lact::eval {
namespace {

bool IsOpusRate(int rate) {
  return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000;
}

std::vector<EncodedChunk> EncodeLinear16(const std::vector<float>& audio,
                                         const EncoderOptions& options) {
  const size_t per_chunk = std::max<size_t>(
      1, static_cast<size_t>(options.sample_rate) * options.chunk_duration_ms / 1000);
  std::vector<EncodedChunk> chunks;
  for (size_t at = 0; at < audio.size(); at += per_chunk) {
    const size_t n = std::min(per_chunk, audio.size() - at);
    EncodedChunk chunk;
    chunk.bytes.resize(2 * n);
    for (size_t i = 0; i < n; ++i) {
      const float x = std::round(audio[at + i] * 32768.0f);
      const int16_t v = static_cast<int16_t>(std::clamp(x, -32768.0f, 32767.0f));
      const uint16_t u = static_cast<uint16_t>(v);
      chunk.bytes[2 * i] = static_cast<char>(u & 0xFF);
      chunk.bytes[2 * i + 1] = static_cast<char>(u >> 8);
    }
    chunk.audio_end_s = static_cast<double>(at + n) / options.sample_rate;
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

struct OpusEncoderDeleter {
  void operator()(OpusEncoder* e) const { opus_encoder_destroy(e); }
};

absl::StatusOr<std::vector<EncodedChunk>> EncodeOpus(const std::vector<float>& audio,
                                                     const EncoderOptions& options) {
  int error = OPUS_OK;
  std::unique_ptr<OpusEncoder, OpusEncoderDeleter> encoder(
      opus_encoder_create(options.sample_rate, 1, OPUS_APPLICATION_AUDIO, &error));
  if (error != OPUS_OK) {
    return absl::InternalError(absl::StrCat("opus_encoder_create: ", opus_strerror(error)));
  }
  opus_encoder_ctl(encoder.get(), OPUS_SET_BITRATE(options.opus_bitrate_bps));
  const size_t frame = static_cast<size_t>(options.sample_rate) * options.opus_frame_ms / 1000;
  std::vector<float> pcm(frame);
  std::vector<unsigned char> packet(4000);  // the largest packet libopus recommends
  std::vector<EncodedChunk> chunks;
  for (size_t at = 0; at < audio.size(); at += frame) {
    const size_t n = std::min(frame, audio.size() - at);
    std::fill(pcm.begin(), pcm.end(), 0.0f);
    std::copy(audio.begin() + at, audio.begin() + at + n, pcm.begin());
    const opus_int32 bytes =
        opus_encode_float(encoder.get(), pcm.data(), static_cast<int>(frame), packet.data(),
                          static_cast<opus_int32>(packet.size()));
    if (bytes < 0) {
      return absl::InternalError(absl::StrCat("opus_encode_float: ", opus_strerror(bytes)));
    }
    EncodedChunk chunk;
    chunk.bytes.assign(reinterpret_cast<const char*>(packet.data()), static_cast<size_t>(bytes));
    chunk.audio_end_s = static_cast<double>(at + n) / options.sample_rate;
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

// Collects libopusenc's output pages.
struct OggSink {
  std::string bytes;
  static int Write(void* user, const unsigned char* ptr, opus_int32 len) {
    static_cast<OggSink*>(user)->bytes.append(reinterpret_cast<const char*>(ptr),
                                              static_cast<size_t>(len));
    return 0;
  }
  static int Close(void*) { return 0; }
};

struct OggEncoderDeleter {
  void operator()(OggOpusEnc* e) const { ope_encoder_destroy(e); }
};
struct CommentsDeleter {
  void operator()(OggOpusComments* c) const { ope_comments_destroy(c); }
};

absl::StatusOr<std::vector<EncodedChunk>> EncodeOggOpus(const std::vector<float>& audio,
                                                        const EncoderOptions& options) {
  std::unique_ptr<OggOpusComments, CommentsDeleter> comments(ope_comments_create());
  if (comments == nullptr) return absl::InternalError("ope_comments_create failed");
  OggSink sink;
  OpusEncCallbacks callbacks{&OggSink::Write, &OggSink::Close};
  int error = OPE_OK;
  std::unique_ptr<OggOpusEnc, OggEncoderDeleter> encoder(ope_encoder_create_callbacks(
      &callbacks, &sink, comments.get(), options.sample_rate, 1, 0, &error));
  if (encoder == nullptr || error != OPE_OK) {
    return absl::InternalError(absl::StrCat("ope_encoder_create_callbacks: ", ope_strerror(error)));
  }
  // Encode each frame as soon as it is complete, and flush a page at least every chunk (both
  // delays are in 48 kHz samples), so bytes leave about when a live encoder would send them.
  ope_encoder_ctl(encoder.get(), OPE_SET_DECISION_DELAY(0));
  ope_encoder_ctl(encoder.get(), OPE_SET_MUXING_DELAY(options.chunk_duration_ms * 48));
  ope_encoder_ctl(encoder.get(), OPUS_SET_BITRATE(options.opus_bitrate_bps));
  if (int e = ope_encoder_flush_header(encoder.get()); e != OPE_OK) {
    return absl::InternalError(absl::StrCat("ope_encoder_flush_header: ", ope_strerror(e)));
  }
  const size_t per_chunk = std::max<size_t>(
      1, static_cast<size_t>(options.sample_rate) * options.chunk_duration_ms / 1000);
  std::vector<EncodedChunk> chunks;
  size_t emitted = 0;  // bytes of sink.bytes already put into chunks
  auto take = [&](double audio_end_s) {
    if (sink.bytes.size() == emitted) return;  // nothing new yet: merged into the next message
    chunks.push_back(EncodedChunk{sink.bytes.substr(emitted), audio_end_s});
    emitted = sink.bytes.size();
  };
  for (size_t at = 0; at < audio.size(); at += per_chunk) {
    const size_t n = std::min(per_chunk, audio.size() - at);
    if (int e = ope_encoder_write_float(encoder.get(), audio.data() + at, static_cast<int>(n));
        e != OPE_OK) {
      return absl::InternalError(absl::StrCat("ope_encoder_write_float: ", ope_strerror(e)));
    }
    take(static_cast<double>(at + n) / options.sample_rate);
  }
  if (int e = ope_encoder_drain(encoder.get()); e != OPE_OK) {
    return absl::InternalError(absl::StrCat("ope_encoder_drain: ", ope_strerror(e)));
  }
  const double total_s = static_cast<double>(audio.size()) / options.sample_rate;
  if (sink.bytes.size() > emitted) {
    if (!chunks.empty() && chunks.back().audio_end_s >= total_s) {
      chunks.back().bytes += sink.bytes.substr(emitted);  // the tail goes with the last audio
    } else {
      take(total_s);
    }
  }
  return chunks;
}

}  // namespace

absl::StatusOr<AudioEncoding> ParseAudioEncoding(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
  if (lower == "linear16") return AudioEncoding::kLinear16;
  if (lower == "ogg_opus") return AudioEncoding::kOggOpus;
  if (lower == "opus") return AudioEncoding::kOpus;
  return absl::InvalidArgumentError(absl::StrCat("unknown encoding '", std::string(name),
                                                 "' (expected linear16, ogg_opus or opus)"));
}

std::string_view AudioEncodingName(AudioEncoding encoding) {
  switch (encoding) {
    case AudioEncoding::kLinear16: return "linear16";
    case AudioEncoding::kOggOpus: return "ogg_opus";
    case AudioEncoding::kOpus: return "opus";
  }
  return "?";
}

absl::Status EncoderOptions::Validate() const {
  if (chunk_duration_ms <= 0 || chunk_duration_ms > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk duration must be in 1..10000 ms, got ", chunk_duration_ms));
  }
  if (sample_rate <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad sample rate ", sample_rate));
  }
  if (encoding != AudioEncoding::kLinear16) {
    if (!IsOpusRate(sample_rate)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Opus encodes 8000, 12000, 16000, 24000 or 48000 Hz audio, got ", sample_rate));
    }
    if (opus_bitrate_bps < 500 || opus_bitrate_bps > 512000) {
      return absl::InvalidArgumentError(
          absl::StrCat("Opus bitrate must be in 500..512000 bps, got ", opus_bitrate_bps));
    }
  }
  if (encoding == AudioEncoding::kOpus && opus_frame_ms != 10 && opus_frame_ms != 20 &&
      opus_frame_ms != 40 && opus_frame_ms != 60) {
    return absl::InvalidArgumentError(
        absl::StrCat("Opus frame must be 10, 20, 40 or 60 ms, got ", opus_frame_ms));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EncodedChunk>> EncodeForStreaming(const std::vector<float>& audio,
                                                             const EncoderOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  switch (options.encoding) {
    case AudioEncoding::kLinear16: return EncodeLinear16(audio, options);
    case AudioEncoding::kOpus: return EncodeOpus(audio, options);
    case AudioEncoding::kOggOpus: return EncodeOggOpus(audio, options);
  }
  return absl::InvalidArgumentError("unknown encoding");
}

}  // namespace lact::eval
