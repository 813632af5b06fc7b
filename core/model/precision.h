// The encoder's numeric precision, named by --dtype:
//   float32        every encoder tensor float32: the parity contract (LACT_SPEC.md, torchaudio)
//   bfloat16       the encoder in bfloat16 (a GPU, or a CPU with native bf16 instructions)
//   float16        the encoder in float16 (GPU only: LibTorch's CPU kernels lack it)
//   int8           CPU: the transformer's linear layers in int8 (core/model/quantized_linear.h),
//                  everything else float32
//   int8-bfloat16  CPU: the transformer's linear layers in int8, everything else bfloat16
//   auto           the fastest of these by a fixed rule (ResolvePrecision), measured in
//                  docs/benchmarks.md "Precision on the CPU"
// In every mode lm_head, the logits and LaCT (fast weights and projections) stay float32; on CUDA
// beside a half-precision encoder, LaCT's float32 matrix products run in TF32 (LactProductsInTf32),
// and beside a bfloat16 one its slow-weight projections in bfloat16 (LactProjectionsInBf16).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <torch/torch.h>

#include "absl/status/statusor.h"

namespace lact {

struct Precision {
  torch::ScalarType dtype = torch::kFloat32;  // every encoder tensor but int8 linears
  bool int8_linear = false;                   // the transformer's q/k/v/out/ff linears in int8
  std::string Name() const;                   // the --dtype name ("int8-bfloat16", ...)
};

// Whether /proc/cpuinfo's first processor lists any of `flags` (false where it cannot be read).
bool CpuHasAnyFlag(std::initializer_list<std::string_view> flags);

// True when this CPU has native bfloat16 arithmetic (the avx512_bf16 or amx_bf16 flag of
// /proc/cpuinfo). Without it LibTorch emulates bf16, slower than float32.
bool CpuHasNativeBfloat16();

// `name` (one of the names above) on `device` -> the precision. `auto`:
//   CUDA: float16;
//   CPU: bfloat16 where the CPU has native bf16 (CpuHasNativeBfloat16), else float32.
// auto never picks int8: with Debian's LibTorch 1.13 its dynamic quantization was no faster than
// bf16 on whole passes and slower on real streams (docs/benchmarks.md).
// InvalidArgument for an unknown name, float16 on the CPU, int8 on a GPU; FailedPrecondition for
// int8 without oneDNN.
absl::StatusOr<Precision> ResolvePrecision(const std::string& name, const torch::Device& device);

// Whether LaCT's float32 matrix products run in TF32 beside an encoder of precision `encoder` on
// `device` (LACT_SPEC.md "Precision": on a GPU the fast weights stay float32 while the products may
// run in TF32 or bf16): on CUDA when the encoder runs in float16 or bfloat16, where float32
// products run at a small fraction of the half-precision encoder's rate (docs/benchmarks.md:
// LaCT added 18.6% to a float16 encoder's time for 5% of its FLOPs). Never on the CPU, nor beside a
// float32 encoder: the parity contract.
bool LactProductsInTf32(const Precision& encoder, const torch::Device& device);

// Whether LaCT's slow-weight projections (its fused q/k/v/lr/momentum projection and o_proj: 84%
// of its FLOPs between chunk updates, 64% with them) run their products in bfloat16 (LACT_SPEC.md
// allows bf16 products on a GPU): on CUDA beside a bfloat16 encoder, whose hidden states already
// carry bf16's rounding, for a stack without Muon (`muon`: LactConfig::use_muon). TF32 runs float32
// products at half the half-precision rate, so LaCT's 5% of the encoder's FLOPs would still take
// ~10% of its time; in bf16 the projections run at the encoder's rate. Beside float16 (a 10-bit
// mantissa, as TF32's) they stay in TF32. Measured on the CPU
// (tests/core/lact_bf16_projection_test.cc): 0.7% relative from float32 without Muon, within the
// spec's 1e-2; Muon's orthogonalisation amplifies it to 1.4% (2.5% on the fast weights), hence
// float32 (TF32) projections for Muon stacks. The fast weights stay float32 and their products
// TF32.
bool LactProjectionsInBf16(const Precision& encoder, const torch::Device& device, bool muon);

// The names --dtype accepts, for help and errors: "auto, float32, bfloat16, float16, int8,
// int8-bfloat16".
const char* PrecisionNames();

}  // namespace lact
