#include "core/model/dense_linear.h"

#include <atomic>
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

std::atomic<bool> g_onednn_linear{false};

}  // namespace

void SetOneDnnLinear(bool on) { g_onednn_linear.store(on && at::hasMKLDNN()); }

bool OneDnnLinearEnabled() { return g_onednn_linear.load(); }

int64_t OneDnnRows(int64_t n) {
  const int64_t step = n <= 64 ? 8 : 64;
  return (n + step - 1) / step * step;
}

bool UsesOneDnn(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (!OneDnnLinearEnabled()) return false;
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
  torch::Tensor rows = x.reshape({-1, in});  // [N, in]
  const int64_t n = rows.size(0), padded = OneDnnRows(n);
  if (padded > n) rows = torch::constant_pad_nd(rows, {0, 0, 0, padded - n});  // [P, in], zeros
  const torch::Tensor y =
      torch::mkldnn_linear(rows.to_mkldnn(), weight.contiguous(),
                           bias.defined() ? bias.contiguous() : bias);  // [P, out]
  return y.to_dense().narrow(0, 0, n).view(shape);  // the first N rows: contiguous
}

}  // namespace lact
