#include "core/model/quantized_linear.h"

#include <algorithm>
#include <mutex>

#include <ATen/core/dispatch/Dispatcher.h>
// LibTorch's quantized kernels' C++ interface: in Debian's LibTorch and the PyTorch wheels; a
// build without it compiles, and --dtype int8 says it is unavailable (a CUDA host never needs it).
#if __has_include(<ATen/native/quantized/PackedParams.h>)
#include <ATen/native/quantized/PackedParams.h>
#define LACT_HAVE_QUANTIZED_LINEAR 1
#else
#define LACT_HAVE_QUANTIZED_LINEAR 0
#endif

#include "absl/strings/str_cat.h"
#include "core/model/precision.h"

namespace lact {

struct QuantizedLinear::Packed {
#if LACT_HAVE_QUANTIZED_LINEAR
  c10::intrusive_ptr<LinearPackedParamsBase> params;
#endif
};

QuantizedLinear::~QuantizedLinear() = default;

absl::Status QuantizedLinear::Available() {
  if (!LACT_HAVE_QUANTIZED_LINEAR) {
    return absl::FailedPreconditionError(
        "--dtype int8 needs LibTorch's quantized headers (ATen/native/quantized/PackedParams.h), "
        "which this build was compiled without");
  }
  const auto& engines = at::globalContext().supportedQEngines();
  if (std::find(engines.begin(), engines.end(), at::QEngine::ONEDNN) == engines.end()) {
    return absl::FailedPreconditionError(
        "--dtype int8 needs LibTorch's oneDNN quantized engine, which this build lacks");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const QuantizedLinear>> QuantizedLinear::Create(
    const torch::Tensor& weight, const torch::Tensor& bias) {
  if (absl::Status ok = Available(); !ok.ok()) return ok;
  if (weight.dim() != 2 || !weight.device().is_cpu()) {
    return absl::InvalidArgumentError(
        absl::StrCat("an int8 linear layer needs a 2-D CPU weight, got ", weight.dim(), "-D on ",
                     weight.device().str()));
  }
#if LACT_HAVE_QUANTIZED_LINEAR
  // The engine is read when the weights are packed; the packed object then keeps oneDNN's kernels.
  static std::mutex engine_mu;
  std::lock_guard<std::mutex> lock(engine_mu);
  at::globalContext().setQEngine(at::QEngine::ONEDNN);
  torch::NoGradGuard no_grad;
  const torch::Tensor w = weight.to(torch::kFloat32).contiguous();  // [out, in]
  const int64_t out = w.size(0);
  // Symmetric per output channel: the row's largest |w| maps to 127.
  const torch::Tensor scales = (w.abs().amax({1}) / 127.0).clamp_min(1e-8).to(torch::kDouble);
  const torch::Tensor qw =
      torch::quantize_per_channel(w, scales, torch::zeros({out}, torch::kLong), 0, torch::kQInt8);
  static const auto prepack = c10::Dispatcher::singleton()
                                  .findSchemaOrThrow("quantized::linear_prepack", "")
                                  .typed<c10::intrusive_ptr<LinearPackedParamsBase>(
                                      at::Tensor, c10::optional<at::Tensor>)>();
  std::shared_ptr<QuantizedLinear> layer(new QuantizedLinear());
  layer->packed_ = std::make_unique<Packed>();
  layer->packed_->params = prepack.call(
      qw, bias.defined() ? c10::optional<at::Tensor>(bias.to(torch::kFloat32)) : c10::nullopt);
  layer->in_ = w.size(1);
  layer->out_ = out;
  return std::shared_ptr<const QuantizedLinear>(std::move(layer));
#else
  return absl::FailedPreconditionError("no quantized headers");  // Available() said so above
#endif
}

torch::Tensor QuantizedLinear::Apply(const torch::Tensor& x) const {
#if LACT_HAVE_QUANTIZED_LINEAR
  // Without VNNI, x86 int8 kernels multiply u8 x s8 pairs with vpmaddubsw, whose int16 sum
  // saturates for 8-bit activations (255 * 127 * 2 > 32767): the output is garbage (argmax
  // agreement 0.49 on an AVX2-only EPYC). 7-bit activations (reduce_range) fit, as PyTorch's
  // x86 quantization does on such CPUs.
  static const bool reduce_range = !CpuHasAnyFlag({"avx512_vnni", "avx_vnni", "amx_int8"});
  // oneDNN's dynamic kernel takes float32 activations: convert around it.
  const torch::Tensor y =
      packed_->params->apply_dynamic(x.to(torch::kFloat32).contiguous(), reduce_range);
  return y.to(x.scalar_type());  // [..., out]
#else
  TORCH_CHECK(false, "QuantizedLinear::Apply without quantized headers (Create refuses)");
  return x;
#endif
}

}  // namespace lact
