// The training loop of lact_train: CTC loss, AdamW, warm-up + cosine schedule, global gradient
// clipping, dev CER/WER with greedy decoding, checkpoints in the model-folder format the server
// loads (plus the optimizer state, for --resume), deterministic for a seed.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/decoding/vocab.h"
#include "core/lact/lact_config.h"
#include "core/model/wav2vec2_config.h"
#include "train/dataset.h"
#include "train/encoder_state_cache.h"
#include "train/train_options.h"
#include "train/trainable_lact.h"
#include "train/trainable_wav2vec2.h"

namespace lact::train {

struct DevScore {
  double cer = 0, wer = 0;
  int64_t utterances = 0;
  double loss = 0;  // mean CTC loss per example
};

class Trainer {
 public:
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(const TrainOptions& options);

  // Trains to options.max_steps, or until options.max_minutes have passed (from the checkpoint
  // when resuming), evaluating and saving on the way; the final model is written to
  // options.out_dir (and a checkpoint that --resume continues from).
  absl::Status Run();

  // Greedy-decoding scores on `data` (LaCT on or off in lact mode).
  absl::StatusOr<DevScore> Evaluate(const Dataset& data, bool with_lact);

  int64_t step() const { return step_; }
  // The state cache (nullptr without --state_cache).
  const EncoderStateCache* state_cache() const { return state_cache_.get(); }
  // One optimizer step on the next training batch (for tests and benchmarks; Run does the rest):
  // the loss and the gradient norm before clipping.
  absl::StatusOr<std::pair<double, double>> StepOnce();

 private:
  Trainer() = default;
  // logits [B, T, V] and valid frames [B] for a batch.
  absl::StatusOr<std::pair<torch::Tensor, torch::Tensor>> Forward(const Batch& batch, bool training,
                                                                  bool with_lact);
  // Mode lact with the state cache: the examples' cached states, padded: hidden [B, T, D] and
  // valid frames [B].
  absl::StatusOr<std::pair<torch::Tensor, torch::Tensor>> CachedStates(const Batch& batch);
  // A fresh AdamW over the trained parameters (options_: lr, weight decay).
  void ResetOptimizer();
  // Modes lact and top_layers: the encoder frozen but its top top_layers_ layers.
  void FreezeEncoder();
  // Moves the models to options_.device (after they are created or reloaded).
  absl::Status MoveModels();
  torch::Tensor CtcLoss(const torch::Tensor& logits, const torch::Tensor& frames,
                        const Batch& batch) const;
  // Run's steps. One optimizer step on `batch` (dropout seeded by the step, the scheduled lr,
  // clipped gradients).
  struct StepResult {
    double loss = 0, lr = 0, gnorm = 0;
  };
  absl::StatusOr<StepResult> TrainStep(const Batch& batch);
  // After a step: dev evaluation and checkpoint when due; true when --stop_at_step is reached.
  absl::StatusOr<bool> EvaluateAndCheckpoint(std::ostream& log);
  absl::Status SaveModel(const std::string& dir) const;
  absl::Status SaveCheckpoint() const;
  absl::Status LoadCheckpoint(const std::string& dir);

  TrainOptions options_;
  Wav2Vec2Config config_;
  std::optional<TrainableWav2Vec2> encoder_;
  std::optional<TrainableLact> lact_;
  std::optional<Vocab> vocab_;
  std::optional<Dataset> train_, dev_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<EncoderStateCache> state_cache_;  // mode lact with --state_cache
  bool do_normalize_ = true;
  int64_t top_layers_ = 0;              // options_.train_top_layers
  std::vector<double> group_lr_scale_;  // per optimizer parameter group: its share of the lr
  torch::Device device_{torch::kCPU};   // options_.device
  bool out_of_time_ = false;            // options_.max_minutes reached
  int64_t step_ = 0;
  int64_t epoch_ = 0;
  int64_t batch_in_epoch_ = 0;
};

}  // namespace lact::train
