// The frames the server feeds LaCT, computed with the top encoder layers in the autograd graph
// (lact_train --train_top_layers N). The server's encoder runs each streaming window whole (left
// context, step, lookahead) and commits a step's rows of its output; here the cache holds each
// window's input of layer L-N (frozen below), the trained layers run on every window, and each
// window's committed rows, joined in order, are an example's frames: exactly what the server
// would feed LaCT with these layers (tests/train/top_layer_states_test.cc checks it against the
// streaming recognizer).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "train/encoder_state_cache.h"
#include "train/trainable_wav2vec2.h"

namespace lact::train {

// `examples`: each example's audio files (joined in order). Returns hidden [B, T, D] float32 on
// `device` (rows past an example's frames are zero) and its valid frames [B] int64. The layers
// from num_hidden_layers - top_layers on run with dropout when `training`.
absl::StatusOr<std::pair<torch::Tensor, torch::Tensor>> TopLayerStates(
    const TrainableWav2Vec2& encoder, EncoderStateCache& cache,
    const std::vector<std::vector<std::string>>& examples, int64_t top_layers, bool training,
    torch::Device device);

// The encoder of `model_dir`, a model trained from `frozen_dir` with --train_top_layers
// `top_layers`: FailedPrecondition (naming the tensor) unless every parameter below those layers
// equals the frozen model's, which is what makes frames from the frozen model's cached windows
// (TopLayerStates) exactly this model's.
absl::StatusOr<TrainableWav2Vec2> LoadTrainedTopLayers(const std::string& model_dir,
                                                       const std::string& frozen_dir,
                                                       int64_t top_layers);

}  // namespace lact::train
