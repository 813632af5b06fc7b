// The LaCT stack (LACT_SPEC.md) for training: the layer maths of core/lact/lact_layer_math (the
// ones core/lact/lact_stack runs chunk by chunk) over whole padded sequences, on autograd-tracked
// slow weights, with the test-time-training inner loop differentiable: each chunk's fast-weight
// update (core/lact/fast_weight's FastWeightUpdate, which is functional) stays in the graph, so the
// loss on later chunks trains the projections, the learning-rate and momentum heads and the initial
// fast weights through the updates.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/lact/lact_config.h"
#include "core/lact/lact_layer_math.h"
#include "core/model/safetensors.h"

namespace lact::train {

class TrainableLact {
 public:
  // From lact.safetensors tensors (keys layers.{l}.*); shapes are checked.
  static absl::StatusOr<TrainableLact> FromTensors(const LactConfig& config,
                                                   const TensorMap& tensors);
  // The spec's deterministic untrained initialisation (o_proj = 0: the identity).
  static absl::StatusOr<TrainableLact> Untrained(const LactConfig& config);

  // x [B, T, D] (padded), frame_lengths [B] int64 -> y [B, T, D]. A chunk updates row b's fast
  // weights only when all its C frames are valid frames of row b (the spec's rule for a partial
  // last chunk), so padding never leaks into a state.
  torch::Tensor Forward(const torch::Tensor& x, const torch::Tensor& frame_lengths) const;

  std::vector<torch::Tensor> Parameters() const;
  TensorMap ExportTensors() const;  // CPU float32 copies, lact.safetensors names
  const LactConfig& config() const { return config_; }
  void To(torch::Device device);

 private:
  torch::Tensor Layer(int64_t l, const torch::Tensor& x, const torch::Tensor& frame_lengths) const;

  // layers_[l]: the leaf tensors of params_ for layer l, by role (again after To()).
  absl::Status BindLayers();

  LactConfig config_;
  TensorMap params_;                      // the leaves, lact.safetensors names
  std::vector<LactLayerWeights> layers_;  // views of params_ by layer
};

}  // namespace lact::train
