#include "train/trainable_wav2vec2.h"

#include <cmath>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/model/wav2vec2_forward.h"
#include "core/model/wav2vec2_weights.h"
#include "core/util/status_macros.h"

namespace lact::train {
namespace {

// LibTorch 2.4 replaced the per-device autocast functions (set_enabled for CUDA, set_cpu_enabled)
// by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool AutocastEnabled(c10::DeviceType t) { return at::autocast::is_autocast_enabled(t); }
void SetAutocastEnabled(c10::DeviceType t, bool on) { at::autocast::set_autocast_enabled(t, on); }
at::ScalarType AutocastDtype(c10::DeviceType t) { return at::autocast::get_autocast_dtype(t); }
void SetAutocastDtype(c10::DeviceType t, at::ScalarType d) {
  at::autocast::set_autocast_dtype(t, d);
}
#else
bool AutocastEnabled(c10::DeviceType t) {
  return t == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void SetAutocastEnabled(c10::DeviceType t, bool on) {
  t == c10::kCUDA ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on);
}
at::ScalarType AutocastDtype(c10::DeviceType t) {
  return t == c10::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                         : at::autocast::get_autocast_cpu_dtype();
}
void SetAutocastDtype(c10::DeviceType t, at::ScalarType d) {
  t == c10::kCUDA ? at::autocast::set_autocast_gpu_dtype(d)
                  : at::autocast::set_autocast_cpu_dtype(d);
}
#endif

// Autocast to `dtype` on device type `t` for one scope (kFloat: nothing); the previous state back
// after, and the cast weights dropped (they change with every optimizer step).
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType t, at::ScalarType dtype) : type_(t), on_(dtype != at::kFloat) {
    if (!on_) return;
    was_enabled_ = AutocastEnabled(t), was_dtype_ = AutocastDtype(t);
    SetAutocastEnabled(t, true);
    SetAutocastDtype(t, dtype);
  }
  ~AutocastScope() {
    if (!on_) return;
    SetAutocastEnabled(type_, was_enabled_);
    SetAutocastDtype(type_, was_dtype_);
    at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType type_;
  bool on_;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kFloat;
};

}  // namespace

absl::StatusOr<TrainableWav2Vec2> TrainableWav2Vec2::Create(const Wav2Vec2Config& config,
                                                            uint64_t seed) {
  LACT_RETURN_IF_ERROR(config.Validate());
  at::Generator gen = at::detail::createCPUGenerator(seed);
  auto cpu = torch::TensorOptions().dtype(torch::kFloat);
  TrainableWav2Vec2 m;
  m.config_ = config;
  const int64_t D = config.hidden_size, K = config.num_conv_pos_embeddings;
  const int64_t G = config.num_conv_pos_embedding_groups;
  const std::string pc = kWav2Vec2PosConv;
  for (const Wav2Vec2TensorSpec& s : Wav2Vec2TensorSpecs(config)) {
    torch::Tensor t;
    switch (s.init) {
      case Wav2Vec2Init::kLinear: t = at::randn(s.shape, gen, cpu) * 0.02; break;
      case Wav2Vec2Init::kConv: {  // kaiming_normal_ (fan_in, gain sqrt(2))
        const double fan_in = static_cast<double>(s.shape[1] * s.shape[2]);
        t = at::randn(s.shape, gen, cpu) * std::sqrt(2.0 / fan_in);
        break;
      }
      case Wav2Vec2Init::kPosConvV:
        t = at::randn(s.shape, gen, cpu) * std::sqrt(4.0 / (K * (D / G)));
        break;
      case Wav2Vec2Init::kPosConvG: t = torch::zeros(s.shape, cpu); break;  // set from v below
      case Wav2Vec2Init::kOne: t = torch::ones(s.shape, cpu); break;
      case Wav2Vec2Init::kZero: t = torch::zeros(s.shape, cpu); break;
    }
    m.params_[s.name] = t;
  }
  // weight_norm(dim=2) starts with g = ||v|| so that the initial weight equals v.
  m.params_[pc + "weight_g"] =
      m.params_[pc + "weight_v"].pow(2).sum(std::vector<int64_t>{0, 1}, true).sqrt();
  m.SetRequiresGrad(true);
  LACT_RETURN_IF_ERROR(m.BindWeights());
  return m;
}

absl::StatusOr<TrainableWav2Vec2> TrainableWav2Vec2::FromTensors(const Wav2Vec2Config& config,
                                                                 const TensorMap& tensors) {
  LACT_RETURN_IF_ERROR(config.Validate());
  LACT_ASSIGN_OR_RETURN(TensorMap canonical, CanonicalWav2Vec2Tensors(config, tensors));
  const std::string pc = kWav2Vec2PosConv;
  auto folded = canonical.find(pc + "weight");
  if (folded != canonical.end()) {
    // A plain positional conv weight: training keeps weight norm, with v = w and g = ||w||.
    const torch::Tensor w = folded->second;
    canonical[pc + "weight_v"] = w;
    canonical[pc + "weight_g"] = w.pow(2).sum(std::vector<int64_t>{0, 1}, true).sqrt();
    canonical.erase(folded);
  }
  TrainableWav2Vec2 m;
  m.config_ = config;
  for (auto& [name, t] : canonical) m.params_[name] = t.to(torch::kFloat).clone();
  m.SetRequiresGrad(true);
  LACT_RETURN_IF_ERROR(m.BindWeights());
  return m;
}

absl::Status TrainableWav2Vec2::BindWeights() {
  LACT_ASSIGN_OR_RETURN(weights_, Wav2Vec2Weights::Bind(config_, params_));
  return absl::OkStatus();
}

TrainableWav2Vec2::Output TrainableWav2Vec2::Encode(const torch::Tensor& waveform,
                                                    const torch::Tensor& lengths, bool training,
                                                    torch::ScalarType autocast) const {
  Wav2Vec2ForwardOptions options;
  options.lengths = lengths;
  options.dropout = dropout_;
  options.training = training;
  AutocastScope scope(waveform.device().type(), autocast);
  Wav2Vec2ForwardOutput out =
      Wav2Vec2Encode(config_, weights_, waveform.to(torch::kFloat), options);
  return {out.hidden.to(torch::kFloat), out.frame_lengths};  // [B, T, D] float32, [B]
}

torch::Tensor TrainableWav2Vec2::EncodeFrom(const torch::Tensor& x, int64_t layer,
                                            const torch::Tensor& frame_lengths,
                                            bool training) const {
  Wav2Vec2ForwardOptions options;
  options.dropout = dropout_;
  options.training = training;
  return Wav2Vec2EncodeFrom(config_, weights_, x.to(torch::kFloat), layer, frame_lengths,
                            options);  // [B, T, D]
}

torch::Tensor TrainableWav2Vec2::Logits(const torch::Tensor& hidden) const {
  return Wav2Vec2Logits(weights_, hidden);  // [B, T, V]
}

std::vector<torch::Tensor> TrainableWav2Vec2::Parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& [name, t] : params_) out.push_back(t);
  return out;
}

void TrainableWav2Vec2::SetRequiresGrad(bool requires_grad) {
  for (auto& [name, t] : params_) t.requires_grad_(requires_grad);
}

bool TrainableWav2Vec2::IsTopLayerParameter(const std::string& name, int64_t n) const {
  if (n <= 0) return false;
  if (config_.do_stable_layer_norm && absl::StartsWith(name, "wav2vec2.encoder.layer_norm."))
    return true;
  for (int64_t l = config_.num_hidden_layers - n; l < config_.num_hidden_layers; ++l) {
    if (absl::StartsWith(name, absl::StrCat("wav2vec2.encoder.layers.", l, "."))) return true;
  }
  return false;
}

std::vector<torch::Tensor> TrainableWav2Vec2::TopLayerParameters(int64_t n) const {
  std::vector<torch::Tensor> out;
  for (const auto& [name, t] : params_) {
    if (IsTopLayerParameter(name, n)) out.push_back(t);
  }
  return out;
}

TensorMap TrainableWav2Vec2::ExportTensors() const {
  TensorMap out;
  for (const auto& [name, t] : params_)
    out[name] = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return out;
}

int64_t TrainableWav2Vec2::NumParameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : params_) n += t.numel();
  return n;
}

void TrainableWav2Vec2::To(torch::Device device) {
  for (auto& [name, t] : params_) {
    const bool rg = t.requires_grad();
    t = t.detach().to(device).requires_grad_(rg);
  }
  TORCH_CHECK(BindWeights().ok(), "rebinding the moved parameters");  // the names did not change
}

}  // namespace lact::train
