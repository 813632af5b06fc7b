// Random Wav2Vec2ForCTC checkpoints (Hugging Face names; core/model/model_folder writes them as a
// folder), for benchmarks and tests that need a model of a given size (timing does not depend on
// the weight values).
#pragma once

#include <cstdint>

#include "core/model/safetensors.h"
#include "core/model/wav2vec2_config.h"

namespace lact {

// The wav2vec2-base architecture (768 hidden, 12 layers, 512-channel conv stack, 32 tokens).
Wav2Vec2Config BaseConfig();
// A small architecture of the same shape (32 hidden, 2 layers, 32-channel conv stack).
Wav2Vec2Config TinyConfig();

// Every tensor Wav2Vec2ForCTC inference reads, with Hugging Face names, drawn from N(0, std²)
// (norm gains 1, weight_g positive) with a fixed seed.
TensorMap RandomWav2Vec2Tensors(const Wav2Vec2Config& config, uint64_t seed, double std = 0.02);

}  // namespace lact
