// The one definition of a LaCT layer's slow weights and maths (LACT_SPEC.md "One layer"), shared
// by inference (core/lact/lact_layer, chunk by chunk over streams) and training
// (train/trainable_lact, whole padded sequences under autograd). The fast-weight apply and
// update themselves are core/lact/fast_weight. Every function here is differentiable.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/lact/fast_weight.h"
#include "core/lact/lact_config.h"
#include "core/model/safetensors.h"

namespace lact {

// One layer's slow weights, as named in lact.safetensors under `layers.{index}.`.
struct LactLayerWeights {
  torch::Tensor norm_w, norm_b;  // [D], [D]          norm.weight, norm.bias
  torch::Tensor qkv_w;           // [3D, D]           qkv.weight
  torch::Tensor lr_w, lr_b;      // [3H, D], [3H]     lr_proj.weight, lr_proj.bias
  torch::Tensor mom_w,
      mom_b;                 // [H, D], [H]       momentum_proj.* (undefined when absent and unused)
  torch::Tensor w0, w1, w2;  // [H, m, d], [H, d, m], [H, m, d]
  torch::Tensor out_norm_w;  // [d]               out_norm.weight
  torch::Tensor o_proj_w;    // [D, D]            o_proj.weight

  // Takes `layers.{index}.*` from `tensors`, checking that every key is present with its exact
  // shape (an error names the missing or mis-shaped key), as float32 on `device`.
  // `momentum_proj.*` is required only when config.use_momentum.
  static absl::StatusOr<LactLayerWeights> Take(const LactConfig& config, const TensorMap& tensors,
                                               int64_t index, torch::Device device);
  // The spec's deterministic untrained initialisation ("Suggested initial values"; o_proj = 0, so
  // the layer is the identity), drawn from `generator` (a CPU generator) in a fixed order.
  static LactLayerWeights Untrained(const LactConfig& config, at::Generator& generator,
                                    torch::Device device);
  // Adds CPU float32 copies named `layers.{index}.*` to `out`.
  void Export(int64_t index, TensorMap* out) const;
};

// Steps 1-5's linear maps fused into one: [3D + 3H (+ H), D] weight and bias (qkv | lr | momentum).
struct LactFusedProjection {
  torch::Tensor weight;
  torch::Tensor bias;
};
LactFusedProjection FuseLactProjection(const LactConfig& config, const LactLayerWeights& w);

// Steps 1-5 for every frame, token-major. The fused projection's product runs in the dtype of
// `projection` (float32 in training; inference may pass a bfloat16 copy, LactLayer); x and the
// features are float32.
struct LactFeatures {
  torch::Tensor q;     // [B, N, H, d] l2-normalised
  torch::Tensor k;     // [B, N, H, d] l2-normalised
  torch::Tensor v;     // [B, N, D]
  torch::Tensor lr;    // [B, N, 3H]   lr_scale · softplus(·): (lr0 | lr1 | lr2) per head
  torch::Tensor beta;  // [B, N, H]    sigmoid(·), only with use_momentum
};
// x: [B, N, D].
LactFeatures LactProject(const LactConfig& config, const LactLayerWeights& w,
                         const LactFusedProjection& projection, const torch::Tensor& x);

// Step 6: a fresh stream's (W0, W1ᵀ, W2): [3, H, m, d].
torch::Tensor LactInitialFast(const LactLayerWeights& w);
// The initial row norms the weight-norm update restores: [H, m], [H, d], [H, m].
struct LactRowNorms {
  torch::Tensor r0, r1, r2;
};
LactRowNorms LactInitialRowNorms(const LactLayerWeights& w);
// The update's options from the config (momentum, Muon, weight norm).
FastWeightUpdateOptions LactUpdateOptions(const LactConfig& config);

// Steps 8-9: x [B, N, D], o [B, H, N, d] (the fast-weight apply's output) ->
// y = x + o_proj(RMSNorm(o), heads concatenated) [B, N, D], o_proj = `o_proj` [D, D] when given
// (inference's bfloat16 copy: the product runs in its dtype, y stays float32), else w.o_proj_w.
torch::Tensor LactOutput(const LactConfig& config, const LactLayerWeights& w,
                         const torch::Tensor& x, const torch::Tensor& o,
                         const torch::Tensor& o_proj = {});

}  // namespace lact
