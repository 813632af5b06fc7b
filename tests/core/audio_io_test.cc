// Tests of core/audio/audio_io: reading (libsndfile + mix-down + soxr) and WriteWav16.
// Fixtures: tests/fixtures/audio (regenerate with tests/fixtures/audio/generate.sh) and the real
// LibriSpeech sample under LACT_SHARED_DATA.
#include "core/audio/audio_io.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/core/audio_test_util.h"

namespace lact {
namespace {

namespace fs = std::filesystem;

std::string Fixture(const std::string& name) {
  return std::string(LACT_TEST_FIXTURES) + "/audio/" + name;
}

std::string TempPath(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / "lact_audio_io_test";
  fs::create_directories(dir);
  return (dir / name).string();
}

double Rms(const std::vector<float>& x, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += static_cast<double>(x[i]) * x[i];
  return std::sqrt(s / (end - begin));
}

TEST(AudioIoTest, ReadsLibriSpeechFlacAs16kMono) {
  const fs::path root = fs::path(LACT_SHARED_DATA) / "librispeech-sample";
  if (!fs::exists(root)) GTEST_SKIP() << "no LibriSpeech sample at " << root;
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".flac") {
      files.push_back(entry.path().string());
    }
  }
  ASSERT_GE(files.size(), 4u) << "expected the 4 sample utterances under " << root;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    AudioInfo info;
    absl::StatusOr<std::vector<float>> audio = ReadAudioFile(path, 16000, &info);
    ASSERT_TRUE(audio.ok()) << audio.status();
    EXPECT_EQ(info.sample_rate, 16000);
    EXPECT_EQ(info.channels, 1);
    EXPECT_NE(info.format.find("FLAC"), std::string::npos) << info.format;
    // LibriSpeech utterances last between about 1 and 35 s.
    EXPECT_GT(audio->size(), 16000u);
    EXPECT_LT(audio->size(), 35u * 16000u);
    EXPECT_EQ(static_cast<int64_t>(audio->size()), info.frames);
    absl::StatusOr<AudioInfo> probed = ProbeAudioFile(path);
    ASSERT_TRUE(probed.ok()) << probed.status();
    EXPECT_EQ(probed->frames, info.frames);
    EXPECT_NEAR(info.duration_s, audio->size() / 16000.0, 1e-9);
    // 16-bit PCM read as int16 / 32768: in [-1, 1), exact multiples of 1/32768, not silent.
    for (float v : *audio) {
      ASSERT_GE(v, -1.0f);
      ASSERT_LT(v, 1.0f);
      const float scaled = v * 32768.0f;
      ASSERT_EQ(scaled, std::round(scaled));
    }
    EXPECT_GT(Rms(*audio, 0, audio->size()), 1e-3);
  }
}

TEST(AudioIoTest, WriteWav16RoundTripsExactly) {
  std::vector<float> samples;
  for (int k : {-32768, -32767, -12345, -1, 0, 1, 2, 1000, 32766, 32767}) {
    samples.push_back(k / 32768.0f);
  }
  const std::string path = TempPath("roundtrip.wav");
  ASSERT_TRUE(WriteWav16(path, samples, 16000).ok());
  AudioInfo info;
  absl::StatusOr<std::vector<float>> read = ReadAudioFile(path, kNativeSampleRate, &info);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, samples);
  EXPECT_EQ(info.sample_rate, 16000);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.frames, static_cast<int64_t>(samples.size()));
}

TEST(AudioIoTest, WriteWav16ClampsAndRounds) {
  const std::string path = TempPath("clamp.wav");
  ASSERT_TRUE(
      WriteWav16(path, {1.5f, 1.0f, -2.0f, 0.4f / 32768.0f, 0.6f / 32768.0f, NAN}, 8000).ok());
  absl::StatusOr<std::vector<float>> read = ReadAudioFile(path, kNativeSampleRate);
  ASSERT_TRUE(read.ok()) << read.status();
  const std::vector<float> expected = {
      32767 / 32768.0f, 32767 / 32768.0f, -1.0f, 0.0f, 1 / 32768.0f, 0.0f};
  EXPECT_EQ(*read, expected);
}

TEST(AudioIoTest, WriteWav16RejectsBadArguments) {
  EXPECT_EQ(WriteWav16(TempPath("bad.wav"), {0, 0, 0}, 16000, 2).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteWav16(TempPath("bad.wav"), {0}, 0).code(), absl::StatusCode::kInvalidArgument);
  const absl::Status no_dir = WriteWav16("/nonexistent-dir/x.wav", {0}, 16000);
  EXPECT_FALSE(no_dir.ok());
  EXPECT_NE(no_dir.message().find("/nonexistent-dir/x.wav"), std::string::npos);
}

TEST(AudioIoTest, MixesChannelsDownByAveraging) {
  // Interleaved stereo: L = a, R = b; the mean of two multiples of 1/32768 is exact in float.
  const std::vector<int> left = {1000, -2000, 32767, -32768, 7};
  const std::vector<int> right = {3000, 2000, 32767, -32768, -8};
  std::vector<float> interleaved;
  for (size_t i = 0; i < left.size(); ++i) {
    interleaved.push_back(left[i] / 32768.0f);
    interleaved.push_back(right[i] / 32768.0f);
  }
  const std::string path = TempPath("stereo.wav");
  ASSERT_TRUE(WriteWav16(path, interleaved, 16000, 2).ok());
  AudioInfo info;
  absl::StatusOr<std::vector<float>> mono = ReadAudioFile(path, 16000, &info);
  ASSERT_TRUE(mono.ok()) << mono.status();
  EXPECT_EQ(info.channels, 2);
  ASSERT_EQ(mono->size(), left.size());
  for (size_t i = 0; i < left.size(); ++i) {
    EXPECT_EQ((*mono)[i], static_cast<float>((left[i] + right[i]) / 2.0 / 32768.0)) << i;
  }
}

TEST(AudioIoTest, ResamplesStereo8kWavTo16kMono) {
  AudioInfo info;
  absl::StatusOr<std::vector<float>> audio =
      ReadAudioFile(Fixture("tone440_8k_stereo.wav"), 16000, &info);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(info.sample_rate, 8000);
  EXPECT_EQ(info.channels, 2);
  const double expected_len = info.frames * 16000.0 / 8000.0;
  EXPECT_NEAR(static_cast<double>(audio->size()), expected_len, 4.0);
  EXPECT_NEAR(PeakFrequency(*audio, 16000, 100, 7900), 440.0, 2.0);
  // Both channels carry the same half-scale sine: the mono mix keeps its RMS of 0.5 / sqrt(2).
  EXPECT_NEAR(Rms(*audio, 400, audio->size() - 400), 0.5 / std::sqrt(2.0), 0.01);
}

TEST(AudioIoTest, ResamplesFlac44kTo16k) {
  AudioInfo info;
  absl::StatusOr<std::vector<float>> audio =
      ReadAudioFile(Fixture("tone1k_44k.flac"), 16000, &info);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(info.sample_rate, 44100);
  EXPECT_EQ(info.channels, 1);
  EXPECT_NE(info.format.find("FLAC"), std::string::npos) << info.format;
  EXPECT_NEAR(static_cast<double>(audio->size()), info.frames * 16000.0 / 44100.0, 4.0);
  EXPECT_NEAR(PeakFrequency(*audio, 16000, 100, 7900), 1000.0, 2.0);
  EXPECT_NEAR(Rms(*audio, 400, audio->size() - 400), 0.5 / std::sqrt(2.0), 0.01);
}

TEST(AudioIoTest, NativeRateKeepsEverySample) {
  AudioInfo info;
  absl::StatusOr<std::vector<float>> audio =
      ReadAudioFile(Fixture("tone1k_44k.flac"), kNativeSampleRate, &info);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(static_cast<int64_t>(audio->size()), info.frames);
  absl::StatusOr<std::vector<float>> same = ReadAudioFile(Fixture("tone1k_44k.flac"), 44100);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(*same, *audio);
}

TEST(AudioIoTest, MissingFileIsNotFoundAndNamesThePath) {
  const std::string path = Fixture("no_such_file.wav");
  absl::StatusOr<std::vector<float>> audio = ReadAudioFile(path);
  EXPECT_EQ(audio.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(audio.status().message().find(path), std::string::npos) << audio.status();
  EXPECT_EQ(ProbeAudioFile(path).status().code(), absl::StatusCode::kNotFound);
}

TEST(AudioIoTest, NotAudioIsInvalidArgument) {
  const std::string path = Fixture("not_audio.wav");
  absl::StatusOr<std::vector<float>> audio = ReadAudioFile(path);
  EXPECT_EQ(audio.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(audio.status().message().find(path), std::string::npos) << audio.status();
}

TEST(AudioIoTest, DirectoryIsInvalidArgument) {
  const std::string path = std::string(LACT_TEST_FIXTURES) + "/audio";
  absl::StatusOr<std::vector<float>> audio = ReadAudioFile(path);
  EXPECT_EQ(audio.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(audio.status().message().find(path), std::string::npos) << audio.status();
}

TEST(AudioIoTest, EmptyAudioIsAnError) {
  const std::string path = Fixture("empty.wav");
  absl::StatusOr<std::vector<float>> audio = ReadAudioFile(path);
  EXPECT_EQ(audio.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(audio.status().message().find("empty audio"), std::string::npos) << audio.status();
  EXPECT_NE(audio.status().message().find(path), std::string::npos) << audio.status();
  // Probing an empty file is fine: it reports zero frames.
  absl::StatusOr<AudioInfo> info = ProbeAudioFile(path);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->frames, 0);
  EXPECT_EQ(info->sample_rate, 16000);
}

TEST(AudioIoTest, NegativeTargetRateIsInvalidArgument) {
  EXPECT_EQ(ReadAudioFile(Fixture("tone1k_44k.flac"), -16000).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- AudioFileReader (block-wise reading, issue 24) ---------------------------------------------

// Everything a reader yields, in blocks of `block_frames`.
absl::StatusOr<std::vector<float>> ReadAllInBlocks(const std::string& path, int rate,
                                                   int64_t block_frames) {
  auto reader = AudioFileReader::Open(path, rate);
  if (!reader.ok()) return reader.status();
  std::vector<float> out;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Read(block_frames, &out);
    if (!more.ok()) return more.status();
    if (!*more) return out;
  }
}

TEST(AudioFileReaderTest, NativeRateEqualsReadAudioFile) {
  for (const char* name : {"tone1k_44k.flac", "tone440_8k_stereo.wav"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<std::vector<float>> whole = ReadAudioFile(Fixture(name), kNativeSampleRate);
    ASSERT_TRUE(whole.ok()) << whole.status();
    absl::StatusOr<std::vector<float>> blocks =
        ReadAllInBlocks(Fixture(name), kNativeSampleRate, 1000);
    ASSERT_TRUE(blocks.ok()) << blocks.status();
    EXPECT_EQ(*blocks, *whole);
  }
}

TEST(AudioFileReaderTest, ResampledEqualsReadAudioFileToFloatRounding) {
  absl::StatusOr<std::vector<float>> whole = ReadAudioFile(Fixture("tone1k_44k.flac"), 16000);
  ASSERT_TRUE(whole.ok()) << whole.status();
  absl::StatusOr<std::vector<float>> blocks =
      ReadAllInBlocks(Fixture("tone1k_44k.flac"), 16000, 777);
  ASSERT_TRUE(blocks.ok()) << blocks.status();
  ASSERT_NEAR(static_cast<double>(blocks->size()), static_cast<double>(whole->size()), 1.0);
  double worst = 0;
  for (size_t i = 0; i < std::min(blocks->size(), whole->size()); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>((*blocks)[i]) - (*whole)[i]));
  }
  EXPECT_LT(worst, 1e-4);
  auto reader = AudioFileReader::Open(Fixture("tone1k_44k.flac"), 16000);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->sample_rate(), 16000);
  EXPECT_NEAR((*reader)->declared_seconds(), (*reader)->info().frames / 44100.0, 1e-9);
}

TEST(AudioFileReaderTest, TruncatedFlacIsAnErrorBothWays) {
  // A FLAC cut in half still opens (its header declares the whole length) but ends early.
  const std::string whole = Fixture("tone1k_44k.flac");
  const std::string half = TempPath("half.flac");
  {
    std::ifstream in(whole, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(half, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  absl::StatusOr<std::vector<float>> read = ReadAudioFile(half, 16000);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(read.status().message().find("is truncated"), std::string::npos) << read.status();
  absl::StatusOr<std::vector<float>> blocks = ReadAllInBlocks(half, 16000, 4096);
  EXPECT_EQ(blocks.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(blocks.status().message().find("is truncated"), std::string::npos) << blocks.status();
}

TEST(AudioFileReaderTest, AnAbsurdSampleRateIsRefusedBeforeReading) {
  // A 16-bit WAV header at 1 Hz.
  const std::string path = TempPath("one_hz.wav");
  ASSERT_TRUE(WriteWav16(path, std::vector<float>(1000, 0.1f), 1).ok());
  for (const absl::Status& s : {ReadAudioFile(path).status(), ProbeAudioFile(path).status(),
                                AudioFileReader::Open(path).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("says 1 Hz"), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace lact
