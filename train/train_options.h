// What lact_train does, validated once at the edge (the command line fills it).
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "train/dataset.h"

namespace lact::train {

enum class TrainMode {
  kEncoder,    // train a Wav2Vec2ForCTC model (from a config.json, or continue from a model)
  kLact,       // freeze a model and train only its LaCT stack, through the TTT updates
               // (with train_top_layers: jointly with the model's top encoder layers)
  kTopLayers,  // fine-tune only the top train_top_layers encoder layers, no LaCT: the control
               // for joint training
};

struct TrainOptions {
  TrainMode mode = TrainMode::kEncoder;
  std::string config;       // encoder: config.json of the model to create (when no base_model)
  std::string base_model;   // lact: the frozen model folder; encoder: a model to continue from
  std::string lact_config;  // lact: lact_config.json ("" = defaults, hidden_size from the model)
  DatasetOptions train_data;
  DatasetOptions dev_data;
  bool has_dev = true;
  std::string out_dir;  // the trained model folder; checkpoint/ inside it

  int64_t max_steps = 10000;
  int64_t warmup_steps = 500;
  double lr = 1e-3;  // peak; cosine decay to min_lr after warm-up
  double min_lr = 1e-5;
  double weight_decay = 0.01;  // AdamW, decoupled
  double clip_norm = 1.0;      // global gradient norm
  double dropout = 0.1;        // encoder mode
  uint64_t seed = 0;           // initialisation, data order, dropout
  bool sortagrad = false;      // first epoch from the shortest batches to the longest

  int64_t log_every = 20;
  int64_t eval_every = 500;        // dev CER/WER (0 = only at the end)
  int64_t checkpoint_every = 500;  // out_dir/checkpoint (0 = only at the end)
  int torch_threads = 0;           // 0 = LibTorch's default
  int loader_threads = 2;
  bool resume = false;       // continue from out_dir/checkpoint when it exists
  int64_t stop_at_step = 0;  // >0: save a checkpoint and stop after this step (time-boxed
                             // runs; --resume continues exactly where it stopped)
  // Mode lact: the frozen encoder's states are the committed frames of the server's streaming
  // window (its default window), computed once per example and cached here
  // (train/encoder_state_cache.h); "" = the encoder runs offline on every step.
  std::string state_cache_dir;
  bool state_cache_float16 = true;  // storage precision of the cache
  // Modes lact and top_layers: train the top N transformer layers too (the pre-LN model's final
  // encoder norm with them), on the cache's window states below them (state_cache_dir required).
  int64_t train_top_layers = 0;
  // Their learning rate relative to --lr (pretrained layers want a gentler rate than the stack).
  double top_layers_lr_scale = 0.1;
  // Where the step runs: "cpu", "cuda" or "cuda:N" (models, batches and the optimizer state;
  // the state cache's streaming encoder stays on the CPU). Checkpoints are CPU float32 always.
  std::string device = "cpu";
  // Precision of the encoder's forward pass (autocast; its weights, the LaCT stack with its fast
  // weights, lm_head and the loss stay float32): float32 (off), or on CUDA bfloat16 or float16
  // (mode lact only: training in float16 would need loss scaling).
  std::string dtype = "float32";
  double max_minutes = 0;  // >0: training stops after this wall time (dev, checkpoint, model)

  absl::Status Validate() const;
  // --device, --dtype and their combination with the mode and the state cache.
  absl::Status ValidatePrecision() const;
  std::string ToString() const;
};

// "encoder", "lact", "top_layers" (the --mode names).
const char* TrainModeName(TrainMode mode);

// The device of options.device ("--device: ..." errors: a bad name, or CUDA asked for where this
// LibTorch has no CUDA device).
absl::StatusOr<torch::Device> TrainDevice(const TrainOptions& options);
// The autocast dtype of options.dtype (kFloat = no autocast).
torch::ScalarType EncoderDtype(const TrainOptions& options);

// The learning rate at `step` (0-based): linear warm-up to `lr`, then cosine decay to `min_lr`
// at max_steps.
double LearningRateAt(const TrainOptions& options, int64_t step);

}  // namespace lact::train
