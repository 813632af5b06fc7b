// Random Wav2Vec2ForCTC checkpoints in the Hugging Face folder layout, for benchmarks and tests
// that need a model of a given size (timing does not depend on the weight values).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/safetensors.h"
#include "core/wav2vec2_config.h"

namespace lact {

// The wav2vec2-base architecture (768 hidden, 12 layers, 512-channel conv stack, 32 tokens).
Wav2Vec2Config BaseConfig();
// A small architecture of the same shape (32 hidden, 2 layers, 32-channel conv stack).
Wav2Vec2Config TinyConfig();

// Every tensor Wav2Vec2ForCTC inference reads, with Hugging Face names, drawn from N(0, std²)
// (norm gains 1, weight_g positive) with a fixed seed.
TensorMap RandomWav2Vec2Tensors(const Wav2Vec2Config& config, uint64_t seed, double std = 0.02);

// The 32-token English character vocabulary of wav2vec2-base-960h, in id order
// ("<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", ...).
const std::vector<std::string>& EnglishCharTokens();

// Writes a model folder: config.json, model.safetensors, vocab.json (the 32-token English
// character vocabulary of wav2vec2-base-960h), preprocessor_config.json. The folder is created.
absl::Status WriteModelFolder(const std::string& dir, const Wav2Vec2Config& config,
                              const TensorMap& tensors, bool do_normalize = false);

}  // namespace lact
