// The encoder state cache of LaCT training (issue 20): what it returns is what the streaming
// recognizer feeds LaCT (the committed frames), a second read is a hit with the same values
// (float32 exactly, float16 to its rounding), and a changed model, audio file or window is never
// served a stale entry; a damaged entry is recomputed.
#include "train/encoder_state_cache.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "core/audio/audio_io.h"
#include "tests/train/state_cache_test_util.h"
#include "train/train_options.h"
#include "train/trainer.h"

namespace lact::train {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = LACT_TEST_FIXTURES;

class EncoderStateCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("state_cache_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    testing_util::MakeStateCacheTestFolder(dir_, kFixtures);
    auto audio = ReadAudioFile((dir_ / "a.wav").string(), 16000);
    ASSERT_TRUE(audio.ok()) << audio.status();
    audio_ = *audio;
  }
  void TearDown() override { fs::remove_all(dir_); }

  StateCacheOptions Options(torch::ScalarType dtype = torch::kFloat) const {
    StateCacheOptions o;
    o.dir = (dir_ / "cache").string();
    o.window.step_ms = 320;
    o.window.left_context_ms = 960;
    o.window.lookahead_ms = 320;
    o.dtype = dtype;
    return o;
  }
  std::unique_ptr<EncoderStateCache> Open(const StateCacheOptions& o) const {
    auto cache = EncoderStateCache::Open(o, (dir_ / "model").string());
    EXPECT_TRUE(cache.ok()) << cache.status();
    return cache.ok() ? *std::move(cache) : nullptr;
  }
  std::vector<std::string> Files() const {
    return {(dir_ / "a.wav").string(), (dir_ / "b.wav").string()};
  }

  fs::path dir_;
  std::vector<float> audio_;
};

TEST_F(EncoderStateCacheTest, StatesAreTheRecognizersCommittedFramesAndHitTheSecondTime) {
  auto cache = Open(Options());
  ASSERT_NE(cache, nullptr);
  auto first = cache->Get(Files());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(cache->misses(), 1);
  EXPECT_EQ(cache->hits(), 0);
  EXPECT_GT(cache->bytes_written(), first->numel() * 4);
  // The frames a stream of the same audio commits (the files joined, read as the server would).
  auto wav16 = ReadAudioFile((dir_ / "a.wav").string(), 16000);
  auto half = ReadAudioFile((dir_ / "b.wav").string(), 16000);
  ASSERT_TRUE(wav16.ok() && half.ok());
  std::vector<float> joined = *wav16;
  joined.insert(joined.end(), half->begin(), half->end());
  StateCacheOptions o = Options();
  AsrModelOptions model_options;
  model_options.load_lact = false;
  auto model = AsrModel::Load((dir_ / "model").string(), model_options);
  ASSERT_TRUE(model.ok());
  auto rec = OnlineRecognizer::Create(*model, o.window);
  ASSERT_TRUE(rec.ok());
  StreamOptions so;
  so.capture = true;
  auto stream = (*rec)->CreateStream(so);
  const size_t piece = 16000 * 320 / 1000;
  for (size_t at = 0; at < joined.size(); at += piece) {
    ASSERT_TRUE(
        stream->AcceptWaveform(16000, joined.data() + at, std::min(piece, joined.size() - at))
            .ok());
    while ((*rec)->IsReady(*stream)) ASSERT_TRUE((*rec)->DecodeStreams({stream.get()}).ok());
  }
  stream->InputFinished();
  while (!stream->is_final()) ASSERT_TRUE((*rec)->DecodeStreams({stream.get()}).ok());
  EXPECT_TRUE(torch::equal(*first, stream->captured_hidden()));
  EXPECT_EQ(first->size(0),
            (*model)->encoder().config().NumFrames(static_cast<int64_t>(joined.size())));

  auto second = cache->Get(Files());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(cache->hits(), 1);
  EXPECT_TRUE(torch::equal(*first, *second));
  // Another process (a new cache object) finds it too.
  auto again = Open(Options());
  ASSERT_TRUE(again->Get(Files()).ok());
  EXPECT_EQ(again->hits(), 1);
  EXPECT_EQ(again->misses(), 0);
}

TEST_F(EncoderStateCacheTest, Float16EntriesHoldHalfTheBytesWithinItsRounding) {
  auto full = Open(Options(torch::kFloat));
  auto half = Open(Options(torch::kHalf));
  auto a = full->Get(Files());
  auto b = half->Get(Files());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(half->misses(), 1);  // another dtype is another key
  const float scale = a->abs().max().item<float>();
  EXPECT_LE((*a - *b).abs().max().item<float>(), 1e-3f * scale);
  EXPECT_LT(half->bytes_written(), full->bytes_written() * 6 / 10);
  auto hit = half->Get(Files());
  ASSERT_TRUE(hit.ok());
  EXPECT_TRUE(torch::equal(*hit, *b));  // a miss returns what a hit reads back
}

TEST_F(EncoderStateCacheTest, ChangedModelAudioOrWindowIsNeverServedStale) {
  auto cache = Open(Options());
  auto original = cache->Get(Files());
  ASSERT_TRUE(original.ok());

  // The recognizer's window rule is part of the key (the entry stores the key text on its second
  // line): states computed under an older rule (OnlineRecognizer::kWindowPlanVersion) are another
  // key.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "cache")) {
    std::ifstream in(e.path());
    std::string magic, key;
    std::getline(in, magic);
    std::getline(in, key);
    EXPECT_NE(key.find(";plan=" + std::to_string(OnlineRecognizer::kWindowPlanVersion) + ";"),
              std::string::npos)
        << key;
    ++entries;
  }
  EXPECT_EQ(entries, 1);

  // Another window.
  StateCacheOptions wider = Options();
  wider.window.left_context_ms = 1280;
  auto other_window = Open(wider);
  ASSERT_TRUE(other_window->Get(Files()).ok());
  EXPECT_EQ(other_window->misses(), 1);

  // The audio file rewritten with other samples (same name, same length).
  std::vector<float> louder = audio_;
  for (float& x : louder) x *= 0.5f;
  ASSERT_TRUE(WriteWav16((dir_ / "a.wav").string(), louder, 16000).ok());
  fs::last_write_time(dir_ / "a.wav",
                      fs::last_write_time(dir_ / "a.wav") + std::chrono::seconds(2));
  auto changed = cache->Get(Files());
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(cache->misses(), 2);
  EXPECT_FALSE(torch::equal(*changed, *original));

  // Another base model: one weight changed.
  const fs::path weights = dir_ / "model" / "model.safetensors";
  {
    std::fstream f(weights, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const std::streamoff size = f.tellg();
    f.seekp(size - 3);
    f.put('\x3f');
  }
  auto other_model = Open(Options());
  ASSERT_TRUE(other_model->Get(Files()).ok());
  EXPECT_EQ(other_model->misses(), 1);
  EXPECT_EQ(other_model->hits(), 0);
}

TEST_F(EncoderStateCacheTest, DamagedEntriesAreRecomputed) {
  auto cache = Open(Options());
  auto original = cache->Get(Files());
  ASSERT_TRUE(original.ok());
  for (const auto& entry : fs::directory_iterator(Options().dir)) {
    fs::resize_file(entry.path(), fs::file_size(entry.path()) - 10);  // truncated
  }
  auto again = cache->Get(Files());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(cache->misses(), 2);
  EXPECT_TRUE(torch::equal(*again, *original));
  auto hit = cache->Get(Files());
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(cache->hits(), 1);  // the rewritten entry is whole
  EXPECT_FALSE(EncoderStateCache::Open(StateCacheOptions{}, (dir_ / "model").string()).ok());
}

// Issue 20, acceptance 1: a LaCT training step from the cache is the step computed without it
// (the first trainer fills the cache: its step computes the states; the second reads them), and
// a float16 cache gives the same loss within 1e-3 relative.
TEST_F(EncoderStateCacheTest, TrainingStepFromTheCacheEqualsTheComputedStep) {
  {
    std::ofstream manifest(dir_ / "train.tsv");
    manifest << (dir_ / "a.wav").string() << "\tTHE CAT SAT ON THE MAT\n"
             << (dir_ / "b.wav").string() << "\tA TEN\n";
  }
  const auto options = [&](const std::string& cache, bool float16) {
    TrainOptions o;
    o.mode = TrainMode::kLact;
    o.base_model = (dir_ / "model").string();
    o.lact_config = kFixtures + "/lact_momentum/lact_config.json";
    o.train_data.corpus.manifest = (dir_ / "train.tsv").string();
    o.train_data.max_example_seconds = 60;
    o.has_dev = false;
    o.out_dir = (dir_ / "out").string();
    o.max_steps = 10;
    o.warmup_steps = 0;
    o.seed = 3;
    o.loader_threads = 1;
    o.state_cache_dir = (dir_ / cache).string();
    o.state_cache_float16 = float16;
    return o;
  };
  auto computed = Trainer::Create(options("cache32", false));
  ASSERT_TRUE(computed.ok()) << computed.status();
  auto first = (*computed)->StepOnce();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*computed)->state_cache()->hits(), 0);
  EXPECT_EQ((*computed)->state_cache()->misses(), 2);

  auto cached = Trainer::Create(options("cache32", false));
  ASSERT_TRUE(cached.ok());
  auto second = (*cached)->StepOnce();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*cached)->state_cache()->hits(), 2);
  EXPECT_EQ((*cached)->state_cache()->misses(), 0);
  EXPECT_NEAR(second->first, first->first, 1e-6 * std::abs(first->first));     // the loss
  EXPECT_NEAR(second->second, first->second, 1e-6 * std::abs(first->second));  // gradient norm
  EXPECT_GT(first->second, 0);

  auto half = Trainer::Create(options("cache16", true));
  ASSERT_TRUE(half.ok());
  auto third = (*half)->StepOnce();
  ASSERT_TRUE(third.ok());
  EXPECT_NEAR(third->first, first->first, 1e-3 * std::abs(first->first));
}

}  // namespace
}  // namespace lact::train
