// An int8 linear layer for the CPU: weights quantized once at load, symmetric per output channel;
// activations quantized per call from their own range (dynamic quantization), through LibTorch's
// oneDNN kernels (quantized::linear_prepack / apply_dynamic). The output is float, so the layers
// around it keep their precision. Used for the transformer's linear layers under --dtype int8
// (core/model/precision.h).
#pragma once

#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact {

class QuantizedLinear {
 public:
  // OK when this LibTorch has the oneDNN quantized engine (x86 builds); FailedPrecondition
  // otherwise.
  static absl::Status Available();

  // weight [out, in], bias [out] (any float dtype, CPU) -> the packed int8 layer.
  static absl::StatusOr<std::shared_ptr<const QuantizedLinear>> Create(const torch::Tensor& weight,
                                                                       const torch::Tensor& bias);
  ~QuantizedLinear();

  // x [..., in] (any float dtype) -> [..., out] in x's dtype; thread-safe.
  torch::Tensor Apply(const torch::Tensor& x) const;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  // Bytes held: int8 weights, float32 per-channel scales and bias.
  int64_t ByteSize() const { return in_ * out_ + 8 * out_; }

 private:
  struct Packed;
  QuantizedLinear() = default;

  std::unique_ptr<Packed> packed_;
  int64_t in_ = 0, out_ = 0;
};

}  // namespace lact
