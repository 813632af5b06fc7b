#include "core/model/dense_linear.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/Context.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

namespace lact {
namespace {

bool DenseCpuFloat(const torch::Tensor& t) {
  return t.layout() == torch::kStrided && t.device().is_cpu() && t.scalar_type() == torch::kFloat32;
}

bool NeedsGrad(const torch::Tensor& t) {
  return t.defined() && t.requires_grad() && torch::GradMode::is_enabled();
}

// LACT_ONEDNN_LINEAR=0 in the environment keeps torch::linear (read once per process).
bool OneDnnAllowed() {
  static const bool allowed = [] {
    const char* env = std::getenv("LACT_ONEDNN_LINEAR");
    return at::hasMKLDNN() && (env == nullptr || std::string(env) != "0");
  }();
  return allowed;
}

}  // namespace

bool UsesOneDnn(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (!OneDnnAllowed()) return false;
  if (!DenseCpuFloat(x) || !DenseCpuFloat(weight) || weight.dim() != 2) return false;
  if (bias.defined() && (!DenseCpuFloat(bias) || bias.dim() != 1)) return false;
  if (x.dim() < 1 || x.numel() == 0 || x.size(-1) != weight.size(1)) return false;
  return !NeedsGrad(x) && !NeedsGrad(weight) && !NeedsGrad(bias);
}

torch::Tensor DenseLinear(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias) {
  if (!UsesOneDnn(x, weight, bias)) return torch::linear(x, weight, bias);
  const int64_t in = x.size(-1), out = weight.size(0);
  std::vector<int64_t> shape = x.sizes().vec();  // [..., in] -> [..., out]
  shape.back() = out;
  // No gradient is wanted (UsesOneDnn), so the calls go below autograd, as LibTorch's own autograd
  // kernels call them: oneDNN's conversions assert it, and inference tensors (made under
  // torch::InferenceMode, e.g. a frozen encoder's states) used outside it skip autograd's kernels.
  c10::impl::ExcludeDispatchKeyGuard below_autograd(c10::autograd_dispatch_keyset);
  // oneDNN's own layout in and out: a copy of x's rows [N, in] and of the result [N, out], small
  // beside the product (2·in FLOPs per element copied in). The weight stays in LibTorch's layout.
  const torch::Tensor rows = x.reshape({-1, in}).to_mkldnn();  // [N, in]
  const torch::Tensor y =
      torch::mkldnn_linear(rows, weight.contiguous(),
                           bias.defined() ? bias.contiguous() : bias);  // [N, out]
  return y.to_dense().view(shape);
}

}  // namespace lact
