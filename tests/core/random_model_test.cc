// core/model/random_model: a random model's CTC head made "speech-like" gives posteriors of the
// kind a trained model gives on speech (few tokens near the best, the blank often the best), on a
// real LibriSpeech utterance it never saw; the plain random head gives nearly uniform posteriors,
// where a beam search would try every token at every frame. The candidates per frame set the
// beam search's work; the blank share moves more with the draw and the input (18-77% seen).
#include "core/model/random_model.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/audio/audio_io.h"
#include "core/model/wav2vec2_model.h"
#include "core/model/waveform_normalizer.h"

namespace lact {
namespace {

struct PosteriorShape {
  double blank_share = 0;      // frames whose best token is the blank
  double mean_candidates = 0;  // tokens within 8 (ln) of the frame's best
};

PosteriorShape Measure(const TensorMap& tensors, const Wav2Vec2Config& config) {
  const std::string path = (std::filesystem::path(LACT_SHARED_DATA) / "librispeech-sample" /
                            "LibriSpeech/test-clean/1089/134686/1089-134686-0000.flac")
                               .string();
  auto audio = ReadAudioFile(path);
  EXPECT_TRUE(audio.ok()) << audio.status();
  if (!audio.ok()) return {};
  NormalizeWaveform(*audio);
  auto model = Wav2Vec2Model::FromTensors(config, tensors, torch::kCPU);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  torch::NoGradGuard no_grad;
  torch::Tensor wave = torch::tensor(*audio).unsqueeze(0);                   // [1, S]
  torch::Tensor lp = model->Logits(model->Encode(wave))[0].log_softmax(-1);  // [T, V]
  torch::Tensor best = std::get<0>(lp.max(-1, /*keepdim=*/true));            // [T, 1]
  PosteriorShape s;
  s.blank_share = (lp.argmax(-1) == config.pad_token_id).to(torch::kDouble).mean().item<double>();
  s.mean_candidates = (lp >= best - 8.0).sum(-1).to(torch::kDouble).mean().item<double>();
  return s;
}

TEST(RandomModelTest, SpeechLikeHeadGivesMostlyBlankPeakedPosteriors) {
  const Wav2Vec2Config config = TinyConfig();
  TensorMap tensors = RandomWav2Vec2Tensors(config, 0);
  const PosteriorShape uniform = Measure(tensors, config);
  ASSERT_TRUE(MakeCtcHeadSpeechLike(config, 1, &tensors).ok());
  const PosteriorShape speech_like = Measure(tensors, config);
  // The plain head: nearly every one of the 32 tokens is a candidate at every frame.
  EXPECT_GT(uniform.mean_candidates, 25.0);
  // The demo model on speech: 62% blank, 3.9 candidates (docs/benchmarks.md); this draw on this
  // utterance: 18% blank.
  EXPECT_GT(speech_like.blank_share, 0.1);
  EXPECT_LT(speech_like.blank_share, 0.95);
  EXPECT_GT(speech_like.mean_candidates, 1.5);
  EXPECT_LT(speech_like.mean_candidates, 8.0);
}

TEST(RandomModelTest, SpeechLikeHeadLeavesTheEncoderAlone) {
  const Wav2Vec2Config config = TinyConfig();
  TensorMap tensors = RandomWav2Vec2Tensors(config, 0);
  TensorMap before = tensors;
  ASSERT_TRUE(MakeCtcHeadSpeechLike(config, 1, &tensors).ok());
  for (const auto& [name, t] : before) {
    if (name.rfind("lm_head.", 0) == 0) {
      EXPECT_FALSE(torch::equal(t, tensors.at(name))) << name << " was not redrawn";
    } else {
      EXPECT_TRUE(torch::equal(t, tensors.at(name))) << name << " changed";
    }
  }
}

}  // namespace
}  // namespace lact
