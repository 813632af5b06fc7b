#include "core/lact/lact_layer.h"

#include <vector>

namespace lact {

absl::StatusOr<LactLayer> LactLayer::FromTensors(const LactConfig& config, const TensorMap& tensors,
                                                 int64_t index, torch::Device device) {
  LactLayer l;
  l.config_ = config;
  auto w = LactLayerWeights::Take(config, tensors, index, device);
  if (!w.ok()) return w.status();
  l.w_ = *std::move(w);
  l.Finish();
  return l;
}

LactLayer LactLayer::Untrained(const LactConfig& config, at::Generator& generator,
                               torch::Device device) {
  LactLayer l;
  l.config_ = config;
  l.w_ = LactLayerWeights::Untrained(config, generator, device);
  l.Finish();
  return l;
}

void LactLayer::Finish() {
  projection_ = FuseLactProjection(config_, w_);
  o_proj_ = w_.o_proj_w;
  initial_fast_ = LactInitialFast(w_).contiguous();  // [3, H, m, d]
  row_norms_ = LactInitialRowNorms(w_);
}

void LactLayer::set_projection_dtype(torch::ScalarType dtype) {
  const LactFusedProjection full = FuseLactProjection(config_, w_);  // from the float32 weights
  projection_ = {full.weight.to(dtype), full.bias.to(dtype)};
  o_proj_ = w_.o_proj_w.to(dtype);
}

void LactLayer::ExportTensors(int64_t index, TensorMap* out) const { w_.Export(index, out); }

int64_t LactLayer::row_width() const {
  const int64_t D = config_.hidden_size, H = config_.num_lact_heads;
  return 2 * D + 3 * H + (config_.use_momentum ? H : 0);
}

LactLayer::Projections LactLayer::Project(const torch::Tensor& x) const {
  const int64_t B = x.size(0), N = x.size(1), D = config_.hidden_size;
  LactFeatures f = LactProject(config_, w_, projection_, x);
  std::vector<torch::Tensor> parts = {f.k.view({B, N, D}), f.v, f.lr};
  if (config_.use_momentum) parts.push_back(f.beta);
  Projections p;
  p.q = f.q.transpose(1, 2);       // [B, H, N, d]
  p.rows = torch::cat(parts, -1);  // [B, N, F]
  return p;
}

torch::Tensor LactLayer::Output(const torch::Tensor& x, const torch::Tensor& q,
                                const torch::Tensor& fast) const {
  torch::Tensor o =
      FastWeightApply(q, fast.select(1, 0), fast.select(1, 1), fast.select(1, 2));  // [B, H, N, d]
  return LactOutput(config_, w_, x, o, o_proj_);                                    // [B, N, D]
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
  FastWeightUpdate(LactUpdateOptions(config_), k, v, lr, beta, row_norms_.r0, row_norms_.r1,
                   row_norms_.r2, fast, momentum);
}

}  // namespace lact
