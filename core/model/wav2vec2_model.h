// Wav2Vec2ForCTC inference: loads a Hugging Face model folder (config.json + model.safetensors)
// as it is, and runs the one forward pass (core/model/wav2vec2_forward) on it without gradients.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/model/precision.h"
#include "core/model/safetensors.h"
#include "core/model/wav2vec2_config.h"
#include "core/model/wav2vec2_weights.h"

namespace lact {

class Wav2Vec2Model {
 public:
  // Loads `dir`/config.json and `dir`/model.safetensors onto `device`, with the encoder in
  // `precision` (core/model/precision.h: float32 by default). Every tensor inference needs
  // must be present with the shape the config implies; others (masked_spec_embed, quantizer, ...)
  // are ignored. Errors name the file and the offending key.
  static absl::StatusOr<Wav2Vec2Model> Load(const std::string& dir, torch::Device device,
                                            const Precision& precision = {});
  // Builds from tensors already in memory (Hugging Face names).
  static absl::StatusOr<Wav2Vec2Model> FromTensors(const Wav2Vec2Config& config,
                                                   const TensorMap& tensors, torch::Device device,
                                                   const Precision& precision = {});

  // waveform [B, S] float (already normalised if the preprocessor asks) -> hidden [B, T, D]
  // (the encoder's last hidden state, before lm_head), float32. T = config().NumFrames(S).
  torch::Tensor Encode(const torch::Tensor& waveform) const;
  // Ragged batching: rows right-padded to S, `lengths` [B] int64 (CPU) their valid samples ->
  // hidden [B, T, D] float32, T = config().NumFrames(S), whose first NumFrames(lengths[b]) frames
  // of row b are those of Encode(that row's valid samples alone) (Wav2Vec2ForwardOptions::
  // exact_padding); the frames after them are padding.
  torch::Tensor Encode(const torch::Tensor& waveform, const torch::Tensor& lengths) const;
  // waveform [B, S] -> the input of transformer layer `layer` (0..num_hidden_layers) [B, T, D],
  // float32: the states the layers from `layer` on are trained on (core/model/wav2vec2_forward).
  torch::Tensor EncodeBelow(const torch::Tensor& waveform, int64_t layer) const;
  // hidden [B, T, D] -> logits [B, T, V], float32.
  torch::Tensor Logits(const torch::Tensor& hidden) const;

  const Wav2Vec2Config& config() const { return config_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return precision_.dtype; }
  const Precision& precision() const { return precision_; }
  // Seconds of audio per encoder frame at `sample_rate` (0.02 s for the standard stack at 16 kHz).
  double FrameSeconds(int sample_rate) const {
    return static_cast<double>(config_.SamplesPerFrame()) / sample_rate;
  }
  // Bytes held by the parameters on the device (int8 layers included).
  int64_t ParameterBytes() const;

 private:
  Wav2Vec2Model() = default;

  Wav2Vec2Config config_;
  torch::Device device_ = torch::kCPU;
  Precision precision_;
  // On device_, in precision_ (lm_head float32); the positional conv's weight norm folded.
  Wav2Vec2Weights weights_;
};

}  // namespace lact
