// client/speech_onset: the first 10 ms frame at 10% of the loud speech's RMS, as
// tools/first_interim_onset.py (the expected onsets below are where the test puts the speech).
#include "client/speech_onset.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace lact::eval {
namespace {

// `silence_ms` of low noise (amplitude `noise`), then `speech_ms` of a loud 200 Hz tone.
std::vector<float> PaddedTone(int silence_ms, int speech_ms, float noise, int rate = 16000) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x;
  for (int i = 0; i < silence_ms * rate / 1000; ++i) x.push_back(noise * u(rng));
  for (int i = 0; i < speech_ms * rate / 1000; ++i)
    x.push_back(0.3f * std::sin(2 * M_PI * 200 * i / rate) + noise * u(rng));
  return x;
}

TEST(SpeechOnsetTest, FindsWhereTheSpeechStarts) {
  EXPECT_DOUBLE_EQ(SpeechOnsetMs(PaddedTone(350, 1500, 0.001f), 16000), 350);
  EXPECT_DOUBLE_EQ(SpeechOnsetMs(PaddedTone(0, 1000, 0.001f), 16000), 0);
  EXPECT_DOUBLE_EQ(SpeechOnsetMs(PaddedTone(120, 800, 0.0f, 8000), 8000), 120);
}

TEST(SpeechOnsetTest, NoiseAboveTheBarCountsAsOnsetSoTheEstimateErrsEarly) {
  // Noise at ~0.05 RMS is above 10% of the tone's 0.21 RMS: the onset is the first frame.
  EXPECT_DOUBLE_EQ(SpeechOnsetMs(PaddedTone(400, 1000, 0.09f), 16000), 0);
}

TEST(SpeechOnsetTest, SilentOrShorterThanAFrameIsZero) {
  EXPECT_DOUBLE_EQ(SpeechOnsetMs({}, 16000), 0);
  EXPECT_DOUBLE_EQ(SpeechOnsetMs(std::vector<float>(100, 0.5f), 16000), 0);
  EXPECT_DOUBLE_EQ(SpeechOnsetMs(std::vector<float>(16000, 0.0f), 16000), 0);
}

}  // namespace
}  // namespace lact::eval
