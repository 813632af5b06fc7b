// Native LibTorch implementation of Hugging Face's Wav2Vec2ForCTC inference:
// conv feature encoder -> feature projection -> positional conv -> transformer -> lm_head.
// Reads a Hugging Face model folder (config.json + model.safetensors) as it is.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/safetensors.h"
#include "core/wav2vec2_config.h"

namespace lact {

class Wav2Vec2Model {
 public:
  // Loads `dir`/config.json and `dir`/model.safetensors onto `device`, with the encoder's
  // parameters in `dtype` (float32, or float16/bfloat16 on a GPU). Every tensor inference needs
  // must be present with the shape the config implies; others (masked_spec_embed, quantizer, ...)
  // are ignored. Errors name the file and the offending key.
  static absl::StatusOr<Wav2Vec2Model> Load(const std::string& dir, torch::Device device,
                                            torch::ScalarType dtype = torch::kFloat32);
  // Builds from tensors already in memory (Hugging Face names).
  static absl::StatusOr<Wav2Vec2Model> FromTensors(const Wav2Vec2Config& config,
                                                   const TensorMap& tensors, torch::Device device,
                                                   torch::ScalarType dtype = torch::kFloat32);

  // waveform [B, S] float (already normalised if the preprocessor asks) -> hidden [B, T, D]
  // (the encoder's last hidden state, before lm_head), float32. T = config().NumFrames(S).
  torch::Tensor Encode(const torch::Tensor& waveform) const;
  // hidden [B, T, D] -> logits [B, T, V], float32.
  torch::Tensor Logits(const torch::Tensor& hidden) const;

  const Wav2Vec2Config& config() const { return config_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }
  // Seconds of audio per encoder frame at `sample_rate` (0.02 s for the standard stack at 16 kHz).
  double FrameSeconds(int sample_rate) const {
    return static_cast<double>(config_.SamplesPerFrame()) / sample_rate;
  }
  // Bytes held by the parameters on the device.
  int64_t ParameterBytes() const;

 private:
  struct Linear {
    torch::Tensor weight;  // [out, in]
    torch::Tensor bias;    // [out]
  };
  struct Norm {
    torch::Tensor weight;  // [C]
    torch::Tensor bias;    // [C]
  };
  struct ConvLayer {
    torch::Tensor weight;  // [C_out, C_in, K]
    torch::Tensor bias;    // [C_out] or undefined (conv_bias=false)
    Norm norm;             // GroupNorm (layer 0, "group") / LayerNorm (every layer, "layer") / none
  };
  struct EncoderLayer {
    Linear q, k, v, out;
    Norm attn_norm;   // "layer_norm"
    Linear ff_in, ff_out;
    Norm final_norm;  // "final_layer_norm"
  };

  Wav2Vec2Model() = default;
  torch::Tensor Activation(const torch::Tensor& x, const std::string& name) const;
  torch::Tensor Attention(const EncoderLayer& layer, const torch::Tensor& x) const;
  torch::Tensor FeedForward(const EncoderLayer& layer, const torch::Tensor& x) const;

  Wav2Vec2Config config_;
  torch::Device device_ = torch::kCPU;
  torch::ScalarType dtype_ = torch::kFloat32;
  std::vector<ConvLayer> conv_layers_;
  Norm projection_norm_;
  Linear projection_;
  torch::Tensor pos_conv_weight_;  // [D, D / groups, K], weight norm already folded in
  torch::Tensor pos_conv_bias_;    // [D]
  Norm encoder_norm_;
  std::vector<EncoderLayer> layers_;
  Linear lm_head_;  // float32 always
};

}  // namespace lact
