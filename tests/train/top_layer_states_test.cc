// Joint training (issue 20): the top encoder layers trained on window states cached below them.
// The split forward pass is the whole pass; the frames TopLayerStates builds from the cached
// windows are the frames the streaming recognizer commits (what the server feeds LaCT); modes lact
// + --train_top_layers and top_layers train exactly the top layers (and LaCT), write a folder the
// server loads, start from the frozen model's loss and resume exactly.
#include "train/top_layer_states.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "core/audio/audio_io.h"
#include "core/model/safetensors.h"
#include "core/model/wav2vec2_model.h"
#include "core/streaming/asr_model.h"
#include "tests/train/state_cache_test_util.h"
#include "train/train_options.h"
#include "train/trainer.h"

namespace lact::train {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = LACT_TEST_FIXTURES;

TrainableWav2Vec2 LoadTrainable(const std::string& dir) {
  auto config = Wav2Vec2Config::FromJsonFile(dir + "/config.json");
  auto tensors = LoadSafetensors(dir + "/model.safetensors");
  EXPECT_TRUE(config.ok() && tensors.ok());
  auto m = TrainableWav2Vec2::FromTensors(*config, *tensors);
  EXPECT_TRUE(m.ok()) << m.status();
  return *std::move(m);
}

// EncodeFrom(EncodeBelow(x, k), k) is the whole pass for every k, post-LN and pre-LN.
TEST(SplitForward, LayersFromKOnTheStatesBelowKAreTheWholePass) {
  for (const char* name : {"tiny_group", "tiny_layer"}) {
    const std::string dir = kFixtures + "/" + name;
    auto model = Wav2Vec2Model::Load(dir, torch::kCPU);
    ASSERT_TRUE(model.ok()) << model.status();
    const TrainableWav2Vec2 trainable = LoadTrainable(dir);
    torch::manual_seed(5);
    const torch::Tensor wave = torch::randn({2, 8000});  // [B, S]
    const torch::Tensor whole = model->Encode(wave);     // [B, T, D]
    const int64_t L = model->config().num_hidden_layers;
    for (int64_t k = 0; k <= L; ++k) {
      torch::NoGradGuard no_grad;
      const torch::Tensor top =
          trainable.EncodeFrom(model->EncodeBelow(wave, k), k, torch::Tensor(), false);
      EXPECT_TRUE(torch::allclose(top, whole, 1e-5, 1e-5))
          << name << " k=" << k << ": max diff " << (top - whole).abs().max().item<float>();
    }
    // Below every layer is not the output (the layers do something), so the check above bites.
    EXPECT_FALSE(torch::allclose(model->EncodeBelow(wave, 0), whole, 1e-3, 1e-3)) << name;
  }
}

class TopLayerStatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("top_layers_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    testing_util::MakeStateCacheTestFolder(dir_, kFixtures);
    std::ofstream manifest(dir_ / "train.tsv");
    manifest << (dir_ / "a.wav").string() << "\tTHE CAT SAT ON THE MAT\n"
             << (dir_ / "b.wav").string() << "\tA TEN\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<EncoderStateCache> Open() const {
    StateCacheOptions o;
    o.dir = (dir_ / "cache").string();
    o.window.step_ms = 320;
    o.window.left_context_ms = 960;
    o.window.lookahead_ms = 320;
    o.dtype = torch::kFloat;
    auto cache = EncoderStateCache::Open(o, (dir_ / "model").string());
    EXPECT_TRUE(cache.ok()) << cache.status();
    return cache.ok() ? *std::move(cache) : nullptr;
  }
  std::vector<std::string> Files() const {
    return {(dir_ / "a.wav").string(), (dir_ / "b.wav").string()};
  }
  TrainOptions Options(TrainMode mode, int64_t top_layers, const std::string& out) const {
    TrainOptions o;
    o.mode = mode;
    o.train_top_layers = top_layers;
    o.base_model = (dir_ / "model").string();
    if (mode == TrainMode::kLact) o.lact_config = kFixtures + "/lact_momentum/lact_config.json";
    o.train_data.corpus.manifest = (dir_ / "train.tsv").string();
    o.train_data.max_example_seconds = 60;
    o.has_dev = false;
    o.out_dir = (dir_ / out).string();
    o.max_steps = 2;
    o.warmup_steps = 0;
    o.lr = 1e-2;
    o.seed = 3;
    o.loader_threads = 1;
    o.log_every = 1;
    o.checkpoint_every = 0;
    o.state_cache_dir = (dir_ / "cache").string();
    o.state_cache_float16 = false;
    return o;
  }

  fs::path dir_;
};

// With the frozen weights, the top layers run on the cached windows give the committed frames of
// the streaming recognizer (the cache's Get), for one trained layer and for all of them.
TEST_F(TopLayerStatesTest, FramesAreTheStreamsCommittedFrames) {
  auto cache = Open();
  ASSERT_NE(cache, nullptr);
  auto committed = cache->Get(Files());  // [T, D] what the server feeds LaCT
  ASSERT_TRUE(committed.ok()) << committed.status();
  const TrainableWav2Vec2 encoder = LoadTrainable((dir_ / "model").string());
  for (int64_t top : {1, 2}) {
    torch::NoGradGuard no_grad;
    auto states = TopLayerStates(encoder, *cache, {Files(), {Files()[1]}}, top, false, torch::kCPU);
    ASSERT_TRUE(states.ok()) << states.status();
    const auto& [hidden, frames] = *states;  // [2, T, D], [2]
    ASSERT_EQ(frames[0].item<int64_t>(), committed->size(0));
    const torch::Tensor first = hidden[0].narrow(0, 0, committed->size(0));
    EXPECT_TRUE(torch::allclose(first, *committed, 1e-4, 1e-4))
        << "top " << top << ": max diff " << (first - *committed).abs().max().item<float>();
    // The shorter example is padded with zeros after its own frames.
    const int64_t n1 = frames[1].item<int64_t>();
    EXPECT_LT(n1, committed->size(0));
    EXPECT_EQ(hidden[1].narrow(0, n1, hidden.size(1) - n1).abs().sum().item<float>(), 0.0f);
  }
  const int64_t misses = cache->misses();
  ASSERT_TRUE(cache->GetWindows(Files(), 1).ok());  // computed above: a hit now
  EXPECT_EQ(cache->misses(), misses);
  ASSERT_TRUE(cache->GetWindows(Files(), 0).ok());
  EXPECT_EQ(cache->misses(), misses);
  EXPECT_EQ(cache->GetWindows(Files(), 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cache->GetWindows(Files(), -1).status().code(), absl::StatusCode::kInvalidArgument);
}

// A damaged window entry is recomputed, never served and never an error.
TEST_F(TopLayerStatesTest, DamagedWindowEntryIsRecomputed) {
  auto cache = Open();
  auto good = cache->GetWindows(Files(), 1);
  ASSERT_TRUE(good.ok()) << good.status();
  ASSERT_GT(good->windows.size(0), 3);
  for (const auto& entry : fs::directory_iterator(dir_ / "cache"))
    fs::resize_file(entry.path(), fs::file_size(entry.path()) / 2);
  auto again = Open();
  auto recomputed = again->GetWindows(Files(), 1);
  ASSERT_TRUE(recomputed.ok()) << recomputed.status();
  EXPECT_EQ(again->misses(), 1);
  EXPECT_TRUE(torch::equal(recomputed->states, good->states));
  EXPECT_TRUE(torch::equal(recomputed->windows, good->windows));
}

TEST(TrainOptions, TopLayersNeedTheCacheAndAFrozenModel) {
  TrainOptions o;
  o.train_data.corpus.manifest = "/x.tsv";
  o.has_dev = false;
  o.out_dir = "/tmp/out";
  o.mode = TrainMode::kLact;
  o.base_model = "m";
  o.train_top_layers = 1;
  EXPECT_TRUE(absl::StrContains(o.Validate().message(), "--state_cache"));
  o.state_cache_dir = "/tmp/cache";
  EXPECT_TRUE(o.Validate().ok()) << o.Validate();
  o.mode = TrainMode::kTopLayers;
  EXPECT_TRUE(o.Validate().ok());
  o.train_top_layers = 0;
  EXPECT_FALSE(o.Validate().ok());  // mode top_layers trains at least one layer
  o.mode = TrainMode::kEncoder;
  o.train_top_layers = 1;
  o.state_cache_dir.clear();
  EXPECT_FALSE(o.Validate().ok());  // mode encoder trains every layer
  o.mode = TrainMode::kLact;
  o.state_cache_dir = "/tmp/cache";
  o.train_top_layers = -1;
  EXPECT_FALSE(o.Validate().ok());
  o.train_top_layers = 1;
  o.top_layers_lr_scale = 0;
  EXPECT_TRUE(absl::StrContains(o.Validate().message(), "--top_layers_lr_scale"));
}

// Joint training changes the top layer and LaCT, nothing else of the model; mode top_layers the
// top layer only. Both folders load as models; more layers than the model has is an error.
TEST_F(TopLayerStatesTest, TrainsExactlyTheTopLayersAndWritesAServableFolder) {
  auto base = LoadSafetensors((dir_ / "model" / "model.safetensors").string());
  ASSERT_TRUE(base.ok());
  for (TrainMode mode : {TrainMode::kLact, TrainMode::kTopLayers}) {
    const std::string out = TrainModeName(mode);
    auto trainer = Trainer::Create(Options(mode, 1, out));
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    ASSERT_TRUE((*trainer)->Run().ok());
    auto trained = LoadSafetensors((dir_ / out / "model.safetensors").string());
    ASSERT_TRUE(trained.ok()) << trained.status();
    int changed = 0;
    for (const auto& [name, t] : *base) {
      // Tensors inference does not use (masked_spec_embed) are not carried; the load below
      // checks every tensor the server needs is there.
      if (!trained->count(name)) continue;
      const bool top = absl::StartsWith(name, "wav2vec2.encoder.layers.1.");
      const bool same = torch::equal(trained->at(name), t);
      EXPECT_EQ(same, !top) << out << ": " << name;
      changed += !same;
    }
    EXPECT_GT(changed, 10) << out;
    EXPECT_EQ(fs::exists(dir_ / out / "lact.safetensors"), mode == TrainMode::kLact) << out;
    EXPECT_TRUE(fs::exists(dir_ / out / "vocab.json"));
    auto model = AsrModel::Load((dir_ / out).string());
    ASSERT_TRUE(model.ok()) << out << ": " << model.status();
    EXPECT_EQ((*model)->has_lact_files(), mode == TrainMode::kLact);
  }
  EXPECT_FALSE(Trainer::Create(Options(TrainMode::kTopLayers, 3, "too_many")).ok());
}

// The first step's loss of joint training (no dropout) is the loss of LaCT training on the
// frozen model's cached frames: the top layers start as the model's and feed LaCT the same frames.
TEST_F(TopLayerStatesTest, JointTrainingStartsFromTheFrozenModelsLoss) {
  TrainOptions joint = Options(TrainMode::kLact, 2, "joint");
  joint.dropout = 0;
  auto a = Trainer::Create(joint);
  ASSERT_TRUE(a.ok()) << a.status();
  auto joint_step = (*a)->StepOnce();
  ASSERT_TRUE(joint_step.ok()) << joint_step.status();
  auto b = Trainer::Create(Options(TrainMode::kLact, 0, "lact"));
  ASSERT_TRUE(b.ok());
  auto lact_step = (*b)->StepOnce();
  ASSERT_TRUE(lact_step.ok());
  EXPECT_NEAR(joint_step->first, lact_step->first, 1e-4 * std::abs(lact_step->first));
  EXPECT_GT(joint_step->second, lact_step->second);  // more parameters with a gradient
}

// Stopping after one step and resuming gives the two-step run's weights (the trained layers come
// back from the checkpoint, not from the base model).
TEST_F(TopLayerStatesTest, JointTrainingResumesExactly) {
  auto straight = Trainer::Create(Options(TrainMode::kLact, 1, "straight"));
  ASSERT_TRUE(straight.ok());
  ASSERT_TRUE((*straight)->Run().ok());
  TrainOptions o = Options(TrainMode::kLact, 1, "resumed");
  o.stop_at_step = 1;
  ASSERT_TRUE(Trainer::Create(o).value()->Run().ok());
  o.stop_at_step = 0;
  o.resume = true;
  auto resumed = Trainer::Create(o);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ((*resumed)->step(), 1);
  ASSERT_TRUE((*resumed)->Run().ok());
  for (const char* file : {"model.safetensors", "lact.safetensors"}) {
    auto x = LoadSafetensors((dir_ / "straight" / file).string());
    auto y = LoadSafetensors((dir_ / "resumed" / file).string());
    ASSERT_TRUE(x.ok() && y.ok());
    for (const auto& [name, t] : *x)
      EXPECT_TRUE(torch::allclose(y->at(name), t, 1e-5, 1e-6)) << file << ": " << name;
  }
}

}  // namespace
}  // namespace lact::train
