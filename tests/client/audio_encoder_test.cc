// client/audio_encoder: LINEAR16 bytes, raw Opus packets and the Ogg Opus stream, each decoded
// back with libopus / libogg (not with the code under test) and compared with the input.
#include "client/audio_encoder.h"

#include <ogg/ogg.h>
#include <opus.h>

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

namespace lact::eval {
namespace {

std::vector<float> Sine(int rate, double seconds, double hz = 440, double amp = 0.5) {
  std::vector<float> x(static_cast<size_t>(std::lround(rate * seconds)));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(amp * std::sin(2 * M_PI * hz * i / rate));
  return x;
}

// Best normalised cross-correlation of `decoded` against `ref` over lags 0..max_lag.
double BestCorrelation(const std::vector<float>& ref, const std::vector<float>& decoded,
                       int max_lag) {
  double best = -1;
  for (int lag = 0; lag <= max_lag; ++lag) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i + lag < decoded.size() && i < ref.size(); ++i) {
      xy += ref[i] * decoded[i + lag];
      xx += ref[i] * ref[i];
      yy += decoded[i + lag] * decoded[i + lag];
    }
    if (xx > 0 && yy > 0) best = std::max(best, xy / std::sqrt(xx * yy));
  }
  return best;
}

TEST(AudioEncoding, ParseAndName) {
  EXPECT_EQ(*ParseAudioEncoding("linear16"), AudioEncoding::kLinear16);
  EXPECT_EQ(*ParseAudioEncoding("OGG_OPUS"), AudioEncoding::kOggOpus);
  EXPECT_EQ(*ParseAudioEncoding("opus"), AudioEncoding::kOpus);
  EXPECT_FALSE(ParseAudioEncoding("mp3").ok());
  EXPECT_EQ(AudioEncodingName(AudioEncoding::kOggOpus), "ogg_opus");
}

TEST(EncoderOptions, Validate) {
  EncoderOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.chunk_duration_ms = 0;
  EXPECT_FALSE(o.Validate().ok());
  o = EncoderOptions{};
  o.encoding = AudioEncoding::kOpus;
  o.sample_rate = 44100;
  EXPECT_FALSE(o.Validate().ok());  // not an Opus rate
  o.sample_rate = 16000;
  o.opus_frame_ms = 25;
  EXPECT_FALSE(o.Validate().ok());
  o.opus_frame_ms = 60;
  EXPECT_TRUE(o.Validate().ok());
}

TEST(EncodeLinear16, ChunksOfChunkDurationLittleEndian) {
  std::vector<float> audio(4000);  // 0.25 s at 16 kHz
  for (size_t i = 0; i < audio.size(); ++i)
    audio[i] = static_cast<float>(static_cast<int>(i % 200) - 100) / 32768.0f;
  audio[5] = 1.5f;   // clipped
  audio[6] = -2.0f;  // clipped
  EncoderOptions o;
  auto chunks = EncodeForStreaming(audio, o);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_EQ(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[0].bytes.size(), 3200u);
  EXPECT_EQ((*chunks)[2].bytes.size(), 800u * 2);
  EXPECT_DOUBLE_EQ((*chunks)[0].audio_end_s, 0.1);
  EXPECT_DOUBLE_EQ((*chunks)[1].audio_end_s, 0.2);
  EXPECT_DOUBLE_EQ((*chunks)[2].audio_end_s, 0.25);
  std::string all;
  for (const auto& c : *chunks) all += c.bytes;
  for (size_t i = 0; i < audio.size(); ++i) {
    int16_t v;
    std::memcpy(&v, all.data() + 2 * i, 2);  // this test runs on little-endian hosts
    const int want = i == 5 ? 32767 : i == 6 ? -32768 : static_cast<int>(i % 200) - 100;
    ASSERT_EQ(v, want) << i;
  }
}

TEST(EncodeOpus, OnePacketPerFrameDecodesToTheSignal) {
  const std::vector<float> audio = Sine(16000, 1.01);  // 50.5 frames: the last is padded
  EncoderOptions o;
  o.encoding = AudioEncoding::kOpus;
  auto chunks = EncodeForStreaming(audio, o);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_EQ(chunks->size(), 51u);
  EXPECT_NEAR((*chunks)[0].audio_end_s, 0.02, 1e-12);
  EXPECT_NEAR(chunks->back().audio_end_s, 1.01, 1e-12);
  int error = 0;
  OpusDecoder* dec = opus_decoder_create(16000, 1, &error);
  ASSERT_EQ(error, OPUS_OK);
  std::vector<float> decoded, frame(5760);
  for (const auto& c : *chunks) {
    ASSERT_GT(c.bytes.size(), 0u);
    EXPECT_EQ(opus_packet_get_nb_samples(reinterpret_cast<const unsigned char*>(c.bytes.data()),
                                         static_cast<opus_int32>(c.bytes.size()), 16000),
              320);
    const int n = opus_decode_float(dec, reinterpret_cast<const unsigned char*>(c.bytes.data()),
                                    static_cast<opus_int32>(c.bytes.size()), frame.data(), 5760, 0);
    ASSERT_EQ(n, 320);
    decoded.insert(decoded.end(), frame.begin(), frame.begin() + n);
  }
  opus_decoder_destroy(dec);
  EXPECT_EQ(decoded.size(), 51u * 320u);
  EXPECT_GT(BestCorrelation(audio, decoded, 400), 0.95);
}

TEST(EncodeOggOpus, AValidOggOpusStreamSplitByTime) {
  const std::vector<float> audio = Sine(16000, 1.0, 300);
  EncoderOptions o;
  o.encoding = AudioEncoding::kOggOpus;
  auto chunks = EncodeForStreaming(audio, o);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_GE(chunks->size(), 5u);  // about one message per 100 ms chunk
  EXPECT_EQ(chunks->front().bytes.substr(0, 4), "OggS");
  double last = 0;
  std::string stream;
  for (const auto& c : *chunks) {
    EXPECT_GE(c.audio_end_s, last);
    EXPECT_FALSE(c.bytes.empty());
    last = c.audio_end_s;
    stream += c.bytes;
  }
  EXPECT_DOUBLE_EQ(last, 1.0);

  // Demux with libogg, decode with libopus at 48 kHz.
  ogg_sync_state sync;
  ogg_stream_state os;
  ogg_sync_init(&sync);
  char* buf = ogg_sync_buffer(&sync, static_cast<long>(stream.size()));
  std::memcpy(buf, stream.data(), stream.size());
  ogg_sync_wrote(&sync, static_cast<long>(stream.size()));
  ogg_page page;
  ogg_packet packet;
  bool stream_init = false;
  int packets = 0, pre_skip = 0;
  int error = 0;
  OpusDecoder* dec = opus_decoder_create(48000, 1, &error);
  std::vector<float> decoded, frame(5760);
  while (ogg_sync_pageout(&sync, &page) == 1) {
    if (!stream_init) {
      ogg_stream_init(&os, ogg_page_serialno(&page));
      stream_init = true;
    }
    ogg_stream_pagein(&os, &page);
    while (ogg_stream_packetout(&os, &packet) == 1) {
      ++packets;
      if (packets == 1) {
        ASSERT_GE(packet.bytes, 19);
        EXPECT_EQ(std::string(reinterpret_cast<char*>(packet.packet), 8), "OpusHead");
        EXPECT_EQ(packet.packet[9], 1);  // channels
        pre_skip = packet.packet[10] | (packet.packet[11] << 8);
        uint32_t rate;
        std::memcpy(&rate, packet.packet + 12, 4);
        EXPECT_EQ(rate, 16000u);
      } else if (packets == 2) {
        EXPECT_EQ(std::string(reinterpret_cast<char*>(packet.packet), 8), "OpusTags");
      } else {
        const int n = opus_decode_float(dec, packet.packet, static_cast<opus_int32>(packet.bytes),
                                        frame.data(), 5760, 0);
        ASSERT_GT(n, 0);
        decoded.insert(decoded.end(), frame.begin(), frame.begin() + n);
      }
    }
  }
  opus_decoder_destroy(dec);
  if (stream_init) ogg_stream_clear(&os);
  ogg_sync_clear(&sync);
  ASSERT_GT(packets, 10);
  ASSERT_GT(static_cast<int>(decoded.size()), pre_skip + 48000 - 960);
  // Downsample the 48 kHz decode by 3 and compare with the 16 kHz input.
  std::vector<float> down;
  for (size_t i = pre_skip; i < decoded.size(); i += 3) down.push_back(decoded[i]);
  EXPECT_GT(BestCorrelation(audio, down, 200), 0.95);
}

TEST(EncodeForStreaming, EmptyAudioGivesNoChunksExceptOggHeaders) {
  EncoderOptions o;
  auto chunks = EncodeForStreaming({}, o);
  ASSERT_TRUE(chunks.ok());
  EXPECT_TRUE(chunks->empty());
  o.encoding = AudioEncoding::kOggOpus;
  chunks = EncodeForStreaming({}, o);
  ASSERT_TRUE(chunks.ok());
  ASSERT_FALSE(chunks->empty());
  EXPECT_EQ(chunks->front().bytes.substr(0, 4), "OggS");
}

}  // namespace
}  // namespace lact::eval
