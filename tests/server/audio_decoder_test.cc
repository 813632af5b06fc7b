// Unit tests of server/'s audio decoders: PCM byte handling, Opus packets and Ogg Opus streams
// split at any byte, and the errors for bad audio.
#include "server/audio_decoder.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "server/ogg_opus_decoder.h"
#include "tests/server/server_test_util.h"

namespace lact::server {
namespace {

using testing::DecodeOpusPackets;
using testing::EncodeOggOpus;
using testing::EncodeOpusPackets;
using testing::SplitBytes;
using testing::SyntheticAudio;
using testing::ToFloat32;
using testing::ToLinear16;

std::unique_ptr<AudioDecoder> Make(AudioEncoding e, int rate, int channels = 1,
                                   int preferred = 16000) {
  auto d = CreateAudioDecoder(AudioFormat{e, rate, channels}, preferred);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? std::move(*d) : nullptr;
}

absl::StatusOr<std::vector<float>> DecodeAll(AudioDecoder& d,
                                             const std::vector<std::string>& pieces) {
  std::vector<float> out;
  for (const auto& p : pieces) {
    if (absl::Status s = d.Decode(p, &out); !s.ok()) return s;
  }
  if (absl::Status s = d.Finish(&out); !s.ok()) return s;
  return out;
}

double Correlation(const std::vector<float>& a, const std::vector<float>& b) {
  const size_t n = std::min(a.size(), b.size());
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return ab / std::sqrt(aa * bb + 1e-12);
}

TEST(AudioFormatTest, RejectsWhatIsNotSupported) {
  EXPECT_EQ(AudioFormat({AudioEncoding::kUnspecified, 16000, 1}).Validate().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AudioFormat({AudioEncoding::kLinear16, 0, 1}).Validate().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AudioFormat({AudioEncoding::kLinear16, 500000, 1}).Validate().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AudioFormat({AudioEncoding::kFloat32, 16000, 3}).Validate().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AudioFormat({AudioEncoding::kOpus, 44100, 1}).Validate().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AudioFormat({AudioEncoding::kOggOpus, 44100, 1}).Validate().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(AudioFormat({AudioEncoding::kOggOpus, 0, 0}).Validate().ok());
  EXPECT_TRUE(AudioFormat({AudioEncoding::kLinear16, 8000, 2}).Validate().ok());
  const std::string message(AudioFormat({AudioEncoding::kOpus, 44100, 1}).Validate().message());
  EXPECT_NE(message.find("44100"), std::string::npos) << message;
}

TEST(PcmDecoderTest, Linear16SplitAtEveryByteIsExact) {
  const std::vector<float> audio = SyntheticAudio(0.05, 16000, 1);
  const std::string bytes = ToLinear16(audio);
  for (size_t piece : {1, 3, 7, 1000}) {
    auto d = Make(AudioEncoding::kLinear16, 16000);
    auto out = DecodeAll(*d, SplitBytes(bytes, piece));
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(*out, audio) << "piece " << piece;
  }
}

TEST(PcmDecoderTest, Float32AndStereoMixDown) {
  const std::vector<float> left = SyntheticAudio(0.02, 16000, 2),
                           right = SyntheticAudio(0.02, 16000, 3);
  std::vector<float> interleaved;
  for (size_t i = 0; i < left.size(); ++i)
    interleaved.push_back(left[i]), interleaved.push_back(right[i]);
  auto d = Make(AudioEncoding::kFloat32, 16000, 2);
  auto out = DecodeAll(*d, SplitBytes(ToFloat32(interleaved), 5));
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), left.size());
  for (size_t i = 0; i < left.size(); ++i) {
    EXPECT_FLOAT_EQ((*out)[i], static_cast<float>((double{left[i]} + double{right[i]}) / 2));
  }
}

TEST(PcmDecoderTest, ErrorsForBadPcm) {
  auto d = Make(AudioEncoding::kLinear16, 16000);
  std::vector<float> out;
  ASSERT_TRUE(d->Decode(std::string("\x01\x02\x03", 3), &out).ok());
  EXPECT_EQ(out.size(), 1u);
  absl::Status s = d->Finish(&out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("inside a sample frame"), std::string::npos) << s;

  auto f = Make(AudioEncoding::kFloat32, 16000);
  const std::vector<float> nan = {std::nanf("")};
  EXPECT_EQ(f->Decode(ToFloat32(nan), &out).code(), absl::StatusCode::kInvalidArgument);
}

TEST(OpusDecoderTest, RawPacketsDecodeLikeLibopus) {
  const std::vector<float> audio = SyntheticAudio(1.0, 16000, 4);
  const std::vector<std::string> packets = EncodeOpusPackets(audio, 16000);
  auto d = Make(AudioEncoding::kOpus, 16000);
  ASSERT_EQ(d->sample_rate(), 16000);
  auto out = DecodeAll(*d, packets);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, DecodeOpusPackets(packets, 16000));
  EXPECT_EQ(out->size(), 16000u);
  // Decoding at 48 kHz when the model's rate is not an Opus rate.
  auto d48 = Make(AudioEncoding::kOpus, 16000, 1, /*preferred=*/44100);
  ASSERT_EQ(d48->sample_rate(), 48000);
  auto out48 = DecodeAll(*d48, packets);
  ASSERT_TRUE(out48.ok());
  EXPECT_EQ(out48->size(), 48000u);
}

TEST(OpusDecoderTest, UndecodablePacketIsInvalidArgument) {
  auto d = Make(AudioEncoding::kOpus, 16000);
  std::vector<float> out;
  // TOC code 3 (arbitrary frame count) with a frame count of 0: not a valid packet.
  absl::Status s = d->Decode(std::string("\x03\x00", 2), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("undecodable Opus packet"), std::string::npos) << s;
}

TEST(OggOpusDecoderTest, SplitAtAnyByteGivesTheSameExactLengthAudio) {
  const std::vector<float> audio = SyntheticAudio(1.0, 16000, 5);
  const std::string ogg = EncodeOggOpus(audio, 16000);
  std::vector<float> first;
  for (size_t piece : {1, 7, 333, 100000}) {
    auto d = Make(AudioEncoding::kOggOpus, 0);
    auto out = DecodeAll(*d, SplitBytes(ogg, piece));
    ASSERT_TRUE(out.ok()) << out.status() << " piece " << piece;
    EXPECT_EQ(out->size(), audio.size()) << "pre-skip and end trimming, piece " << piece;
    if (first.empty()) first = *out;
    EXPECT_EQ(*out, first) << "piece " << piece;
  }
  EXPECT_GT(Correlation(first, audio), 0.8);
}

TEST(OggOpusDecoderTest, ErrorsForBadStreams) {
  {
    auto d = Make(AudioEncoding::kOggOpus, 0);
    std::vector<float> out;
    absl::Status s = d->Decode("this is certainly not an Ogg stream", &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(s.message()).find("not an Ogg Opus stream"), std::string::npos) << s;
  }
  {
    const std::string ogg = EncodeOggOpus(SyntheticAudio(0.5, 16000, 6), 16000);
    auto d = Make(AudioEncoding::kOggOpus, 0);
    std::vector<float> out;
    ASSERT_TRUE(d->Decode(ogg.substr(0, 30), &out).ok());  // half a header page
    EXPECT_EQ(d->Finish(&out).code(), absl::StatusCode::kInvalidArgument);
  }
  {
    const std::string ogg = EncodeOggOpus(SyntheticAudio(0.5, 16000, 6), 16000);
    auto d = Make(AudioEncoding::kOggOpus, 0, /*channels=*/2);
    std::vector<float> out;
    absl::Status s = d->Decode(ogg, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << "declared stereo, stream is mono";
  }
  {
    std::string ogg = EncodeOggOpus(SyntheticAudio(0.5, 16000, 6), 16000);
    ogg[ogg.size() / 2] ^= 0x55;  // breaks a page CRC
    auto d = Make(AudioEncoding::kOggOpus, 0);
    std::vector<float> out;
    absl::Status s = d->Decode(ogg, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
}

// --- Memory bounds (issue 24) ------------------------------------------------------------------

// Collects what a piece sink receives.
struct Pieces {
  std::vector<float> all;
  size_t count = 0;
  size_t largest = 0;
  AudioDecoder::PieceSink Sink() {
    return [this](std::vector<float>* samples) {
      ++count;
      largest = std::max(largest, samples->size());
      all.insert(all.end(), samples->begin(), samples->end());
      return absl::OkStatus();
    };
  }
};

TEST(AudioDecoderPiecesTest, OneOggMessageOfConcealmentIsDeliveredInPieces) {
  // 19 pages of 255 two-byte packets, 120 ms each: 581.4 s of audio from 15,048 bytes.
  testing::OggWriter ogg;
  std::string message = ogg.Headers();
  for (int i = 0; i < 19; ++i) message += ogg.ConcealmentPage();
  auto d = Make(AudioEncoding::kOggOpus, 0);
  Pieces pieces;
  d->set_piece_sink(16384, pieces.Sink());
  std::vector<float> rest;
  ASSERT_TRUE(d->Decode(message, &rest).ok());
  ASSERT_TRUE(d->Finish(&rest).ok());
  // Every sample arrives (120 ms = 1920 samples at 16 kHz per packet, less the 312/3 pre-skip),
  // in pieces of at most one piece plus one packet.
  EXPECT_EQ(pieces.all.size() + rest.size(), 19u * 255u * 1920u - 104u);
  EXPECT_LE(pieces.largest, 16384u + 1920u);
  EXPECT_LT(rest.size(), 16384u);
  EXPECT_GT(pieces.count, 500u);
}

TEST(AudioDecoderPiecesTest, ASinkErrorStopsTheDecoding) {
  testing::OggWriter ogg;
  std::string message = ogg.Headers();
  for (int i = 0; i < 19; ++i) message += ogg.ConcealmentPage();
  auto d = Make(AudioEncoding::kOggOpus, 0);
  int calls = 0;
  d->set_piece_sink(16384, [&](std::vector<float>*) {
    return ++calls == 3 ? absl::OutOfRangeError("full") : absl::OkStatus();
  });
  std::vector<float> out;
  const absl::Status s = d->Decode(message, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "full");
  EXPECT_EQ(calls, 3);
}

TEST(AudioDecoderPiecesTest, PcmInPiecesEqualsTheWhole) {
  const std::vector<float> audio = SyntheticAudio(10.0, 16000, 9);
  // Odd split: a frame across messages, pieces across blocks.
  const std::string bytes = ToLinear16(audio);
  auto d = Make(AudioEncoding::kLinear16, 16000);
  Pieces pieces;
  d->set_piece_sink(16384, pieces.Sink());
  std::vector<float> rest;
  ASSERT_TRUE(d->Decode(bytes.substr(0, 100001), &rest).ok());
  ASSERT_TRUE(d->Decode(bytes.substr(100001), &rest).ok());
  ASSERT_TRUE(d->Finish(&rest).ok());
  pieces.all.insert(pieces.all.end(), rest.begin(), rest.end());
  EXPECT_EQ(pieces.all, audio);
  EXPECT_LE(pieces.largest, 16384u + 8192u);
  EXPECT_GE(pieces.count, 8u);
}

TEST(OggOpusDecoderTest, AnAudioPacketThatNeverEndsIsRefusedAtTheFirstPage) {
  testing::OggWriter ogg;
  auto d = Make(AudioEncoding::kOggOpus, 0);
  std::vector<float> out;
  ASSERT_TRUE(d->Decode(ogg.Headers(), &out).ok());
  std::string message;
  for (int i = 0; i < 48; ++i) message += ogg.EndlessPacketPage("\x1b\x02");  // 3.1 MB
  const absl::Status s = d->Decode(message, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("audio packet longer than 7657 bytes"), std::string::npos)
      << s;
}

TEST(OggOpusDecoderTest, AnOpusTagsPacketThatNeverEndsIsRefusedAtItsBound) {
  testing::OggWriter ogg;
  auto d = Make(AudioEncoding::kOggOpus, 0);
  std::vector<float> out;
  ASSERT_TRUE(d->Decode(ogg.HeadPage(), &out).ok());
  absl::Status s;
  int64_t sent = 0;
  while (s.ok() && sent < 8 * kMaxOggHeaderPacketBytes) {
    const std::string page = ogg.EndlessPacketPage("OpusTags");
    sent += static_cast<int64_t>(page.size());
    s = d->Decode(page, &out);
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("OpusTags packet longer than 1048576 bytes"),
            std::string::npos)
      << s;
  EXPECT_LT(sent, kMaxOggHeaderPacketBytes + 2 * 65536);  // refused within a page of the bound
}

TEST(OggOpusDecoderTest, ALargeButCompleteOpusTagsIsAccepted) {
  // 300 KB of comments (cover art, say) over several pages, then real audio.
  std::string tags("OpusTags\x04\x00\x00\x00test\x01\x00\x00\x00", 20);
  const std::string comment = "METADATA_BLOCK_PICTURE=" + std::string(300000, 'A');
  const uint32_t n = static_cast<uint32_t>(comment.size());
  tags += std::string({static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                       static_cast<char>((n >> 16) & 0xff), static_cast<char>(n >> 24)});
  tags += comment;
  testing::OggWriter ogg;
  std::string stream = ogg.HeadPage();
  // The tags packet over full pages, the last page ending it.
  size_t at = 0;
  bool continued = false;
  while (tags.size() - at >= 255 * 255) {
    stream +=
        ogg.Page(std::vector<uint8_t>(255, 255), tags.substr(at, 255 * 255), false, continued, -1);
    at += 255 * 255;
    continued = true;
  }
  const std::string last = tags.substr(at);
  std::vector<uint8_t> lacing(last.size() / 255, 255);
  lacing.push_back(static_cast<uint8_t>(last.size() % 255));
  stream += ogg.Page(lacing, last, false, continued, 0);
  for (int i = 0; i < 2; ++i) stream += ogg.ConcealmentPage();
  auto d = Make(AudioEncoding::kOggOpus, 0);
  auto out = DecodeAll(*d, SplitBytes(stream, 100000));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->size(), 2u * 255u * 1920u - 104u);
}

TEST(OggOpusDecoderTest, OggSFollowedByGarbageSaysSo) {
  auto d = Make(AudioEncoding::kOggOpus, 0);
  std::vector<float> out;
  const absl::Status s =
      d->Decode("OggS" + std::string(200, '\x01'), &out);  // a 29-byte page, bad CRC
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("not a valid Ogg page"), std::string::npos) << s;
}

TEST(PcmDecoderTest, Float32FarOutsideFullScaleIsRefused) {
  auto f = Make(AudioEncoding::kFloat32, 16000);
  std::vector<float> out;
  EXPECT_TRUE(f->Decode(ToFloat32({0.5f, -1.0f, 1.5f, -3.9f}), &out).ok());  // overshoot is fine
  const absl::Status s = f->Decode(ToFloat32({0.1f, 12000.0f}), &out);  // int16 values as floats
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("[-1, 1]"), std::string::npos) << s;
}

}  // namespace
}  // namespace lact::server
