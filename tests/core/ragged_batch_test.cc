// Ragged batching: windows of different lengths right-padded into one encoder call
// (Wav2Vec2Model::Encode with lengths, Wav2Vec2ForwardOptions::exact_padding) give, in each row's
// valid frames, what the row gives encoded alone; and the streaming recognizer's
// window_batching "padded" gives the logits of "by_length" with one encoder call per step.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/model/random_model.h"
#include "core/model/wav2vec2_model.h"
#include "core/streaming/online_recognizer.h"
#include "tests/core/streaming_test_util.h"

namespace lact {
namespace {

const std::string kFixtures = LACT_TEST_FIXTURES;

// "group": wav2vec2-base's layout (GroupNorm over time in the first conv layer, post-LN);
// "layer": large-lv60's (LayerNorm in every conv layer, pre-LN).
Wav2Vec2Config Config(const std::string& norm) {
  Wav2Vec2Config c = TinyConfig();
  c.feat_extract_norm = norm;
  c.do_stable_layer_norm = norm == "layer";
  return c;
}

Wav2Vec2Model Model(const std::string& norm, torch::ScalarType dtype) {
  const Wav2Vec2Config c = Config(norm);
  Precision precision;
  precision.dtype = dtype;
  auto m = Wav2Vec2Model::FromTensors(c, RandomWav2Vec2Tensors(c, 7), torch::kCPU, precision);
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(*m);
}

// Rows of 0.3 s, 0.61 s and 1.25 s in one [3, 20000] batch whose padding is loud noise (so that
// any leak of it into a valid frame shows); each row's valid frames against the row alone.
// Returns the largest difference relative to the largest |value| of the rows alone.
double WorstRowDifference(const Wav2Vec2Model& model, bool with_lengths) {
  torch::manual_seed(11);
  const std::vector<int64_t> lengths = {4800, 9723, 20000};
  const int64_t S = lengths.back();
  torch::Tensor batch = torch::randn({3, S}) * 5.0;  // [3, S]: everything padding first
  std::vector<torch::Tensor> alone;
  for (size_t b = 0; b < lengths.size(); ++b) {
    const torch::Tensor row = torch::randn({1, lengths[b]});  // [1, S_b]
    batch[b].narrow(0, 0, lengths[b]).copy_(row[0]);
    alone.push_back(model.Encode(row)[0]);  // [T_b, D]
  }
  const torch::Tensor hidden = with_lengths ? model.Encode(batch, torch::tensor(lengths))
                                            : model.Encode(batch);  // [3, T, D]
  EXPECT_EQ(hidden.size(1), model.config().NumFrames(S));
  double worst = 0.0, scale = 0.0;
  for (size_t b = 0; b < lengths.size(); ++b) {
    const int64_t T = model.config().NumFrames(lengths[b]);
    EXPECT_EQ(alone[b].size(0), T);
    const torch::Tensor got = hidden[static_cast<int64_t>(b)].narrow(0, 0, T);
    worst = std::max(worst, (got - alone[b]).abs().max().item<double>());
    scale = std::max(scale, alone[b].abs().max().item<double>());
  }
  return worst / scale;
}

TEST(RaggedBatchTest, EachPaddedRowIsTheRowAloneInFloat32) {
  for (const std::string norm : {"group", "layer"}) {
    const Wav2Vec2Model model = Model(norm, torch::kFloat32);
    EXPECT_LT(WorstRowDifference(model, true), 1e-5) << norm;
    // The same batch without lengths: the padding leaks into the short rows (the check above
    // can fail).
    EXPECT_GT(WorstRowDifference(model, false), 1e-2) << norm;
  }
}

// bfloat16 on the CPU folds the first layer's GroupNorm into its convolution with statistics
// over the row's patches (wav2vec2_forward.cc): those too must be the valid patches only. The
// bound is bf16's (the padded call's shapes differ, so its roundings do); leaked padding noise
// at 5x the signal's size errs by the output's own size.
TEST(RaggedBatchTest, EachPaddedRowIsTheRowAloneInBfloat16) {
  const Wav2Vec2Model model = Model("group", torch::kBFloat16);
  EXPECT_LT(WorstRowDifference(model, true), 0.05);
  EXPECT_GT(WorstRowDifference(model, false), 0.1);
}

std::shared_ptr<const AsrModel> LactModel() {
  static auto model = testing_util::LoadTinyLactModel(kFixtures, "ragged_batch_model");
  return model;
}

// Three streams starting 0.3 s apart, fed 100 ms a round in lockstep, each round's ready streams
// in one model step: early partials, first steps, steady and last windows of different lengths
// meet in the same steps. "padded" and "by_length" recognizers see the same rounds; every
// step's logits must agree, and "padded" makes one encoder call where "by_length" makes several.
TEST(RaggedBatchTest, PaddedWindowsGiveTheLogitsOfOneCallPerLength) {
  StreamingConfig c = testing_util::SmallStreamingWindow();
  c.first_partial_ms = 100;
  std::map<std::string, std::unique_ptr<OnlineRecognizer>> recs;
  std::map<std::string, std::vector<std::unique_ptr<OnlineStream>>> streams;
  for (const std::string mode : {"padded", "by_length"}) {
    c.window_batching = mode;
    auto rec = OnlineRecognizer::Create(LactModel(), c);
    ASSERT_TRUE(rec.ok()) << rec.status();
    recs[mode] = std::move(*rec);
    for (int k = 0; k < 3; ++k) streams[mode].push_back(recs[mode]->CreateStream());
  }
  const std::vector<float> audio = testing_util::LongTestAudio(kFixtures);
  const size_t length[3] = {audio.size(), audio.size() - 20000, audio.size() - 43000};
  int max_by_length_calls = 0, steps = 0;
  for (int round = 0; round < 80; ++round) {
    std::map<std::string, std::vector<PendingStep>> pending;
    std::map<std::string, EncoderStepStats> stats;
    for (auto& [mode, ss] : streams) {
      std::vector<OnlineStream*> ready;
      for (int k = 0; k < 3; ++k) {
        const int64_t at = (round - 3 * k) * 1600;  // stream k starts at round 3k
        if (at >= 0 && static_cast<size_t>(at) < length[k]) {
          const size_t n = std::min<size_t>(1600, length[k] - static_cast<size_t>(at));
          ASSERT_TRUE(ss[k]->AcceptWaveform(16000, audio.data() + at, n).ok());
          if (static_cast<size_t>(at) + n == length[k]) ss[k]->InputFinished();
        }
        if (recs[mode]->IsReady(*ss[k])) ready.push_back(ss[k].get());
      }
      auto p = recs[mode]->RunModelStep(ready, &stats[mode]);
      ASSERT_TRUE(p.ok()) << p.status();
      pending[mode] = std::move(*p);
    }
    ASSERT_EQ(pending["padded"].size(), pending["by_length"].size()) << round;
    if (pending["padded"].empty()) continue;
    ++steps;
    const EncoderStepStats& padded = stats["padded"];
    const EncoderStepStats& by_length = stats["by_length"];
    EXPECT_LE(padded.calls, 1) << round;
    max_by_length_calls = std::max(max_by_length_calls, by_length.calls);
    // The same windows; padding only where lengths differed, and then the rows' shortfall.
    EXPECT_EQ(padded.window_frames, by_length.window_frames) << round;
    EXPECT_EQ(by_length.padding_frames, 0) << round;
    EXPECT_EQ(padded.padding_frames > 0, by_length.calls > 1) << round;
    for (size_t i = 0; i < pending["padded"].size(); ++i) {
      const torch::Tensor a = pending["padded"][i].logits, b = pending["by_length"][i].logits;
      ASSERT_EQ(a.sizes(), b.sizes()) << round;
      EXPECT_LT((a - b).abs().max().item<double>(), 1e-4 * (1.0 + b.abs().max().item<double>()))
          << "round " << round << ", step " << i;
    }
    for (auto& [mode, ps] : pending)
      for (const PendingStep& p : ps) recs[mode]->FinishStep(p);
  }
  EXPECT_GE(max_by_length_calls, 2) << "the rounds never mixed window lengths";
  EXPECT_GE(steps, 20);
  for (int k = 0; k < 3; ++k) {
    ASSERT_TRUE(streams["padded"][k]->is_final()) << k;
    EXPECT_EQ(streams["padded"][k]->result().text, streams["by_length"][k]->result().text) << k;
    EXPECT_FALSE(streams["padded"][k]->result().text.empty()) << k;
  }
}

TEST(RaggedBatchTest, TheModeIsValidatedAndAutoFollowsTheDevice) {
  StreamingConfig c;
  EXPECT_EQ(c.window_batching, "auto");
  EXPECT_TRUE(c.PadsWindows(/*cuda=*/true));
  EXPECT_FALSE(c.PadsWindows(/*cuda=*/false));
  c.window_batching = "padded";
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_TRUE(c.PadsWindows(false));
  c.window_batching = "by_length";
  EXPECT_FALSE(c.PadsWindows(true));
  c.window_batching = "ragged";
  EXPECT_EQ(c.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OnlineRecognizer::Create(LactModel(), c).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lact
