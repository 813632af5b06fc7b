#include "core/lact_layer.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

absl::StatusOr<LactLayer> LactLayer::FromTensors(const LactConfig& config,
                                                 const TensorMap& tensors, int64_t index,
                                                 torch::Device device) {
  const int64_t D = config.hidden_size, H = config.num_lact_heads;
  const int64_t d = config.head_dim(), m = config.inner_dim();
  const std::string p = absl::StrCat("layers.", index, ".");
  LactLayer l;
  l.config_ = config;
  auto take = [&](const char* name, std::vector<int64_t> shape, torch::Tensor* out) {
    absl::StatusOr<torch::Tensor> t = Take(tensors, p, name, std::move(shape), device);
    if (!t.ok()) return t.status();
    *out = *std::move(t);
    return absl::OkStatus();
  };
  for (absl::Status s : {take("norm.weight", {D}, &l.norm_w_), take("norm.bias", {D}, &l.norm_b_),
                         take("qkv.weight", {3 * D, D}, &l.qkv_w_),
                         take("lr_proj.weight", {3 * H, D}, &l.lr_w_),
                         take("lr_proj.bias", {3 * H}, &l.lr_b_),
                         take("w0", {H, m, d}, &l.w0_), take("w1", {H, d, m}, &l.w1_),
                         take("w2", {H, m, d}, &l.w2_),
                         take("out_norm.weight", {d}, &l.out_norm_w_),
                         take("o_proj.weight", {D, D}, &l.o_proj_w_)}) {
    if (!s.ok()) return s;
  }
  if (config.use_momentum) {
    for (absl::Status s : {take("momentum_proj.weight", {H, D}, &l.mom_w_),
                           take("momentum_proj.bias", {H}, &l.mom_b_)}) {
      if (!s.ok()) return s;
    }
  }
  l.Finish();
  return l;
}

LactLayer LactLayer::Untrained(const LactConfig& config, at::Generator& generator,
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
  LactLayer l;
  l.config_ = config;
  l.norm_w_ = full({D}, 1.0);
  l.norm_b_ = full({D}, 0.0);
  l.qkv_w_ = normal({3 * D, D}, std::sqrt(1.0 / D));
  l.lr_w_ = normal({3 * H, D}, 0.02);
  l.lr_b_ = full({3 * H}, std::log(std::expm1(config.base_lr)));  // softplus⁻¹(base_lr)
  l.mom_w_ = normal({H, D}, 0.02);
  const double mu = std::min(std::max(config.momentum, 1e-6), 1.0 - 1e-6);
  l.mom_b_ = full({H}, std::log(mu / (1.0 - mu)));  // logit(momentum)
  l.w0_ = normal({H, m, d}, std::sqrt(1.0 / d));
  l.w1_ = normal({H, d, m}, std::sqrt(1.0 / m));
  l.w2_ = normal({H, m, d}, std::sqrt(1.0 / d));
  l.out_norm_w_ = full({d}, 1.0);
  l.o_proj_w_ = full({D, D}, 0.0);  // => the layer is exactly the identity
  l.Finish();
  return l;
}

void LactLayer::Finish() {
  const int64_t D = config_.hidden_size;
  std::vector<torch::Tensor> w = {qkv_w_, lr_w_};
  std::vector<torch::Tensor> b = {torch::zeros({3 * D}, qkv_w_.options()), lr_b_};
  if (config_.use_momentum) {
    w.push_back(mom_w_);
    b.push_back(mom_b_);
  }
  proj_w_ = torch::cat(w, 0).contiguous();  // [3D + 3H (+ H), D]
  proj_b_ = torch::cat(b, 0).contiguous();  // [3D + 3H (+ H)]
  initial_fast_ = torch::stack({w0_, w1_.transpose(-1, -2), w2_}, 0).contiguous();  // [3, H, m, d]
  r0_ = w0_.norm(2, {-1});  // [H, m]
  r1_ = w1_.norm(2, {-1});  // [H, d]
  r2_ = w2_.norm(2, {-1});  // [H, m]
}

void LactLayer::ExportTensors(int64_t index, TensorMap* out) const {
  const std::string p = absl::StrCat("layers.", index, ".");
  auto put = [&](const char* name, const torch::Tensor& t) {
    if (t.defined()) (*out)[absl::StrCat(p, name)] = t.to(torch::kCPU, torch::kFloat).contiguous();
  };
  put("norm.weight", norm_w_);
  put("norm.bias", norm_b_);
  put("qkv.weight", qkv_w_);
  put("lr_proj.weight", lr_w_);
  put("lr_proj.bias", lr_b_);
  put("momentum_proj.weight", mom_w_);
  put("momentum_proj.bias", mom_b_);
  put("w0", w0_);
  put("w1", w1_);
  put("w2", w2_);
  put("out_norm.weight", out_norm_w_);
  put("o_proj.weight", o_proj_w_);
}

int64_t LactLayer::row_width() const {
  const int64_t D = config_.hidden_size, H = config_.num_lact_heads;
  return 2 * D + 3 * H + (config_.use_momentum ? H : 0);
}

LactLayer::Projections LactLayer::Project(const torch::Tensor& x) const {
  const int64_t B = x.size(0), N = x.size(1);
  const int64_t D = config_.hidden_size, H = config_.num_lact_heads, d = config_.head_dim();
  torch::Tensor xhat = torch::layer_norm(x, {D}, norm_w_, norm_b_, config_.layer_norm_eps);
  torch::Tensor feat = torch::linear(xhat, proj_w_, proj_b_);  // [B, N, 3D + 3H (+ H)]
  torch::Tensor qkv = torch::silu(feat.narrow(-1, 0, 3 * D));  // [B, N, 3D]
  auto l2n = [](const torch::Tensor& u) {                       // per token and head
    return u / (u.norm(2, {-1}, /*keepdim=*/true) + 1e-5);
  };
  torch::Tensor q = l2n(qkv.narrow(-1, 0, D).view({B, N, H, d}));      // [B, N, H, d]
  torch::Tensor k = l2n(qkv.narrow(-1, D, D).reshape({B, N, H, d}));   // [B, N, H, d]
  torch::Tensor v = qkv.narrow(-1, 2 * D, D);                          // [B, N, D]
  torch::Tensor lr =
      config_.lr_scale * torch::softplus(feat.narrow(-1, 3 * D, 3 * H));  // [B, N, 3H]
  std::vector<torch::Tensor> parts = {k.view({B, N, D}), v, lr};
  if (config_.use_momentum) parts.push_back(torch::sigmoid(feat.narrow(-1, 3 * D + 3 * H, H)));
  Projections p;
  p.q = q.transpose(1, 2);             // [B, H, N, d]
  p.rows = torch::cat(parts, -1);      // [B, N, F]
  return p;
}

torch::Tensor LactLayer::Output(const torch::Tensor& x, const torch::Tensor& q,
                                const torch::Tensor& fast) const {
  const int64_t B = x.size(0), N = x.size(1), D = config_.hidden_size;
  torch::Tensor o = FastWeightApply(q, fast.select(1, 0), fast.select(1, 1),
                                    fast.select(1, 2));  // [B, H, N, d]
  o = o * torch::rsqrt(o.square().mean(-1, /*keepdim=*/true) + config_.rms_norm_eps) *
      out_norm_w_;                                       // [B, H, N, d]
  o = o.transpose(1, 2).reshape({B, N, D});              // [B, N, D], heads concatenated
  return x + torch::linear(o, o_proj_w_);                // [B, N, D]
}

void LactLayer::Update(const torch::Tensor& rows, torch::Tensor* fast,
                       torch::Tensor* momentum) const {
  const int64_t U = rows.size(0), C = rows.size(1);
  const int64_t D = config_.hidden_size, H = config_.num_lact_heads, d = config_.head_dim();
  torch::Tensor k = rows.narrow(-1, 0, D).reshape({U, C, H, d}).transpose(1, 2);  // [U, H, C, d]
  torch::Tensor v = rows.narrow(-1, D, D).reshape({U, C, H, d}).transpose(1, 2);  // [U, H, C, d]
  torch::Tensor lr =
      rows.narrow(-1, 2 * D, 3 * H).reshape({U, C, 3, H}).permute({0, 2, 3, 1});  // [U, 3, H, C]
  torch::Tensor beta;
  if (config_.use_momentum) beta = rows.narrow(-1, 2 * D + 3 * H, H).transpose(1, 2);  // [U, H, C]
  FastWeightUpdateOptions options;
  options.use_momentum = config_.use_momentum;
  options.use_muon = config_.use_muon;
  options.weight_norm = config_.weight_norm;
  FastWeightUpdate(options, k, v, lr, beta, r0_, r1_, r2_, fast, momentum);
}

}  // namespace lact
