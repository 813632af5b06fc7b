// The scaled dot-product attention of wav2vec2's transformer layers, over heads already split:
// softmax(q k^T / sqrt(head_dim) + mask) v, with padded keys masked out. Two kernels:
//   fused     LibTorch >= 2.0's scaled_dot_product_attention: one kernel (flash or memory-efficient
//             attention on CUDA, flash attention on the CPU) that never writes the [B, H, T, T]
//             scores to memory. At 1,000 streams of 191-frame windows those are ~0.9 GB per layer
//             in float16, written and read four times by the explicit ops.
//   explicit  matmul + softmax + matmul, the reference's ops one for one (transformers'
//             Wav2Vec2Attention); the only kernel in LibTorch 1.13 (Debian 12's).
// Fused is used wherever this LibTorch has it, unless --nofused_attention turns it off
// (lact_server, lact_transcribe, lact_bench: core/flags/fused_attention_flag.h); lact_bench
// --check_attention compares the two on a device (core/tools/bench/attention_check.h).
//
// Padded keys get the lowest finite value of the scores' dtype, not a fixed -1e9: float16 cannot
// hold -1e9 (LibTorch refuses the conversion), which made every padded float16 batch throw.
#pragma once

#include <torch/torch.h>

namespace lact {

// Whether this LibTorch has the fused kernel (scaled_dot_product_attention: LibTorch >= 2.0).
bool FusedAttentionAvailable();

// Turns the fused kernel on or off for the whole process (on at start; never on where this
// LibTorch lacks it). Binaries set it once at start.
void SetFusedAttention(bool on);
bool FusedAttentionEnabled();

// "fused (scaled_dot_product_attention)" or "explicit (matmul + softmax + matmul)": what
// Attend runs in this process, for benchmark and log lines.
const char* AttentionKernelName();

// q, k, v [B, H, T, hd]; key_valid [B, T] bool (true: a frame the queries may attend to), or
// undefined when every frame is valid; dropout on the attention weights with probability
// `dropout` (0 at inference) -> [B, H, T, hd] in q's dtype. q is not yet scaled.
torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& key_valid, double dropout = 0.0);

// scores [B, H, T, T] with key_valid [B, T] bool -> the scores with every padded key's column at
// the lowest finite value of their dtype (exp() of it after the row's maximum is 0; a row with
// no valid key stays finite: uniform weights, as transformers' finfo.min mask gives).
torch::Tensor MaskPaddedKeys(const torch::Tensor& scores, const torch::Tensor& key_valid);

}  // namespace lact
