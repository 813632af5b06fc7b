// Ogg Opus (RFC 7845): one Ogg logical stream holding OpusHead, OpusTags and audio packets,
// arriving split across messages at any byte. Pages are reassembled with libogg
// (ogg_sync / ogg_stream), packets decoded with libopus at the output rate; the header's
// pre-skip is dropped, its output gain applied, and the end trimmed to the last granule position.
//
// Memory bounds (docs/reliability.md, "Decoder buffers"): libogg's sync buffer is fed a page at
// a time (it holds at most ~2 pages, 130 KB); a packet still open at the end of a page may be
// at most kMaxOggHeaderPacketBytes (OpusHead, OpusTags) or kMaxOpusPacketBytes (audio) long, or
// the stream is INVALID_ARGUMENT; decoded audio goes to the piece sink packet by packet.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "server/audio_decoder.h"
#include "server/opus_decoder.h"

namespace lact::server {

// The longest OpusHead or OpusTags packet accepted. An OpusTags packet holds the encoder's name
// and comments (a few hundred bytes from opusenc, ffmpeg or a browser); 1 MiB leaves room for
// embedded cover art while bounding what one stream can make the server buffer.
inline constexpr int64_t kMaxOggHeaderPacketBytes = 1 << 20;

class OggOpusDecoder final : public AudioDecoder {
 public:
  // `output_rate`: IsOpusRate. `expected_channels`: 0 (any) or the channel count the config
  // declared (checked against the OpusHead).
  OggOpusDecoder(int output_rate, int expected_channels);
  ~OggOpusDecoder() override;

  absl::Status Decode(std::string_view bytes, std::vector<float>* out) override;
  absl::Status Finish(std::vector<float>* out) override;
  int sample_rate() const override { return output_rate_; }

 private:
  struct OggState;  // libogg's sync and stream state
  // Takes the complete pages out of the sync buffer (after `slice_bytes` more were written) and
  // decodes their packets.
  absl::Status TakePages(int64_t slice_bytes, std::vector<float>* out);
  absl::Status HandlePacket(const unsigned char* data, size_t size, bool eos, int64_t granulepos,
                            std::vector<float>* out);
  absl::Status ParseHead(const unsigned char* data, size_t size);

  int output_rate_;
  int expected_channels_;
  std::unique_ptr<OggState> ogg_;
  int64_t bytes_in_ = 0;
  std::string prefix_;    // the first bytes received (checked against "OggS")
  int headers_seen_ = 0;  // 0: expect OpusHead, 1: expect OpusTags, 2: audio
  int pre_skip_48k_ = 0;
  int64_t skip_remaining_ = 0;  // output samples still to drop (pre-skip)
  int64_t emitted_ = 0;         // output samples emitted after the pre-skip
  int64_t packets_ = 0;
  bool ended_ = false;  // end-of-stream packet seen
  std::optional<OpusPacketDecoder> decoder_;
};

}  // namespace lact::server
