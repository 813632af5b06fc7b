// The float32 linear layers of the encoder, LaCT's projections and lm_head on the CPU, optionally
// through oneDNN instead of OpenBLAS (--onednn_linear, off by default). Debian's LibTorch does
// torch::linear's float32 product in OpenBLAS, which every binary limits to one thread (its idle
// workers spin: core/util/blas_threads.h), so those products, two thirds of wav2vec2-base's time,
// run on one core while every other operator uses LibTorch's OpenMP threads (--threads). oneDNN's
// inner product (torch::mkldnn_linear) runs on those threads: on the project's 2-core machine the
// base model's products at 1.5-1.9x OpenBLAS's single-thread rate, a model pass 1.3-1.45x faster
// (lact_bench). In lact_server on the same 2 cores it gained no latency and cost 25-40% more CPU
// and ~0.5 GiB more RSS, hence opt-in (docs/benchmarks.md, "float32 products on the CPU").
#pragma once

#include <torch/torch.h>

namespace lact {

// Turns the oneDNN path on or off for the whole process (off at start; on only where LibTorch has
// oneDNN). Binaries set it once at start from --onednn_linear (core/flags/onednn_linear_flag.h).
void SetOneDnnLinear(bool on);
bool OneDnnLinearEnabled();

// torch::linear(x, weight, bias): x [..., in], weight [out, in], bias [out] or undefined ->
// [..., out] in x's dtype. Through oneDNN when UsesOneDnn(x, weight, bias), else torch::linear.
torch::Tensor DenseLinear(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias = {});

// True when DenseLinear takes oneDNN's path: OneDnnLinearEnabled(), every tensor float32,
// dense and on the CPU, x non-empty, and no autograd through the product (no tensor requires a
// gradient, or grad mode off). Training and every other dtype or device keep torch::linear.
bool UsesOneDnn(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// The rows oneDNN multiplies for `n` rows of x: n rounded up to a multiple of 8 up to 64, of 64
// above (the extra rows are zeros, their results dropped). oneDNN caches a primitive per shape, up
// to 1,024, each holding memory (python3, one 768 -> 3072 layer: 800 different row counts added
// ~500 MB of RSS, 12 added ~50 MB), and a server's row counts vary with every window length and
// batch size; rounded, a layer sees at most 8 + max_rows / 64 shapes, for at most 7 / 63 rows of
// padding.
int64_t OneDnnRows(int64_t n);

}  // namespace lact
