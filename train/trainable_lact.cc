#include "train/trainable_lact.h"

#include "absl/strings/str_cat.h"
#include "core/fast_weight.h"
#include "core/lact_stack.h"
#include "core/status_macros.h"

namespace lact::train {

absl::StatusOr<TrainableLact> TrainableLact::FromTensors(const LactConfig& config,
                                                         const TensorMap& tensors) {
  // LactStack::FromTensors checks every key and shape; its StateDict() is then the exact set.
  LACT_ASSIGN_OR_RETURN(LactStack stack, LactStack::FromTensors(config, tensors));
  TrainableLact t;
  t.config_ = config;
  t.params_ = stack.StateDict();
  for (auto& [name, p] : t.params_) p = p.clone().requires_grad_(true);
  return t;
}

absl::StatusOr<TrainableLact> TrainableLact::Untrained(const LactConfig& config) {
  LACT_ASSIGN_OR_RETURN(LactStack stack, LactStack::Untrained(config));
  return FromTensors(config, stack.StateDict());
}

const torch::Tensor& TrainableLact::P(int64_t l, const char* name) const {
  auto it = params_.find(absl::StrCat("layers.", l, ".", name));
  TORCH_CHECK(it != params_.end(), "no LaCT parameter layers.", l, ".", name);
  return it->second;
}

torch::Tensor TrainableLact::Layer(int64_t l, const torch::Tensor& x,
                                   const torch::Tensor& frame_lengths) const {
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t D = config_.hidden_size, H = config_.num_lact_heads, d = config_.head_dim();
  const int64_t C = config_.chunk_size;
  // Steps 1-5: projections of every frame.
  torch::Tensor xhat = torch::layer_norm(x, {D}, P(l, "norm.weight"), P(l, "norm.bias"),
                                         config_.layer_norm_eps);              // [B, T, D]
  torch::Tensor qkv = torch::silu(torch::linear(xhat, P(l, "qkv.weight")));  // [B, T, 3D]
  auto heads = [&](const torch::Tensor& u) {  // [B, T, D] -> [B, H, T, d]
    return u.reshape({B, T, H, d}).transpose(1, 2);
  };
  auto l2n = [](const torch::Tensor& u) { return u / (u.norm(2, {-1}, true) + 1e-5); };
  torch::Tensor q = l2n(heads(qkv.narrow(-1, 0, D)));      // [B, H, T, d]
  torch::Tensor k = l2n(heads(qkv.narrow(-1, D, D)));      // [B, H, T, d]
  torch::Tensor v = heads(qkv.narrow(-1, 2 * D, D));       // [B, H, T, d]
  torch::Tensor lr = config_.lr_scale *
                     torch::softplus(torch::linear(xhat, P(l, "lr_proj.weight"), P(l, "lr_proj.bias")));
  lr = lr.reshape({B, T, 3, H}).permute({0, 2, 3, 1});    // [B, 3, H, T]
  torch::Tensor beta;
  if (config_.use_momentum) {
    beta = torch::sigmoid(torch::linear(xhat, P(l, "momentum_proj.weight"),
                                        P(l, "momentum_proj.bias")))
               .transpose(1, 2);  // [B, H, T]
  }
  // Step 6: the stream's initial state.
  const torch::Tensor& w0 = P(l, "w0");  // [H, m, d]
  const torch::Tensor& w1 = P(l, "w1");  // [H, d, m]
  const torch::Tensor& w2 = P(l, "w2");  // [H, m, d]
  torch::Tensor fast = torch::stack({w0, w1.transpose(-1, -2), w2}, 0)
                           .unsqueeze(0).expand({B, 3, H, w0.size(1), d});  // [B, 3, H, m, d]
  torch::Tensor momentum = torch::zeros_like(fast);
  torch::Tensor r0 = w0.norm(2, {-1}), r1 = w1.norm(2, {-1}), r2 = w2.norm(2, {-1});
  FastWeightUpdateOptions options;
  options.use_momentum = config_.use_momentum;
  options.use_muon = config_.use_muon;
  options.weight_norm = config_.weight_norm;
  // Step 7: chunks in order: apply with the state before the chunk, then update if full.
  std::vector<torch::Tensor> outs;
  for (int64_t start = 0; start < T; start += C) {
    const int64_t n = std::min(C, T - start);
    torch::Tensor qc = q.narrow(2, start, n);  // [B, H, n, d]
    outs.push_back(FastWeightApply(qc, fast.select(1, 0), fast.select(1, 1), fast.select(1, 2)));
    if (n < C || start + C >= T) continue;  // a partial chunk, or the last one: no update needed
    torch::Tensor full = (frame_lengths >= start + C).view({B, 1, 1, 1, 1});  // [B, 1, 1, 1, 1]
    torch::Tensor new_fast = fast, new_momentum = momentum;
    FastWeightUpdate(options, k.narrow(2, start, C), v.narrow(2, start, C),
                     lr.narrow(3, start, C), config_.use_momentum ? beta.narrow(2, start, C) : beta,
                     r0, r1, r2, &new_fast, &new_momentum);
    fast = torch::where(full, new_fast, fast);
    if (config_.use_momentum) momentum = torch::where(full, new_momentum, momentum);
  }
  torch::Tensor o = torch::cat(outs, 2);  // [B, H, T, d]
  // Steps 8-9.
  o = o * torch::rsqrt(o.square().mean(-1, true) + config_.rms_norm_eps) * P(l, "out_norm.weight");
  o = o.transpose(1, 2).reshape({B, T, D});
  return x + torch::linear(o, P(l, "o_proj.weight"));  // [B, T, D]
}

torch::Tensor TrainableLact::Forward(const torch::Tensor& x, const torch::Tensor& frame_lengths) const {
  torch::Tensor y = x;
  for (int64_t l = 0; l < config_.num_lact_layers; ++l) y = Layer(l, y, frame_lengths);
  return y;
}

std::vector<torch::Tensor> TrainableLact::Parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& [name, p] : params_) out.push_back(p);
  return out;
}

TensorMap TrainableLact::ExportTensors() const {
  TensorMap out;
  for (const auto& [name, p] : params_) out[name] = p.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return out;
}

void TrainableLact::To(torch::Device device) {
  for (auto& [name, p] : params_) p = p.detach().to(device).requires_grad_(true);
}

}  // namespace lact::train
