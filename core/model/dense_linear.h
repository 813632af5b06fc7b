// The float32 linear layers of the encoder, LaCT's projections and lm_head on the CPU, through
// oneDNN instead of OpenBLAS. Debian's LibTorch does torch::linear's float32 product in OpenBLAS,
// which every binary limits to one thread (its idle workers spin: core/util/blas_threads.h), so
// those products, two thirds of wav2vec2-base's time, ran on one core while every other operator
// used LibTorch's OpenMP threads (--threads). oneDNN's inner product (torch::mkldnn_linear) runs
// on those threads and sleeps between calls; on the project's 2-core machine it does the base
// model's products at 1.5-1.9x OpenBLAS's single-thread rate (docs/benchmarks.md, "float32
// products on the CPU"), and the gap grows with the core count.
#pragma once

#include <torch/torch.h>

namespace lact {

// torch::linear(x, weight, bias): x [..., in], weight [out, in], bias [out] or undefined ->
// [..., out] in x's dtype. Through oneDNN when UsesOneDnn(x, weight, bias), else torch::linear.
torch::Tensor DenseLinear(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias = {});

// True when DenseLinear takes oneDNN's path: LibTorch built with oneDNN, every tensor float32,
// dense and on the CPU, x non-empty, and no autograd through the product (no tensor requires a
// gradient, or grad mode off). Training and every other dtype or device keep torch::linear, and
// so does everything when the environment sets LACT_ONEDNN_LINEAR=0 (read once per process).
bool UsesOneDnn(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace lact
