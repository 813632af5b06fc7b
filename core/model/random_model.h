// Random Wav2Vec2ForCTC checkpoints (Hugging Face names; core/model/model_folder writes them as a
// folder), for benchmarks and tests that need a model of a given size (timing does not depend on
// the weight values).
#pragma once

#include <cstdint>

#include "absl/status/status.h"

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

// Redraws the CTC head of `tensors` so that the decoder's work is that of speech. With lm_head
// drawn like the rest, every frame's posteriors are nearly uniform (logits ~0.5 apart), so a beam
// search tries every token at every frame: 29 candidates a frame against the demo model's 3.9
// on speech, and on this project's machine the LM beam search alone kept a server of a tiny random
// model from holding 25 streams, which would make a server benchmark measure the decoding of
// noise. Here lm_head.weight ~ N(0, (kSpeechLikeLogitStd / sqrt(hidden))²), and its bias cancels
// the mean hidden state of a probe signal (the final hidden states of a random encoder share a
// large constant part, which would otherwise fix each token's odds by the draw) and raises the
// blank (pad_token_id) by kSpeechLikeBlankBias. Measured on random tiny and base models: 2.3-4.2
// tokens within 8 (ln) of the best per frame over tones in noise and over speech, the blank the
// best at 18-77% of frames (by draw and input); the demo model on speech: 3.9 and 62%, and its
// beam search costs the same CPU per audio second (docs/benchmarks.md, "Random posteriors").
// Runs the encoder once, on the CPU, in float32.
inline constexpr double kSpeechLikeLogitStd = 10.0;
inline constexpr double kSpeechLikeBlankBias = 16.0;
absl::Status MakeCtcHeadSpeechLike(const Wav2Vec2Config& config, uint64_t seed, TensorMap* tensors);

}  // namespace lact
