// lact_train: trains a Wav2Vec2 CTC model (mode encoder) or the LaCT stack of a frozen model
// (mode lact) on a LibriSpeech-layout folder or a manifest, with LibTorch autograd on the CPU or a
// CUDA device (--device and --dtype, core/flags/device_flags; the model to start from is
// --base_model). Writes a model folder lact_server and lact_transcribe load as they are. See
// docs/training.md.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "core/flags/device_flags.h"
#include "core/flags/flag_names.h"
#include "core/flags/threads_flag.h"
#include "core/tools/tool_main.h"
#include "train/state_cache_flag.h"
#include "train/trainer.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(std::string, mode, "encoder",
          "encoder: train a Wav2Vec2ForCTC model (from --config, or continue --base_model); "
          "lact: freeze --base_model and train its LaCT stack through the test-time updates "
          "(with --train_top_layers N, jointly with its top N encoder layers); top_layers: "
          "fine-tune only the top --train_top_layers layers of --base_model (joint training's "
          "control)");
ABSL_FLAG(int64_t, train_top_layers, 0, "Modes lact and top_layers: also train the top N "
          "transformer layers, on window states cached below them (needs --state_cache)");
ABSL_FLAG(double, top_layers_lr_scale, 0.1, "Learning rate of the --train_top_layers layers "
          "relative to --lr");
ABSL_FLAG(std::string, config, "", "Mode encoder: Hugging Face config.json of the model to create");
ABSL_FLAG(std::string, base_model, "", "Model folder: the frozen model (mode lact) or the model to "
          "continue training (mode encoder)");
ABSL_FLAG(std::string, lact_config, "", "Mode lact: lact_config.json (default: the spec's defaults "
          "with the model's hidden size)");
ABSL_FLAG(std::string, data, "", "Folder holding LibriSpeech-layout splits (or a split folder)");
ABSL_FLAG(std::string, train_split, "train", "Training split under --data");
ABSL_FLAG(std::string, dev_split, "dev", "Dev split under --data (\"\" = no dev evaluation)");
ABSL_FLAG(std::string, train_manifest, "", "Instead of --data: a path<TAB>transcript manifest");
ABSL_FLAG(std::string, dev_manifest, "", "Instead of --data: the dev manifest");
ABSL_FLAG(int32_t, dev_limit, 0, "Evaluate on the first N dev examples only (0 = all)");
ABSL_FLAG(std::string, out, "", "Output model folder (created; checkpoint/ and train_log.tsv inside)");
ABSL_FLAG(int64_t, max_steps, 10000, "Optimizer steps");
ABSL_FLAG(int64_t, warmup_steps, 500, "Linear warm-up steps, then cosine decay");
ABSL_FLAG(double, lr, 1e-3, "Peak learning rate (AdamW)");
ABSL_FLAG(double, min_lr, 1e-5, "Learning rate at the end of the cosine decay");
ABSL_FLAG(double, weight_decay, 0.01, "AdamW decoupled weight decay");
ABSL_FLAG(double, clip_norm, 1.0, "Clip the global gradient norm to this value");
ABSL_FLAG(double, dropout, 0.1, "Dropout in the trained encoder layers (mode encoder, "
          "--train_top_layers)");
ABSL_FLAG(double, batch_seconds, 64, "Padded audio seconds per batch");
ABSL_FLAG(double, max_seconds, 20, "Skip examples longer than this (seconds)");
ABSL_FLAG(int32_t, utterances_per_example, 1, "Join this many consecutive utterances of one speaker "
          "into one example (mode lact: long inputs, so that adaptation across chunks is learned)");
ABSL_FLAG(bool, sortagrad, false, "First epoch in order of length, shortest batches first "
          "(helps CTC from scratch leave its all-blank phase); later epochs shuffled");
ABSL_FLAG(uint64_t, seed, 0, "Seed of the initialisation, the data order and dropout");
ABSL_FLAG(int64_t, log_every, 20, "Progress line every N steps");
ABSL_FLAG(int64_t, eval_every, 500, "Dev CER/WER every N steps (0 = only at the end)");
ABSL_FLAG(int64_t, checkpoint_every, 500, "Save <out>/checkpoint every N steps (0 = only at the end)");
ABSL_FLAG(bool, resume, false, "Continue from <out>/checkpoint (same flags and seed)");
ABSL_FLAG(int64_t, stop_at_step, 0, "Save a checkpoint and stop after this step (0 = run to "
          "--max_steps); --resume continues exactly from there");
ABSL_FLAG(std::string, state_cache_dtype, "float16", "Storage of --state_cache: float16 or float32");
ABSL_FLAG(double, max_minutes, 0, "Stop training after this many minutes of wall time (0 = no limit): "
          "dev evaluation, checkpoint and model are written as at --max_steps");
ABSL_FLAG(int32_t, loader_threads, 2, "Threads reading and decoding audio ahead of the trainer");
// clang-format on

namespace {

absl::StatusOr<lact::train::TrainOptions> OptionsFromFlags() {
  using namespace lact::train;
  TrainOptions o;
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "encoder") {
    o.mode = TrainMode::kEncoder;
  } else if (mode == "lact") {
    o.mode = TrainMode::kLact;
  } else if (mode == "top_layers") {
    o.mode = TrainMode::kTopLayers;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--mode must be encoder, lact or top_layers, not '", mode, "'"));
  }
  o.train_top_layers = absl::GetFlag(FLAGS_train_top_layers);
  o.top_layers_lr_scale = absl::GetFlag(FLAGS_top_layers_lr_scale);
  o.config = absl::GetFlag(FLAGS_config);
  o.base_model = absl::GetFlag(FLAGS_base_model);
  o.lact_config = absl::GetFlag(FLAGS_lact_config);
  o.out_dir = absl::GetFlag(FLAGS_out);
  const std::string data = absl::GetFlag(FLAGS_data);
  const std::string train_manifest = absl::GetFlag(FLAGS_train_manifest);
  if (data.empty() == train_manifest.empty()) {
    return absl::InvalidArgumentError("give exactly one of --data and --train_manifest");
  }
  for (DatasetOptions* d : {&o.train_data, &o.dev_data}) {
    d->batch_seconds = absl::GetFlag(FLAGS_batch_seconds);
    d->max_example_seconds = absl::GetFlag(FLAGS_max_seconds);
    d->utterances_per_example = absl::GetFlag(FLAGS_utterances_per_example);
  }
  if (!data.empty()) {
    o.train_data.corpus.librispeech_dir = data;
    o.train_data.corpus.split = absl::GetFlag(FLAGS_train_split);
    o.dev_data.corpus.librispeech_dir = data;
    o.dev_data.corpus.split = absl::GetFlag(FLAGS_dev_split);
    o.has_dev = !o.dev_data.corpus.split.empty();
  } else {
    o.train_data.corpus.manifest = train_manifest;
    o.dev_data.corpus.manifest = absl::GetFlag(FLAGS_dev_manifest);
    o.has_dev = !o.dev_data.corpus.manifest.empty();
  }
  o.dev_data.corpus.limit = absl::GetFlag(FLAGS_dev_limit);
  o.max_steps = absl::GetFlag(FLAGS_max_steps);
  o.warmup_steps = absl::GetFlag(FLAGS_warmup_steps);
  o.lr = absl::GetFlag(FLAGS_lr);
  o.min_lr = absl::GetFlag(FLAGS_min_lr);
  o.weight_decay = absl::GetFlag(FLAGS_weight_decay);
  o.clip_norm = absl::GetFlag(FLAGS_clip_norm);
  o.dropout = absl::GetFlag(FLAGS_dropout);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.sortagrad = absl::GetFlag(FLAGS_sortagrad);
  o.log_every = absl::GetFlag(FLAGS_log_every);
  o.eval_every = absl::GetFlag(FLAGS_eval_every);
  o.checkpoint_every = absl::GetFlag(FLAGS_checkpoint_every);
  o.resume = absl::GetFlag(FLAGS_resume);
  o.stop_at_step = absl::GetFlag(FLAGS_stop_at_step);
  o.torch_threads = lact::GetThreadsFlag();
  o.loader_threads = absl::GetFlag(FLAGS_loader_threads);
  o.state_cache_dir = lact::train::GetStateCacheFlag();
  const std::string cache_dtype = absl::GetFlag(FLAGS_state_cache_dtype);
  if (cache_dtype != "float16" && cache_dtype != "float32") {
    return absl::InvalidArgumentError(
        absl::StrCat("--state_cache_dtype must be float16 or float32, got '", cache_dtype, "'"));
  }
  o.state_cache_float16 = cache_dtype == "float16";
  const lact::DeviceFlags device = lact::GetDeviceFlags();
  o.device = device.device;
  o.dtype = device.dtype == "auto" ? "float32" : device.dtype;  // training: full precision
  o.max_minutes = absl::GetFlag(FLAGS_max_minutes);
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const char* const kUsage = R"(Trains a Wav2Vec2 CTC model or the LaCT stack of a frozen model.
  lact_train --config train/configs/demo.json --data DIR --out models/demo
  lact_train --mode lact --base_model models/demo --lact_config CFG --data DIR
             --utterances_per_example 8 --out models/demo-lact
  lact_train ... --device cuda --dtype bfloat16 --max_minutes 5   (tools/gpu_train.sh)
Flags accept dashes or underscores (--max-steps = --max_steps).)";
  if (!lact::ParseFlagsOnly(argc, argv, "lact_train", kUsage)) return 2;

  absl::StatusOr<lact::train::TrainOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::fprintf(stderr, "lact_train: %s\n", options.status().ToString().c_str());
    return 2;
  }
  std::fprintf(stderr, "lact_train: %s\n", options->ToString().c_str());
  return lact::RunToolMain("lact_train", [&] {
    absl::StatusOr<std::unique_ptr<lact::train::Trainer>> trainer =
        lact::train::Trainer::Create(*options);
    absl::Status s = trainer.ok() ? (*trainer)->Run() : trainer.status();
    if (!s.ok()) std::fprintf(stderr, "lact_train: %s\n", s.ToString().c_str());
    return s.ok() ? 0 : 1;
  });
}
