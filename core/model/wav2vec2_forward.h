// The one Wav2Vec2ForCTC forward pass (Hugging Face's computation): conv feature encoder ->
// feature projection -> positional conv -> transformer -> lm_head, over a Wav2Vec2Weights.
// Inference (core/model/wav2vec2_model) calls it with default options; training
// (train/trainable_wav2vec2) adds the padding mask and dropout.
//
// Padding follows transformers for feat_extract_norm == "layer" models (which take an attention
// mask): padded frames are zeroed before the positional convolution and masked out of attention.
// "group" models (wav2vec2-base) normalise each conv channel over the whole input, padding
// included, exactly as transformers does when it is given no attention mask.
#pragma once

#include <torch/torch.h>

#include "core/model/wav2vec2_config.h"
#include "core/model/wav2vec2_weights.h"

namespace lact {

struct Wav2Vec2ForwardOptions {
  // [B] int64 valid samples of each row; undefined: every sample is valid (no padding mask).
  torch::Tensor lengths;
  // With lengths: each row's valid frames are exactly those of its valid samples encoded alone
  // (ragged batching at inference): "group" models normalise each row's first conv layer over
  // its own valid frames, and every model zeroes padded frames before the positional
  // convolution. Off: transformers' padding semantics (above), which training follows.
  bool exact_padding = false;
  double dropout = 0.0;   // probability, used only when `training`
  bool training = false;  // dropout on
};

struct Wav2Vec2ForwardOutput {
  torch::Tensor hidden;         // [B, T, D] the encoder's last hidden state, in the weights' dtype
  torch::Tensor frame_lengths;  // [B] int64 valid frames of each row; undefined without lengths
};

// waveform [B, S], in the weights' dtype and device (normalised as the preprocessor asks).
Wav2Vec2ForwardOutput Wav2Vec2Encode(const Wav2Vec2Config& config, const Wav2Vec2Weights& weights,
                                     const torch::Tensor& waveform,
                                     const Wav2Vec2ForwardOptions& options = {});

// The pass in two pieces, for training the top layers on states cached below them:
// Wav2Vec2EncodeFrom(EncodeBelow(waveform, k).hidden, k) is Wav2Vec2Encode(waveform), op for op.
// EncodeBelow: the input of transformer layer `layer` (0..num_hidden_layers) [B, T, D] and the
// valid frames. EncodeFrom: layers layer.. on x [B, T, D] (+ the pre-LN model's final norm);
// frame_lengths [B] int64 masks attention, or undefined when every frame is valid.
Wav2Vec2ForwardOutput Wav2Vec2EncodeBelow(const Wav2Vec2Config& config,
                                          const Wav2Vec2Weights& weights,
                                          const torch::Tensor& waveform, int64_t layer,
                                          const Wav2Vec2ForwardOptions& options = {});
torch::Tensor Wav2Vec2EncodeFrom(const Wav2Vec2Config& config, const Wav2Vec2Weights& weights,
                                 const torch::Tensor& x, int64_t layer,
                                 const torch::Tensor& frame_lengths,
                                 const Wav2Vec2ForwardOptions& options = {});

// hidden [B, T, D] -> logits [B, T, V] (in lm_head's dtype).
torch::Tensor Wav2Vec2Logits(const Wav2Vec2Weights& weights, const torch::Tensor& hidden);

// The activation `name` of config.json (gelu, gelu_new, relu, silu/swish).
torch::Tensor Wav2Vec2Activation(const torch::Tensor& x, const std::string& name);

}  // namespace lact
