#include "server/ogg_opus_decoder.h"

#include <ogg/ogg.h>

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace lact::server {
namespace {

// The largest Ogg page: 27-byte header, 255 lacing values, 255 segments of 255 bytes.
constexpr int64_t kMaxOggPageBytes = 27 + 255 + 255 * 255;

uint16_t U16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t U32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

}  // namespace

struct OggOpusDecoder::OggState {
  ogg_sync_state sync;
  ogg_stream_state stream;
  bool stream_init = false;
  bool page_seen = false;
  OggState() { ogg_sync_init(&sync); }
  ~OggState() {
    if (stream_init) ogg_stream_clear(&stream);
    ogg_sync_clear(&sync);
  }
};

OggOpusDecoder::OggOpusDecoder(int output_rate, int expected_channels)
    : output_rate_(output_rate), expected_channels_(expected_channels), ogg_(new OggState) {}

OggOpusDecoder::~OggOpusDecoder() = default;

absl::Status OggOpusDecoder::Decode(std::string_view bytes, std::vector<float>* out) {
  BeginDecode();
  if (bytes.empty()) return absl::OkStatus();
  if (prefix_.size() < 4) {  // an Ogg stream starts with the capture pattern "OggS"
    prefix_.append(bytes.substr(0, 4 - prefix_.size()));
    if (std::string_view("OggS").substr(0, prefix_.size()) != prefix_) {
      return absl::InvalidArgumentError(
          "not an Ogg Opus stream: it does not start with an Ogg page ('OggS')");
    }
  }
  // libogg copies what it is given into its sync buffer: hand it at most about a page at a
  // time, taking the pages out in between, so that buffer never holds more than two pages
  // whatever the message size.
  while (!bytes.empty()) {
    const std::string_view slice = bytes.substr(0, static_cast<size_t>(kMaxOggPageBytes));
    bytes.remove_prefix(slice.size());
    bytes_in_ += static_cast<int64_t>(slice.size());
    char* buffer = ogg_sync_buffer(&ogg_->sync, static_cast<long>(slice.size()));
    if (buffer == nullptr) return absl::InternalError("ogg_sync_buffer failed");
    std::memcpy(buffer, slice.data(), slice.size());
    ogg_sync_wrote(&ogg_->sync, static_cast<long>(slice.size()));
    if (absl::Status s = TakePages(static_cast<int64_t>(slice.size()), out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status OggOpusDecoder::TakePages(int64_t slice_bytes, std::vector<float>* out) {
  ogg_page page;
  while (true) {
    const int r = ogg_sync_pageout(&ogg_->sync, &page);
    if (r == 0) break;
    if (r < 0) {
      return absl::InvalidArgumentError(
          ogg_->page_seen
              ? absl::StrCat(
                    "corrupt Ogg Opus stream: bad page (capture pattern or CRC) after byte ",
                    bytes_in_ - slice_bytes)
              : std::string("not an Ogg Opus stream: its first bytes are not a valid Ogg page "
                            "(capture pattern 'OggS' followed by a bad header or CRC)"));
    }
    ogg_->page_seen = true;
    if (!ogg_->stream_init) {
      if (!ogg_page_bos(&page)) {
        return absl::InvalidArgumentError(
            "not an Ogg Opus stream: the first page is not a beginning-of-stream page");
      }
      ogg_stream_init(&ogg_->stream, ogg_page_serialno(&page));
      ogg_->stream_init = true;
    }
    if (ogg_page_serialno(&page) != ogg_->stream.serialno) continue;  // another logical stream
    if (ogg_stream_pagein(&ogg_->stream, &page) != 0) {
      return absl::InvalidArgumentError("corrupt Ogg Opus stream: a page does not fit the stream");
    }
    ogg_packet packet;
    while (true) {
      const int p = ogg_stream_packetout(&ogg_->stream, &packet);
      if (p == 0) break;
      if (p < 0) return absl::InvalidArgumentError("corrupt Ogg Opus stream: a page is missing");
      const size_t before = out->size();
      absl::Status s = HandlePacket(packet.packet, static_cast<size_t>(packet.bytes),
                                    packet.e_o_s != 0, packet.granulepos, out);
      // The caller's bounds, per packet: a message of many tiny 120 ms packets stops at the
      // duration limit instead of growing `out` by up to ~1,850 samples per byte, and its audio
      // goes to the piece sink as it is decoded.
      if (s.ok())
        s = Appended(static_cast<int64_t>(out->size()) - static_cast<int64_t>(before), out);
      if (!s.ok()) return s;
    }
    // What is left in the stream is the start of a packet that continues on a later page. A
    // packet longer than any valid one is refused here, before libogg buffers more of it.
    const int64_t open_packet = ogg_->stream.body_fill - ogg_->stream.body_returned;
    const int64_t limit =
        headers_seen_ < 2 ? kMaxOggHeaderPacketBytes : static_cast<int64_t>(kMaxOpusPacketBytes);
    if (open_packet > limit) {
      return absl::InvalidArgumentError(absl::StrCat("Ogg Opus ",
                                                     headers_seen_ == 0   ? "OpusHead"
                                                     : headers_seen_ == 1 ? "OpusTags"
                                                                          : "audio",
                                                     " packet longer than ", limit, " bytes (",
                                                     open_packet, " bytes so far)"));
    }
  }
  const int64_t unconsumed = ogg_->sync.fill - ogg_->sync.returned;
  if (unconsumed > kMaxOggPageBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an Ogg Opus stream: ", unconsumed, " bytes without a complete Ogg page"));
  }
  return absl::OkStatus();
}

absl::Status OggOpusDecoder::ParseHead(const unsigned char* data, size_t size) {
  if (size < 19 || std::memcmp(data, "OpusHead", 8) != 0) {
    return absl::InvalidArgumentError(
        "not an Ogg Opus stream: the first packet is not an OpusHead");
  }
  if ((data[8] >> 4) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported Ogg Opus version ", int{data[8]}));
  }
  const int channels = data[9];
  pre_skip_48k_ = U16(data + 10);
  const int16_t gain = static_cast<int16_t>(U16(data + 16));
  const int family = data[18];
  (void)U32(data + 12);  // the encoder's input rate: informational only
  if (channels < 1 || channels > 2 || (family != 0 && family != 1)) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported Ogg Opus stream: ", channels,
                                                   " channels, mapping family ", family,
                                                   " (mono or stereo only)"));
  }
  if (expected_channels_ > 0 && expected_channels_ != channels) {
    return absl::InvalidArgumentError(absl::StrCat("audio_channel_count is ", expected_channels_,
                                                   " but the Ogg Opus stream has ", channels));
  }
  auto decoder = OpusPacketDecoder::Create(output_rate_, channels);
  if (!decoder.ok()) return decoder.status();
  if (gain != 0) {
    if (absl::Status s = decoder->SetGain(gain); !s.ok()) return s;
  }
  decoder_.emplace(std::move(*decoder));
  skip_remaining_ = static_cast<int64_t>(pre_skip_48k_) * output_rate_ / 48000;
  return absl::OkStatus();
}

absl::Status OggOpusDecoder::HandlePacket(const unsigned char* data, size_t size, bool eos,
                                          int64_t granulepos, std::vector<float>* out) {
  if (headers_seen_ == 0) {
    ++headers_seen_;
    return ParseHead(data, size);
  }
  if (headers_seen_ == 1) {
    ++headers_seen_;
    if (size < 8 || std::memcmp(data, "OpusTags", 8) != 0) {
      return absl::InvalidArgumentError(
          "not an Ogg Opus stream: the second packet is not OpusTags");
    }
    return absl::OkStatus();
  }
  if (ended_) return absl::OkStatus();  // data after the end of the stream is ignored
  const size_t before = out->size();
  auto n = decoder_->DecodePacket(data, size, packets_++, out);
  if (!n.ok()) return n.status();
  int64_t added = static_cast<int64_t>(out->size() - before);
  if (skip_remaining_ > 0) {
    const int64_t drop = std::min(skip_remaining_, added);
    out->erase(out->begin() + static_cast<std::ptrdiff_t>(before),
               out->begin() + static_cast<std::ptrdiff_t>(before + drop));
    skip_remaining_ -= drop;
    added -= drop;
  }
  emitted_ += added;
  if (eos) {
    ended_ = true;
    if (granulepos >= 0) {
      // The last granule position says how many 48 kHz samples the stream really has.
      const int64_t valid_48k = std::max<int64_t>(0, granulepos - pre_skip_48k_);
      // A granule position past anything decoded trims nothing; computed without overflowing
      // (a granule near 2^63 was signed-overflow UB; regression input in tests/fuzz/corpus/
      // fuzz_audio_decoder).
      const int64_t valid = valid_48k > (std::numeric_limits<int64_t>::max() - 24000) / output_rate_
                                ? std::numeric_limits<int64_t>::max()
                                : (valid_48k * output_rate_ + 24000) / 48000;
      const int64_t excess = std::min(added, emitted_ - valid);
      if (excess > 0) {
        out->resize(out->size() - static_cast<size_t>(excess));
        emitted_ -= excess;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status OggOpusDecoder::Finish(std::vector<float>*) {
  if (bytes_in_ > 0 && !ogg_->page_seen) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an Ogg Opus stream: no complete Ogg page in its ", bytes_in_, " bytes"));
  }
  if (bytes_in_ > 0 && headers_seen_ < 2) {
    return absl::InvalidArgumentError(
        "the Ogg Opus stream ended before its OpusHead and OpusTags headers were complete");
  }
  return absl::OkStatus();
}

}  // namespace lact::server
