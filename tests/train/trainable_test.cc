// The training-side models against the inference code and the independent references:
//  - TrainableWav2Vec2 on the tiny fixtures gives torchaudio's logits (tests/fixtures/*/expected,
//    made by tests/fixtures/gen_wav2vec2_fixtures.py), and padding in a batch changes nothing;
//  - TrainableLact gives the float64 Python reference (tests/reference/lact_reference.py) and
//    core's LactStack, also for padded rows, and its gradients reach the slow weights that act
//    only through the fast-weight updates (the inner loop is differentiable);
//  - what the trainer writes is what core/ loads.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/audio/audio_io.h"
#include "core/lact/lact_stack.h"
#include "core/model/model_folder.h"
#include "core/model/npy.h"
#include "core/model/random_model.h"
#include "core/model/safetensors.h"
#include "core/model/wav2vec2_model.h"
#include "core/model/waveform_normalizer.h"
#include "core/streaming/asr_model.h"
#include "tests/core/lact_test_util.h"
#include "train/trainable_lact.h"
#include "train/trainable_wav2vec2.h"

namespace lact::train {
namespace {

using testing_util::MaxRelDiff;

const std::string kFixtures = LACT_TEST_FIXTURES;

TrainableWav2Vec2 LoadTrainable(const std::string& dir) {
  Wav2Vec2Config config = Wav2Vec2Config::FromJsonFile(dir + "/config.json").value();
  TensorMap tensors = LoadSafetensors(dir + "/model.safetensors").value();
  return TrainableWav2Vec2::FromTensors(config, tensors).value();
}

torch::Tensor FixtureInput(const std::string& dir) {
  std::vector<float> wave = ReadAudioFile(dir + "/expected/input.wav", 16000).value();
  if (Wav2Vec2PreprocessorConfig::FromJsonFile(dir + "/preprocessor_config.json")->do_normalize) {
    NormalizeWaveform(wave);
  }
  return torch::from_blob(wave.data(), {1, static_cast<int64_t>(wave.size())}).clone();  // [1, S]
}

class TrainableWav2Vec2Test : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainableWav2Vec2Test, MatchesTorchaudioLogits) {
  const std::string dir = kFixtures + "/" + GetParam();
  TrainableWav2Vec2 model = LoadTrainable(dir);
  torch::Tensor x = FixtureInput(dir);
  torch::NoGradGuard no_grad;
  auto out = model.Encode(x, torch::tensor({x.size(1)}), /*training=*/false);
  torch::Tensor logits = model.Logits(out.hidden)[0];  // [T, V]
  torch::Tensor ref = ReadNpy(dir + "/expected/logits.npy").value();
  ASSERT_EQ(logits.sizes(), ref.sizes());
  EXPECT_LT(MaxRelDiff(logits, ref), 1e-4);
  EXPECT_EQ(out.frame_lengths.item<int64_t>(), ref.size(0));
  // Dropout is off in evaluation: two calls agree exactly.
  auto again = model.Encode(x, torch::tensor({x.size(1)}), false);
  EXPECT_TRUE(torch::equal(again.hidden, out.hidden));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TrainableWav2Vec2Test,
                         ::testing::Values("tiny_layer", "tiny_group"));

TEST(TrainableWav2Vec2, PaddingInABatchChangesNothingForLayerNormModels) {
  const std::string dir = kFixtures + "/tiny_layer";
  TrainableWav2Vec2 model = LoadTrainable(dir);
  torch::Tensor x = FixtureInput(dir);  // [1, S]
  const int64_t S = x.size(1), short_len = S * 2 / 3;
  torch::Tensor batch = torch::zeros({2, S});
  batch[0].copy_(x[0]);
  batch[1].narrow(0, 0, short_len).copy_(x[0].narrow(0, 0, short_len));
  torch::NoGradGuard no_grad;
  auto both = model.Encode(batch, torch::tensor({S, short_len}), false);
  auto alone = model.Encode(x.narrow(1, 0, short_len), torch::tensor({short_len}), false);
  const int64_t T = alone.frame_lengths.item<int64_t>();
  EXPECT_EQ(both.frame_lengths[1].item<int64_t>(), T);
  EXPECT_LT(MaxRelDiff(both.hidden[1].narrow(0, 0, T), alone.hidden[0]), 1e-4);
}

TEST(TrainableWav2Vec2, FreshModelExportsAFolderCoreLoadsWithTheSameOutput) {
  Wav2Vec2Config config = TinyConfig();
  config.feat_extract_norm = "layer";
  config.do_stable_layer_norm = true;
  TrainableWav2Vec2 model = TrainableWav2Vec2::Create(config, 3).value();
  const std::string dir = ::testing::TempDir() + "/trainable_export";
  ASSERT_TRUE(WriteModelFolder(dir, config, model.ExportTensors(), true).ok());
  Wav2Vec2Model loaded = Wav2Vec2Model::Load(dir, torch::kCPU).value();
  torch::manual_seed(0);
  torch::Tensor x = torch::randn({2, 8000});
  torch::Tensor core_hidden = loaded.Encode(x);
  torch::NoGradGuard no_grad;
  auto out = model.Encode(x, torch::tensor({8000, 8000}), false);
  EXPECT_LT(MaxRelDiff(out.hidden, core_hidden), 1e-5);
  // Same seed, same initialisation; another seed, another one.
  TrainableWav2Vec2 same = TrainableWav2Vec2::Create(config, 3).value();
  TrainableWav2Vec2 other = TrainableWav2Vec2::Create(config, 4).value();
  TensorMap a = model.ExportTensors(), b = same.ExportTensors(), c = other.ExportTensors();
  const std::string key = "wav2vec2.encoder.layers.0.attention.q_proj.weight";
  EXPECT_TRUE(torch::equal(a.at(key), b.at(key)));
  EXPECT_FALSE(torch::equal(a.at(key), c.at(key)));
}

TEST(TrainableWav2Vec2, FromTensorsNamesAMissingKey) {
  Wav2Vec2Config config = TinyConfig();
  TensorMap tensors = RandomWav2Vec2Tensors(config, 1);
  tensors.erase("lm_head.bias");
  absl::StatusOr<TrainableWav2Vec2> m = TrainableWav2Vec2::FromTensors(config, tensors);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("lm_head.bias"), std::string::npos);
}

class TrainableLactReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainableLactReferenceTest, MatchesFloat64ReferenceAndCore) {
  const std::string dir = kFixtures + "/" + GetParam();
  LactConfig config = LactConfig::FromJsonFile(dir + "/lact_config.json").value();
  TensorMap tensors = LoadSafetensors(dir + "/lact.safetensors").value();
  TrainableLact lact = TrainableLact::FromTensors(config, tensors).value();
  torch::Tensor x = ReadNpy(dir + "/hidden.npy").value();      // [T, D]
  torch::Tensor ref = ReadNpy(dir + "/expected.npy").value();  // [T, D]
  const int64_t T = x.size(0);
  torch::NoGradGuard no_grad;
  torch::Tensor y = lact.Forward(x.unsqueeze(0), torch::tensor({T}))[0];
  EXPECT_LT(MaxRelDiff(y, ref), 1e-3);
  EXPECT_LT(MaxRelDiff(y - x, ref - x), 1e-2);
  // A padded row in a batch: its valid frames are those of the row alone (padding never enters
  // a fast-weight update), and the full row is unchanged by its neighbour.
  const int64_t short_len = T - config.chunk_size / 2 - 3;
  torch::Tensor batch = torch::zeros({2, T, x.size(1)});
  batch[0].copy_(x);
  batch[1].narrow(0, 0, short_len).copy_(x.narrow(0, 0, short_len));
  torch::Tensor yb = lact.Forward(batch, torch::tensor({T, short_len}));
  EXPECT_LT(MaxRelDiff(yb[0], ref), 1e-3);
  LactStack stack = LactStack::FromTensors(config, tensors).value();
  torch::Tensor core_short = stack.ForwardSequence(x.narrow(0, 0, short_len)).value();
  EXPECT_LT(MaxRelDiff(yb[1].narrow(0, 0, short_len), core_short), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TrainableLactReferenceTest,
                         ::testing::Values("lact_momentum", "lact_muon", "lact_nomomentum"));

TEST(TrainableLact, GradientsFlowThroughTheFastWeightUpdates) {
  LactConfig config = testing_util::SmallConfig();
  TrainableLact lact =
      TrainableLact::FromTensors(config, testing_util::RandomTensors(config, 5)).value();
  torch::manual_seed(1);
  const int64_t C = config.chunk_size;
  torch::Tensor x = torch::randn({1, 3 * C, config.hidden_size});
  torch::Tensor y = lact.Forward(x, torch::tensor({3 * C}));
  // Loss on the last chunk only: the learning-rate and momentum heads act on it only through the
  // updates made by the first two chunks.
  y.narrow(1, 2 * C, C).square().sum().backward();
  TensorMap names = lact.ExportTensors();
  std::vector<torch::Tensor> params = lact.Parameters();
  size_t i = 0;
  for (const auto& [name, value] : names) {
    const torch::Tensor& g = params[i++].grad();
    if (name.find("lr_proj") != std::string::npos ||
        name.find("momentum_proj") != std::string::npos) {
      ASSERT_TRUE(g.defined()) << name;
      EXPECT_GT(g.abs().max().item<double>(), 0) << name;
    }
  }
  // The first chunk's outputs do not depend on the updates: no gradient to lr_proj from them.
  TrainableLact fresh =
      TrainableLact::FromTensors(config, testing_util::RandomTensors(config, 5)).value();
  torch::Tensor y0 = fresh.Forward(x, torch::tensor({3 * C}));
  y0.narrow(1, 0, C).square().sum().backward();
  i = 0;
  std::vector<torch::Tensor> fresh_params = fresh.Parameters();
  for (const auto& [name, value] : names) {
    const torch::Tensor& g = fresh_params[i++].grad();
    if (name.find("lr_proj") != std::string::npos) {
      EXPECT_TRUE(!g.defined() || g.abs().max().item<double>() == 0) << name;
    }
  }
}

TEST(TrainableLact, UntrainedIsTheIdentity) {
  LactConfig config = testing_util::SmallConfig();
  TrainableLact lact = TrainableLact::Untrained(config).value();
  torch::Tensor x = torch::randn({2, 40, config.hidden_size});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(lact.Forward(x, torch::tensor({40, 33})), x));
}

}  // namespace
}  // namespace lact::train
