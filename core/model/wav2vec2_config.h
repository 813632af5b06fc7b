// The subset of Hugging Face's Wav2Vec2Config (config.json) that inference uses, validated once
// at load. Keys and defaults follow transformers' configuration_wav2vec2.py.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lact {

struct Wav2Vec2Config {
  // Convolutional feature encoder.
  std::vector<int64_t> conv_dim = {512, 512, 512, 512, 512, 512, 512};
  std::vector<int64_t> conv_kernel = {10, 3, 3, 3, 3, 2, 2};
  std::vector<int64_t> conv_stride = {5, 2, 2, 2, 2, 2, 2};
  bool conv_bias = false;
  std::string feat_extract_norm = "group";  // "group" (base) or "layer" (large-lv60)
  std::string feat_extract_activation = "gelu";
  // Transformer encoder.
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double layer_norm_eps = 1e-5;
  int64_t num_conv_pos_embeddings = 128;
  int64_t num_conv_pos_embedding_groups = 16;
  bool do_stable_layer_norm = false;  // pre-LN transformer (large-lv60)
  // CTC head.
  int64_t vocab_size = 32;
  int64_t pad_token_id = 0;

  // Reads config.json; keys inference does not use are ignored. Validates.
  static absl::StatusOr<Wav2Vec2Config> FromJsonFile(const std::string& path);
  absl::Status Validate() const;
  std::string ToString() const;

  // Audio samples per encoder frame (product of the conv strides): 320 for the standard stack.
  int64_t SamplesPerFrame() const;
  // Encoder frames produced by `num_samples` input samples (0 when too short).
  int64_t NumFrames(int64_t num_samples) const;
  // Samples one frame sees (receptive field of the conv stack): 400 for the standard stack.
  int64_t ReceptiveField() const;
};

// preprocessor_config.json (Wav2Vec2FeatureExtractor). Absent file = these defaults.
struct Wav2Vec2PreprocessorConfig {
  bool do_normalize = true;
  int sampling_rate = 16000;

  static absl::StatusOr<Wav2Vec2PreprocessorConfig> FromJsonFile(const std::string& path);
  absl::Status Validate() const;
};

}  // namespace lact
