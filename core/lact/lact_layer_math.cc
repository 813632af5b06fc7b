#include "core/lact/lact_layer_math.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model/dense_linear.h"

namespace lact {
namespace {

std::string ShapeString(torch::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// tensors[prefix + name] with exactly `shape`, as float32 on `device`.
absl::StatusOr<torch::Tensor> Take(const TensorMap& tensors, const std::string& prefix,
                                   const char* name, std::vector<int64_t> shape,
                                   torch::Device device) {
  const std::string key = absl::StrCat(prefix, name);
  auto it = tensors.find(key);
  if (it == tensors.end()) {
    return absl::NotFoundError(absl::StrCat("LaCT weights: key '", key, "' is missing"));
  }
  if (it->second.sizes() != torch::IntArrayRef(shape)) {
    return absl::InvalidArgumentError(absl::StrCat("LaCT weights: key '", key, "' has shape ",
                                                   ShapeString(it->second.sizes()), ", expected ",
                                                   ShapeString(shape)));
  }
  return it->second.to(device, torch::kFloat).contiguous();
}

}  // namespace

absl::StatusOr<LactLayerWeights> LactLayerWeights::Take(const LactConfig& config,
                                                        const TensorMap& tensors, int64_t index,
                                                        torch::Device device) {
  const int64_t D = config.hidden_size, H = config.num_lact_heads;
  const int64_t d = config.head_dim(), m = config.inner_dim();
  const std::string p = absl::StrCat("layers.", index, ".");
  LactLayerWeights w;
  auto take = [&](const char* name, std::vector<int64_t> shape, torch::Tensor* out) {
    absl::StatusOr<torch::Tensor> t = lact::Take(tensors, p, name, std::move(shape), device);
    if (!t.ok()) return t.status();
    *out = *std::move(t);
    return absl::OkStatus();
  };
  for (absl::Status s :
       {take("norm.weight", {D}, &w.norm_w), take("norm.bias", {D}, &w.norm_b),
        take("qkv.weight", {3 * D, D}, &w.qkv_w), take("lr_proj.weight", {3 * H, D}, &w.lr_w),
        take("lr_proj.bias", {3 * H}, &w.lr_b), take("w0", {H, m, d}, &w.w0),
        take("w1", {H, d, m}, &w.w1), take("w2", {H, m, d}, &w.w2),
        take("out_norm.weight", {d}, &w.out_norm_w), take("o_proj.weight", {D, D}, &w.o_proj_w)}) {
    if (!s.ok()) return s;
  }
  if (config.use_momentum) {
    for (absl::Status s : {take("momentum_proj.weight", {H, D}, &w.mom_w),
                           take("momentum_proj.bias", {H}, &w.mom_b)}) {
      if (!s.ok()) return s;
    }
  }
  return w;
}

LactLayerWeights LactLayerWeights::Untrained(const LactConfig& config, at::Generator& generator,
                                             torch::Device device) {
  const int64_t D = config.hidden_size, H = config.num_lact_heads;
  const int64_t d = config.head_dim(), m = config.inner_dim();
  auto cpu = torch::TensorOptions().dtype(torch::kFloat);
  auto normal = [&](std::vector<int64_t> shape, double stddev) {
    return (at::randn(shape, generator, cpu) * stddev).to(device);
  };
  auto full = [&](std::vector<int64_t> shape, double value) {
    return torch::full(shape, value, cpu).to(device);
  };
  LactLayerWeights w;
  w.norm_w = full({D}, 1.0);
  w.norm_b = full({D}, 0.0);
  w.qkv_w = normal({3 * D, D}, std::sqrt(1.0 / D));
  w.lr_w = normal({3 * H, D}, 0.02);
  w.lr_b = full({3 * H}, std::log(std::expm1(config.base_lr)));  // softplus⁻¹(base_lr)
  w.mom_w = normal({H, D}, 0.02);
  const double mu = std::min(std::max(config.momentum, 1e-6), 1.0 - 1e-6);
  w.mom_b = full({H}, std::log(mu / (1.0 - mu)));  // logit(momentum)
  w.w0 = normal({H, m, d}, std::sqrt(1.0 / d));
  w.w1 = normal({H, d, m}, std::sqrt(1.0 / m));
  w.w2 = normal({H, m, d}, std::sqrt(1.0 / d));
  w.out_norm_w = full({d}, 1.0);
  w.o_proj_w = full({D, D}, 0.0);  // => the layer is exactly the identity
  return w;
}

void LactLayerWeights::Export(int64_t index, TensorMap* out) const {
  const std::string p = absl::StrCat("layers.", index, ".");
  auto put = [&](const char* name, const torch::Tensor& t) {
    if (t.defined())
      (*out)[absl::StrCat(p, name)] = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  };
  put("norm.weight", norm_w);
  put("norm.bias", norm_b);
  put("qkv.weight", qkv_w);
  put("lr_proj.weight", lr_w);
  put("lr_proj.bias", lr_b);
  put("momentum_proj.weight", mom_w);
  put("momentum_proj.bias", mom_b);
  put("w0", w0);
  put("w1", w1);
  put("w2", w2);
  put("out_norm.weight", out_norm_w);
  put("o_proj.weight", o_proj_w);
}

LactFusedProjection FuseLactProjection(const LactConfig& config, const LactLayerWeights& w) {
  const int64_t D = config.hidden_size;
  std::vector<torch::Tensor> weights = {w.qkv_w, w.lr_w};
  std::vector<torch::Tensor> biases = {
      torch::zeros({3 * D}, w.qkv_w.options().requires_grad(false)), w.lr_b};
  if (config.use_momentum) {
    weights.push_back(w.mom_w);
    biases.push_back(w.mom_b);
  }
  return {torch::cat(weights, 0).contiguous(),  // [3D + 3H (+ H), D]
          torch::cat(biases, 0).contiguous()};  // [3D + 3H (+ H)]
}

LactFeatures LactProject(const LactConfig& config, const LactLayerWeights& w,
                         const LactFusedProjection& projection, const torch::Tensor& x) {
  const int64_t B = x.size(0), N = x.size(1);
  const int64_t D = config.hidden_size, H = config.num_lact_heads, d = config.head_dim();
  torch::Tensor xhat = torch::layer_norm(x, {D}, w.norm_w, w.norm_b, config.layer_norm_eps);
  torch::Tensor feat =
      DenseLinear(xhat.to(projection.weight.scalar_type()), projection.weight, projection.bias)
          .to(x.scalar_type());  // [B, N, 3D + 3H (+ H)]
  // Pieces by split, not narrow: under autograd a split's backward is one concatenation, where
  // each narrow's would write its own zero-filled copy of the whole input.
  std::vector<int64_t> sizes = {D, D, D, 3 * H};
  if (config.use_momentum) sizes.push_back(H);
  const std::vector<torch::Tensor> p = feat.split_with_sizes(sizes, -1);
  auto l2n = [](const torch::Tensor& u) {  // per token and head
    return u / (u.norm(2, {-1}, /*keepdim=*/true) + 1e-5);
  };
  LactFeatures f;
  f.q = l2n(torch::silu(p[0]).reshape({B, N, H, d}));      // [B, N, H, d]
  f.k = l2n(torch::silu(p[1]).reshape({B, N, H, d}));      // [B, N, H, d]
  f.v = torch::silu(p[2]);                                 // [B, N, D]
  f.lr = config.lr_scale * torch::softplus(p[3]);          // [B, N, 3H]
  if (config.use_momentum) f.beta = torch::sigmoid(p[4]);  // [B, N, H]
  return f;
}

torch::Tensor LactInitialFast(const LactLayerWeights& w) {
  return torch::stack({w.w0, w.w1.transpose(-1, -2), w.w2}, 0);  // [3, H, m, d]
}

LactRowNorms LactInitialRowNorms(const LactLayerWeights& w) {
  return {w.w0.norm(2, {-1}), w.w1.norm(2, {-1}), w.w2.norm(2, {-1})};  // [H, m], [H, d], [H, m]
}

FastWeightUpdateOptions LactUpdateOptions(const LactConfig& config) {
  FastWeightUpdateOptions options;
  options.use_momentum = config.use_momentum;
  options.use_muon = config.use_muon;
  options.weight_norm = config.weight_norm;
  return options;
}

torch::Tensor LactOutput(const LactConfig& config, const LactLayerWeights& w,
                         const torch::Tensor& x, const torch::Tensor& o,
                         const torch::Tensor& o_proj) {
  const int64_t B = x.size(0), N = x.size(1), D = config.hidden_size;
  torch::Tensor n = o * torch::rsqrt(o.square().mean(-1, /*keepdim=*/true) + config.rms_norm_eps) *
                    w.out_norm_w;            // [B, H, N, d]
  n = n.transpose(1, 2).reshape({B, N, D});  // [B, N, D], heads concatenated
  const torch::Tensor& proj = o_proj.defined() ? o_proj : w.o_proj_w;
  return x + DenseLinear(n.to(proj.scalar_type()), proj).to(x.scalar_type());  // [B, N, D]
}

}  // namespace lact
