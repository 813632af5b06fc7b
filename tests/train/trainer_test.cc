// The pieces of lact_train around the models: the learning-rate schedule, transcript encoding,
// the option checks (device and precision included), the dataset's examples and batches on a small
// corpus written here, and a time-boxed run of the trainer on it.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/audio/audio_io.h"
#include "core/decoding/vocab.h"
#include "core/model/model_folder.h"
#include "train/dataset.h"
#include "train/train_options.h"
#include "train/trainer.h"

namespace lact::train {
namespace {

namespace fs = std::filesystem;

TEST(LearningRate, WarmsUpLinearlyThenDecaysByCosine) {
  TrainOptions o;
  o.lr = 1e-3;
  o.min_lr = 1e-5;
  o.warmup_steps = 10;
  o.max_steps = 110;
  EXPECT_DOUBLE_EQ(LearningRateAt(o, 0), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, 4), 5e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, 10), 1e-3);                 // peak after warm-up
  EXPECT_NEAR(LearningRateAt(o, 60), (1e-3 + 1e-5) / 2, 1e-12);  // half way: the mean
  EXPECT_NEAR(LearningRateAt(o, 110), 1e-5, 1e-15);              // the end: min_lr
  for (int64_t s = 11; s < 110; ++s) EXPECT_LT(LearningRateAt(o, s), LearningRateAt(o, s - 1));
}

TEST(EncodeTranscript, MapsCharactersAndSpacesToTokens) {
  Vocab vocab = Vocab::FromTokens(EnglishCharTokens()).value();
  std::vector<int64_t> ids = EncodeTranscript("  it's  A dog ", vocab);
  std::vector<std::string> tokens;
  for (int64_t id : ids) tokens.push_back(vocab.token(id));
  EXPECT_EQ(tokens, (std::vector<std::string>{"I", "T", "'", "S", "|", "A", "|", "D", "O", "G"}));
  // Characters outside the vocabulary are dropped, never mapped to the blank.
  std::vector<int64_t> odd = EncodeTranscript("A-1 B", vocab);
  EXPECT_EQ(odd.size(), 3u);
  for (int64_t id : odd) EXPECT_NE(id, vocab.blank_id());
}

TEST(TrainOptions, RejectsMissingOrInconsistentSettings) {
  TrainOptions o;
  o.train_data.corpus.librispeech_dir = "/x";
  o.train_data.corpus.split = "train";
  o.has_dev = false;
  EXPECT_FALSE(o.Validate().ok());  // no --out
  o.out_dir = "/tmp/out";
  EXPECT_FALSE(o.Validate().ok());  // encoder mode without --config or --base_model
  o.config = "c.json";
  EXPECT_TRUE(o.Validate().ok());
  o.mode = TrainMode::kLact;
  EXPECT_FALSE(o.Validate().ok());  // lact mode without --base_model
  o.base_model = "m";
  EXPECT_TRUE(o.Validate().ok());
  o.min_lr = 2 * o.lr;
  EXPECT_FALSE(o.Validate().ok());
  o.min_lr = 0;
  o.train_data.batch_seconds = 5;  // shorter than the longest example allowed
  EXPECT_FALSE(o.Validate().ok());
}

TEST(TrainOptions, ChecksDevicePrecisionAndTimeBudget) {
  TrainOptions o;
  o.train_data.corpus.librispeech_dir = "/x";
  o.train_data.corpus.split = "train";
  o.has_dev = false;
  o.out_dir = "/tmp/out";
  o.config = "c.json";
  ASSERT_TRUE(o.Validate().ok());
  for (const char* bad : {"gpu", "cuda:x", "CPU", ""}) {
    o.device = bad;
    const absl::Status s = o.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("--device"), std::string::npos) << s;
  }
  o.device = "cuda";
  if (!torch::cuda::is_available()) {  // CUDA asked for where there is none: a clear error
    const absl::Status s = o.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(s.message().find("CUDA"), std::string::npos) << s;
    EXPECT_NE(s.message().find("--device"), std::string::npos) << s;
  }
  o.device = "cpu";
  o.dtype = "int8";
  EXPECT_NE(o.Validate().message().find("--dtype"), std::string::npos);
  o.dtype = "bfloat16";  // CPU autocast does not cover the encoder
  EXPECT_NE(o.Validate().message().find("needs a CUDA --device"), std::string::npos);
  o.dtype = "float32";
  EXPECT_EQ(EncoderDtype(o), torch::kFloat);
  o.dtype = "bfloat16";
  EXPECT_EQ(EncoderDtype(o), torch::kBFloat16);
  o.dtype = "float32";
  o.max_minutes = -1;
  EXPECT_NE(o.Validate().message().find("--max_minutes"), std::string::npos);
  o.max_minutes = 0.5;
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_EQ(TrainDevice(o).value(), torch::Device(torch::kCPU));
}

// A LibriSpeech-layout split: `speakers` speakers with `per_speaker` utterances each, utterance
// k of a speaker lasting 1 + 0.5 k seconds.
std::string WriteCorpus(const std::string& name, int speakers, int per_speaker) {
  const fs::path root = fs::path(::testing::TempDir()) / name;
  fs::remove_all(root);
  for (int s = 0; s < speakers; ++s) {
    const std::string spk = std::to_string(100 + s), chap = std::to_string(7);
    const fs::path dir = root / "train" / spk / chap;
    fs::create_directories(dir);
    std::ofstream trans(dir / (spk + "-" + chap + ".trans.txt"));
    for (int k = 0; k < per_speaker; ++k) {
      const std::string id = spk + "-" + chap + "-" + std::to_string(1000 + k);
      std::vector<float> wave(static_cast<size_t>(16000 * (1.0 + 0.5 * k)), 0.1f);
      EXPECT_TRUE(WriteWav16((dir / (id + ".wav")).string(), wave, 16000).ok());
      trans << id << " WORD" << k << " OF " << spk << "\n";
    }
  }
  return root.string();
}

TEST(Dataset, GroupsConsecutiveUtterancesOfOneSpeaker) {
  DatasetOptions o;
  o.corpus.librispeech_dir = WriteCorpus("ds_group", 2, 5);
  o.corpus.split = "train";
  o.utterances_per_example = 2;
  o.max_example_seconds = 100;
  o.batch_seconds = 100;
  Dataset d = Dataset::Load(o, 2).value();
  // 5 utterances per speaker in pairs: 3 examples each, never across speakers.
  ASSERT_EQ(d.num_examples(), 6);
  EXPECT_EQ(d.examples()[0].audio_paths.size(), 2u);
  EXPECT_EQ(d.examples()[2].audio_paths.size(), 1u);
  EXPECT_EQ(d.examples()[0].reference, "WORD0 OF 100 WORD1 OF 100");
  EXPECT_NEAR(d.examples()[0].seconds, 1.0 + 1.5, 1e-6);
  // Too long examples are skipped and counted.
  o.max_example_seconds = 4;
  o.batch_seconds = 8;
  Dataset shorter = Dataset::Load(o, 1).value();
  EXPECT_EQ(shorter.num_examples(), 4);  // pairs of 2.5 s and 3.5 s per speaker; 4.5+ skipped
  EXPECT_EQ(shorter.skipped(), 2);
}

TEST(Dataset, BatchesRespectTheBudgetAndAreDeterministicPerSeedAndEpoch) {
  DatasetOptions o;
  o.corpus.librispeech_dir = WriteCorpus("ds_batches", 4, 6);
  o.corpus.split = "train";
  o.max_example_seconds = 4;
  o.batch_seconds = 8;
  Dataset d = Dataset::Load(o, 2).value();
  ASSERT_EQ(d.num_examples(), 24);
  auto a = d.EpochBatches(1, 0), b = d.EpochBatches(1, 0), c = d.EpochBatches(1, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::set<int64_t> seen;
  for (const auto& batch : a) {
    double longest = 0;
    for (int64_t i : batch) longest = std::max(longest, d.examples()[i].seconds), seen.insert(i);
    EXPECT_LE(longest * batch.size(), o.batch_seconds + 1e-9);
  }
  EXPECT_EQ(seen.size(), 24u);  // every example once per epoch

  Vocab vocab = Vocab::FromTokens(EnglishCharTokens()).value();
  Batch batch = d.ReadBatch(a.front(), vocab).value();
  EXPECT_EQ(batch.waveform.size(0), static_cast<int64_t>(a.front().size()));
  EXPECT_EQ(batch.waveform.size(1), batch.lengths.max().item<int64_t>());
  EXPECT_EQ(batch.targets.size(0), batch.target_lengths.sum().item<int64_t>());
  // Normalised per example: the valid samples of a constant signal become ~0 (mean removed).
  EXPECT_LT(
      batch.waveform[0].narrow(0, 0, batch.lengths[0].item<int64_t>()).abs().max().item<float>(),
      1e-3);

  // The prefetcher hands the batches back in order.
  BatchPrefetcher loader(d, vocab, a, 2);
  for (const auto& expected : a) {
    Batch got = loader.Next().value();
    EXPECT_EQ(got.references.size(), expected.size());
    EXPECT_EQ(got.references[0], d.examples()[expected[0]].reference);
  }
  EXPECT_TRUE(loader.Done());
}

TEST(Dataset, MissingCorpusIsAnError) {
  DatasetOptions o;
  o.corpus.librispeech_dir = "/nonexistent/corpus";
  o.corpus.split = "train";
  EXPECT_FALSE(Dataset::Load(o, 1).ok());
}

// A budget of 1e-6 minutes stops after the first step as if it were the last: dev is evaluated,
// the checkpoint and the model folder are written, and --resume continues from the checkpoint.
TEST(Trainer, TimeBudgetStopsEarlyWithACheckpoint) {
  const fs::path dir = fs::path(::testing::TempDir()) / "time_budget";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "tiny.json") << R"({"architectures": ["Wav2Vec2ForCTC"],
    "conv_dim": [8, 16], "conv_kernel": [10, 8], "conv_stride": [5, 4], "conv_bias": true,
    "feat_extract_norm": "layer", "hidden_size": 16, "num_hidden_layers": 1,
    "num_attention_heads": 2, "intermediate_size": 32, "num_conv_pos_embeddings": 8,
    "num_conv_pos_embedding_groups": 2, "do_stable_layer_norm": true, "vocab_size": 32})";
  TrainOptions o;
  o.config = (dir / "tiny.json").string();
  o.train_data.corpus.librispeech_dir = WriteCorpus("time_budget_corpus", 2, 3);
  o.train_data.corpus.split = "train";
  o.train_data.batch_seconds = o.train_data.max_example_seconds = 4;
  o.dev_data = o.train_data;
  o.out_dir = (dir / "out").string();
  o.max_steps = 50;
  o.warmup_steps = 1;
  o.eval_every = o.checkpoint_every = 0;  // only at the end
  o.max_minutes = 1e-6;
  std::unique_ptr<Trainer> t = Trainer::Create(o).value();
  ASSERT_TRUE(t->Run().ok());
  EXPECT_EQ(t->step(), 1);
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "model.safetensors"));
  std::ifstream state(fs::path(o.out_dir) / "checkpoint" / "trainer_state.json");
  const std::string text((std::istreambuf_iterator<char>(state)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"step\": 1"), std::string::npos) << text;
  std::ifstream log(fs::path(o.out_dir) / "train_log.tsv");
  const std::string rows((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(rows.find("1\tdev\t"), std::string::npos) << rows;  // dev evaluated at the stop

  o.max_minutes = 0;  // resumed without a budget: on to max_steps
  o.max_steps = 3;
  o.resume = true;
  std::unique_ptr<Trainer> resumed = Trainer::Create(o).value();
  EXPECT_EQ(resumed->step(), 1);
  ASSERT_TRUE(resumed->Run().ok());
  EXPECT_EQ(resumed->step(), 3);
}

}  // namespace
}  // namespace lact::train
