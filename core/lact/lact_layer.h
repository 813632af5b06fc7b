// One LaCT layer (LACT_SPEC.md "One layer") for streaming inference: its slow weights and the
// three batched pieces of its computation that LactStack strings together (the maths itself is
// core/lact/lact_layer_math, shared with training):
//   Project: x -> LayerNorm -> q (for the apply) and the per-frame "rows" (k, v, lr, beta) that
//            the open chunk keeps until it is full;
//   Output:  y = x + o_proj(RMSNorm(FastWeightApply(q)))  with a given fast-weight state;
//   Update:  the chunk's fast-weight update from its rows.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/lact/fast_weight.h"
#include "core/lact/lact_config.h"
#include "core/lact/lact_layer_math.h"
#include "core/model/safetensors.h"

namespace lact {

class LactLayer {
 public:
  LactLayer() = default;

  // Takes `layers.{index}.*` from `tensors` (as read from lact.safetensors), checking that every
  // key is present with its exact shape: an error names the missing or mis-shaped key.
  // `momentum_proj.*` is required only when config.use_momentum.
  static absl::StatusOr<LactLayer> FromTensors(const LactConfig& config, const TensorMap& tensors,
                                               int64_t index, torch::Device device);
  // The deterministic untrained initialisation (spec "Suggested initial values"; o_proj = 0),
  // drawn from `generator` (a CPU generator) so that it is the same on every device.
  static LactLayer Untrained(const LactConfig& config, at::Generator& generator,
                             torch::Device device);
  // Adds this layer's slow weights, as CPU float32 copies named `layers.{index}.*`, to `out`.
  void ExportTensors(int64_t index, TensorMap* out) const;

  // Width F of one frame's row: k (D) | v (D) | lr0, lr1, lr2 (3H) | beta (H, with momentum).
  int64_t row_width() const;
  // (W0, W1ᵀ, W2) of a fresh stream: [3, H, m, d].
  const torch::Tensor& initial_fast() const { return initial_fast_; }

  struct Projections {
    torch::Tensor q;     // [B, H, N, d], l2-normalised
    torch::Tensor rows;  // [B, N, F]: k (l2-normalised, heads concatenated) | v | lr | beta
  };
  // x: [B, N, D] (padding frames allowed: they only produce rows the caller ignores).
  Projections Project(const torch::Tensor& x) const;

  // x: [B, N, D]; q: [B, H, N, d]; fast: [B, 3, H, m, d] -> y [B, N, D].
  torch::Tensor Output(const torch::Tensor& x, const torch::Tensor& q,
                       const torch::Tensor& fast) const;

  // The update of U full chunks, in place. rows: [U, C, F]; fast: [U, 3, H, m, d];
  // momentum: [U, 3, H, m, d] (ignored without use_momentum).
  void Update(const torch::Tensor& rows, torch::Tensor* fast, torch::Tensor* momentum) const;

  // The dtype of the slow-weight projections' products (the fused q/k/v/lr/momentum projection
  // and o_proj, 84% of a layer's FLOPs between chunk updates): float32 (the default) or bfloat16,
  // from copies of the float32 slow weights, which stay as they are (ExportTensors). Inputs,
  // outputs, fast weights and every other operation stay float32.
  void set_projection_dtype(torch::ScalarType dtype);
  torch::ScalarType projection_dtype() const { return projection_.weight.scalar_type(); }

 private:
  void Finish();  // derives the fused projection, initial_fast_ and the row norms

  LactConfig config_;
  LactLayerWeights w_;  // slow weights (on the layer's device, float32)
  // Derived.
  LactFusedProjection projection_;  // [3D + 3H (+ H), D], [3D + 3H (+ H)]: qkv | lr | momentum
  torch::Tensor o_proj_;            // [D, D]: w_.o_proj_w in the projection dtype
  torch::Tensor initial_fast_;      // [3, H, m, d]
  LactRowNorms row_norms_;          // [H, m], [H, d], [H, m]: initial row norms of W0, W1, W2
};

}  // namespace lact
