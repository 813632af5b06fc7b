// The server's warm-up (core/streaming/recognizer_warm_up): every batch size up to max_batch runs
// streams through their whole lives (in lockstep, so every size decodes the same number of steps),
// the budget bounds it, and a warm-up leaves what the recognizer decodes unchanged.
#include "core/streaming/recognizer_warm_up.h"

#include <filesystem>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "core/audio/audio_io.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = LACT_TEST_FIXTURES;

// tiny_group + the lact_momentum adapter, one folder per process (ctest -j).
std::shared_ptr<const AsrModel> Model() {
  static auto model = [] {
    const std::string dir = testing_util::TinyLactModelDir(kFixtures, "warm_up_model");
    auto m = AsrModel::Load(dir);
    EXPECT_TRUE(m.ok()) << m.status();
    return *m;
  }();
  return model;
}

std::unique_ptr<OnlineRecognizer> Recognizer() {
  StreamingConfig c;
  c.step_ms = 320;
  c.left_context_ms = 960;
  c.lookahead_ms = 320;
  auto r = OnlineRecognizer::Create(Model(), c);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

// The logits a LaCT stream commits for the fixture's long input.
torch::Tensor DecodeLogits(const OnlineRecognizer& rec) {
  auto audio = ReadAudioFile(kFixtures + "/tiny_group/expected_long/input.wav", 16000);
  EXPECT_TRUE(audio.ok());
  StreamOptions o;
  o.capture = true;
  auto s = rec.CreateStream(o);
  EXPECT_TRUE(s->AcceptWaveform(16000, audio->data(), audio->size()).ok());
  s->InputFinished();
  while (!s->is_final()) EXPECT_TRUE(rec.DecodeStreams({s.get()}).ok());
  return s->captured_logits();
}

TEST(WarmUp, BatchSizesDoubleUpToTheMaximum) {
  EXPECT_EQ(WarmUpBatchSizes(1), std::vector<int>({1}));
  EXPECT_EQ(WarmUpBatchSizes(8), std::vector<int>({1, 2, 4, 8}));
  EXPECT_EQ(WarmUpBatchSizes(12), std::vector<int>({1, 2, 4, 8, 12}));
}

TEST(WarmUp, RunsEveryBatchSizeAndChangesNothing) {
  auto rec = Recognizer();
  const torch::Tensor before = DecodeLogits(*rec);
  WarmUpOptions o;
  o.max_batch = 6;
  o.budget = absl::Seconds(60);
  o.stream.enable_lact = true;
  auto report = WarmUpRecognizer(*rec, o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->complete);
  EXPECT_EQ(report->batch_sizes, std::vector<int>({1, 2, 4, 6}));
  // Each size decodes its streams' whole lives in lockstep: the same count per size, and more
  // than the growing, steady and flush windows (>= 5 steps of 320 ms).
  EXPECT_EQ(report->decodes % 4, 0);
  EXPECT_GE(report->decodes / 4, 5);
  EXPECT_TRUE(absl::StrContains(report->ToString(), "batch sizes 1,2,4,6"));
  EXPECT_TRUE(torch::equal(DecodeLogits(*rec), before));
}

TEST(WarmUp, TheBudgetBoundsIt) {
  auto rec = Recognizer();
  WarmUpOptions o;
  o.max_batch = 64;
  o.budget = absl::ZeroDuration();
  auto none = WarmUpRecognizer(*rec, o);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->batch_sizes.empty());
  EXPECT_FALSE(none->complete);
  o.budget = absl::Nanoseconds(1);  // over once the first size has run
  auto one = WarmUpRecognizer(*rec, o);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->batch_sizes, std::vector<int>({1}));
  EXPECT_TRUE(absl::StrContains(one->ToString(), "budget reached"));
  o.budget = absl::Seconds(-1);
  EXPECT_FALSE(WarmUpRecognizer(*rec, o).ok());
  o.budget = absl::Seconds(1);
  o.max_batch = 0;
  EXPECT_FALSE(WarmUpRecognizer(*rec, o).ok());
}

}  // namespace
}  // namespace lact
