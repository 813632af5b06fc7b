// Wav2Vec2ForCTC for training: autograd-tracked parameters under their Hugging Face names (the
// table of core/model/wav2vec2_weights), run through the one forward pass
// (core/model/wav2vec2_forward) with its padding mask and dropout. ExportTensors() gives a
// model.safetensors that core/ (and transformers) load as it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/model/safetensors.h"
#include "core/model/wav2vec2_config.h"
#include "core/model/wav2vec2_weights.h"

namespace lact::train {

class TrainableWav2Vec2 {
 public:
  // A fresh model, initialised as transformers' Wav2Vec2PreTrainedModel._init_weights does
  // (linear N(0, 0.02²), conv Kaiming-normal, positional conv N(0, 4 / (K·D/G)), norms 1/0),
  // drawn from a CPU generator seeded with `seed`.
  static absl::StatusOr<TrainableWav2Vec2> Create(const Wav2Vec2Config& config, uint64_t seed);
  // From a checkpoint's tensors (Hugging Face names; weight_g/weight_v or parametrizations, or a
  // plain positional conv weight, which is split into g and v). Errors name a missing key.
  static absl::StatusOr<TrainableWav2Vec2> FromTensors(const Wav2Vec2Config& config,
                                                       const TensorMap& tensors);

  struct Output {
    torch::Tensor hidden;         // [B, T, D] the encoder's last hidden state
    torch::Tensor frame_lengths;  // [B] int64, valid frames of each row
  };
  // waveform [B, S] (normalised as the preprocessor asks), lengths [B] int64 (valid samples),
  // both on the parameters' device. `training` turns dropout on. `autocast` (kBFloat16, kHalf)
  // runs the pass under autocast on the parameters' device type (matrix products and convolutions
  // in that precision, norms and softmax in float32: meant for CUDA, since LibTorch 1.13's CPU
  // autocast leaves layer_norm out and fails); hidden is float32 either way.
  Output Encode(const torch::Tensor& waveform, const torch::Tensor& lengths, bool training,
                torch::ScalarType autocast = torch::kFloat) const;
  // The transformer layers from `layer` on (+ the pre-LN model's final norm) on their input
  // x [B, T, D] (Wav2Vec2EncodeFrom; frame_lengths [B] masks attention, or undefined): what
  // --train_top_layers trains on cached states. Returns [B, T, D] float32.
  torch::Tensor EncodeFrom(const torch::Tensor& x, int64_t layer,
                           const torch::Tensor& frame_lengths, bool training) const;
  // hidden [B, T, D] -> logits [B, T, V].
  torch::Tensor Logits(const torch::Tensor& hidden) const;

  // Every parameter, in name order (the optimizer's list).
  std::vector<torch::Tensor> Parameters() const;
  // Turns gradient tracking of every parameter on (training the encoder) or off (a frozen
  // encoder under a trained LaCT stack).
  void SetRequiresGrad(bool requires_grad);
  // The parameters of transformer layers [num_hidden_layers - n, num_hidden_layers), and the
  // final encoder norm of a pre-LN model (applied after them), in name order.
  std::vector<torch::Tensor> TopLayerParameters(int64_t n) const;
  // Whether the parameter `name` (Hugging Face name) is one of TopLayerParameters(n).
  bool IsTopLayerParameter(const std::string& name, int64_t n) const;
  // CPU float32 detached copies under Hugging Face names (model.safetensors).
  TensorMap ExportTensors() const;
  int64_t NumParameters() const;

  const Wav2Vec2Config& config() const { return config_; }
  void set_dropout(double p) { dropout_ = p; }
  void To(torch::Device device);

 private:
  TrainableWav2Vec2() = default;
  // Points weights_ at params_ (after they are created or moved).
  absl::Status BindWeights();

  Wav2Vec2Config config_;
  TensorMap params_;         // Hugging Face names -> leaf tensors
  Wav2Vec2Weights weights_;  // the same tensors by role, for the forward pass
  double dropout_ = 0.1;
};

}  // namespace lact::train
