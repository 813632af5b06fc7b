#include "train/trainable_lact.h"

#include "absl/strings/str_cat.h"
#include "core/lact/fast_weight.h"
#include "core/lact/lact_layer_math.h"
#include "core/lact/lact_stack.h"
#include "core/util/status_macros.h"

namespace lact::train {

absl::StatusOr<TrainableLact> TrainableLact::FromTensors(const LactConfig& config,
                                                         const TensorMap& tensors) {
  // LactStack::FromTensors checks every key and shape; its StateDict() is then the exact set.
  LACT_ASSIGN_OR_RETURN(LactStack stack, LactStack::FromTensors(config, tensors));
  TrainableLact t;
  t.config_ = config;
  t.params_ = stack.StateDict();
  for (auto& [name, p] : t.params_) p = p.clone().requires_grad_(true);
  LACT_RETURN_IF_ERROR(t.BindLayers());
  return t;
}

absl::Status TrainableLact::BindLayers() {
  layers_.clear();
  for (int64_t l = 0; l < config_.num_lact_layers; ++l) {
    // float32 tensors already on their device are taken as they are: the leaves themselves.
    LACT_ASSIGN_OR_RETURN(
        LactLayerWeights w,
        LactLayerWeights::Take(config_, params_, l, params_.begin()->second.device()));
    layers_.push_back(std::move(w));
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainableLact> TrainableLact::Untrained(const LactConfig& config) {
  LACT_ASSIGN_OR_RETURN(LactStack stack, LactStack::Untrained(config));
  return FromTensors(config, stack.StateDict());
}

torch::Tensor TrainableLact::Layer(int64_t l, const torch::Tensor& x,
                                   const torch::Tensor& frame_lengths) const {
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t H = config_.num_lact_heads, d = config_.head_dim();
  const int64_t C = config_.chunk_size;
  const LactLayerWeights& w = layers_[l];  // the leaf tensors of layer l
  // Steps 1-5: projections of every frame.
  LactFeatures f = LactProject(config_, w, FuseLactProjection(config_, w), x);
  torch::Tensor q = f.q.transpose(1, 2);                                        // [B, H, T, d]
  torch::Tensor k = f.k.transpose(1, 2);                                        // [B, H, T, d]
  torch::Tensor v = f.v.reshape({B, T, H, d}).transpose(1, 2);                  // [B, H, T, d]
  torch::Tensor lr = f.lr.reshape({B, T, 3, H}).permute({0, 2, 3, 1});          // [B, 3, H, T]
  torch::Tensor beta = config_.use_momentum ? f.beta.transpose(1, 2) : f.beta;  // [B, H, T]
  // Step 6: the stream's initial state.
  torch::Tensor init = LactInitialFast(w);                                    // [3, H, m, d]
  torch::Tensor fast = init.unsqueeze(0).expand({B, 3, H, init.size(2), d});  // [B, 3, H, m, d]
  torch::Tensor momentum = torch::zeros_like(fast);
  const LactRowNorms r = LactInitialRowNorms(w);
  const FastWeightUpdateOptions options = LactUpdateOptions(config_);
  // Step 7: chunks in order: apply with the state before the chunk, then update if full. The
  // per-chunk pieces come from one split each (not a narrow per chunk): the backward of a split is
  // one concatenation, where each narrow's backward would write a zero-filled full-length tensor.
  const std::vector<torch::Tensor> qs = q.split(C, 2), ks = k.split(C, 2), vs = v.split(C, 2);
  const std::vector<torch::Tensor> lrs = lr.split(C, 3);
  const std::vector<torch::Tensor> betas =
      config_.use_momentum ? beta.split(C, 2) : std::vector<torch::Tensor>(qs.size(), beta);
  std::vector<torch::Tensor> outs;
  for (size_t i = 0; i < qs.size(); ++i) {
    const int64_t start = static_cast<int64_t>(i) * C;
    // [B, H, n, d] with n = C but for a partial last chunk.
    outs.push_back(FastWeightApply(qs[i], fast.select(1, 0), fast.select(1, 1), fast.select(1, 2)));
    if (qs[i].size(2) < C || start + C >= T) continue;  // partial, or the last: no update needed
    torch::Tensor full = (frame_lengths >= start + C).view({B, 1, 1, 1, 1});  // [B, 1, 1, 1, 1]
    torch::Tensor new_fast = fast, new_momentum = momentum;
    FastWeightUpdate(options, ks[i], vs[i], lrs[i], betas[i], r.r0, r.r1, r.r2, &new_fast,
                     &new_momentum);
    fast = torch::where(full, new_fast, fast);
    if (config_.use_momentum) momentum = torch::where(full, new_momentum, momentum);
  }
  // Steps 8-9.
  return LactOutput(config_, w, x, torch::cat(outs, 2));  // [B, T, D]
}

torch::Tensor TrainableLact::Forward(const torch::Tensor& x,
                                     const torch::Tensor& frame_lengths) const {
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
  for (const auto& [name, p] : params_)
    out[name] = p.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return out;
}

void TrainableLact::To(torch::Device device) {
  for (auto& [name, p] : params_) p = p.detach().to(device).requires_grad_(true);
  // The same names and shapes as at construction: binding them again cannot fail.
  const absl::Status bound = BindLayers();
  TORCH_CHECK(bound.ok(), "TrainableLact::To: ", bound.ToString());
}

}  // namespace lact::train
