#include "core/model/attention.h"

#include <atomic>
#include <cmath>
#include <limits>

#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#define LACT_HAVE_FUSED_ATTENTION 1
#else
#define LACT_HAVE_FUSED_ATTENTION 0
#endif

namespace lact {
namespace {

std::atomic<bool> g_fused_attention{LACT_HAVE_FUSED_ATTENTION != 0};

// The lowest finite value of a floating dtype (torch.finfo(dtype).min).
double LowestFinite(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kHalf:
      return static_cast<float>(std::numeric_limits<c10::Half>::lowest());  // -65504
    case torch::kBFloat16: return static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
    case torch::kFloat32: return std::numeric_limits<float>::lowest();
    default: return std::numeric_limits<double>::lowest();
  }
}

// q, k, v [B, H, T, hd] -> [B, H, T, hd], the reference's ops.
torch::Tensor AttendExplicit(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& key_valid, double dropout) {
  const double scaling = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  torch::Tensor scores = torch::matmul(q * scaling, k.transpose(-1, -2));  // [B, H, T, T]
  if (key_valid.defined()) scores = MaskPaddedKeys(scores, key_valid);
  torch::Tensor weights = torch::softmax(scores, -1);  // [B, H, T, T]
  if (dropout > 0) weights = torch::dropout(weights, dropout, /*train=*/true);
  return torch::matmul(weights, v);
}

}  // namespace

bool FusedAttentionAvailable() { return LACT_HAVE_FUSED_ATTENTION != 0; }

void SetFusedAttention(bool on) { g_fused_attention.store(on && FusedAttentionAvailable()); }

bool FusedAttentionEnabled() { return g_fused_attention.load(); }

const char* AttentionKernelName() {
  return FusedAttentionEnabled() ? "fused (scaled_dot_product_attention)"
                                 : "explicit (matmul + softmax + matmul)";
}

torch::Tensor MaskPaddedKeys(const torch::Tensor& scores, const torch::Tensor& key_valid) {
  // scores [B, H, T, T], key_valid [B, T] -> [B, H, T, T]
  const int64_t B = key_valid.size(0), T = key_valid.size(1);
  return scores.masked_fill(key_valid.logical_not().view({B, 1, 1, T}),
                            LowestFinite(scores.scalar_type()));
}

torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& key_valid, double dropout) {
  // q, k, v [B, H, T, hd] -> [B, H, T, hd]
#if LACT_HAVE_FUSED_ATTENTION
  if (FusedAttentionEnabled()) {
    // The default scale is 1 / sqrt(hd); a bool mask is true where a key takes part.
    if (!key_valid.defined()) return at::scaled_dot_product_attention(q, k, v, {}, dropout);
    const int64_t B = key_valid.size(0), T = key_valid.size(1);
    return at::scaled_dot_product_attention(q, k, v, key_valid.view({B, 1, 1, T}), dropout);
  }
#endif
  return AttendExplicit(q, k, v, key_valid, dropout);
}

}  // namespace lact
