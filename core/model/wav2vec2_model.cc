#include "core/model/wav2vec2_model.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/model/wav2vec2_forward.h"
#include "core/util/status_macros.h"

namespace lact {
namespace {

// A weight or bias of a transformer layer's linear layers (attention q/k/v/out projections, the
// feed-forward's two dense layers): what an int8 precision quantizes.
bool IsTransformerLinear(const std::string& name) {
  if (!absl::StrContains(name, ".encoder.layers.")) return false;
  for (const char* suffix : {"_proj.weight", "_proj.bias", "_dense.weight", "_dense.bias"})
    if (absl::EndsWith(name, suffix)) return true;
  return false;
}

}  // namespace

absl::StatusOr<Wav2Vec2Model> Wav2Vec2Model::Load(const std::string& dir, torch::Device device,
                                                  const Precision& precision) {
  LACT_ASSIGN_OR_RETURN(Wav2Vec2Config config, Wav2Vec2Config::FromJsonFile(dir + "/config.json"));
  const std::string weights = dir + "/model.safetensors";
  LACT_ASSIGN_OR_RETURN(TensorMap tensors, LoadSafetensors(weights));
  auto model = FromTensors(config, tensors, device, precision);
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        absl::StrCat(weights, ": ", model.status().message()));
  }
  return model;
}

absl::StatusOr<Wav2Vec2Model> Wav2Vec2Model::FromTensors(const Wav2Vec2Config& config,
                                                         const TensorMap& tensors,
                                                         torch::Device device,
                                                         const Precision& precision) {
  LACT_RETURN_IF_ERROR(config.Validate());
  LACT_ASSIGN_OR_RETURN(TensorMap canonical, CanonicalWav2Vec2Tensors(config, tensors));
  torch::NoGradGuard no_grad;
  const std::string pc = kWav2Vec2PosConv;
  const torch::ScalarType dtype = precision.dtype;
  for (auto& [name, t] : canonical) {
    // lm_head and the weight-norm pair stay float32 (the pair is folded below), and so do the
    // layers about to be quantized (from their float32 values).
    const bool keep_float32 = name.rfind("lm_head.", 0) == 0 || name == pc + "weight_g" ||
                              name == pc + "weight_v" ||
                              (precision.int8_linear && IsTransformerLinear(name));
    t = t.to(device, keep_float32 ? torch::kFloat32 : dtype).contiguous();
  }
  if (canonical.count(pc + "weight_g")) {
    // Weight norm over dim 2: weight = g * v / ||v||, the norm over dims 0 and 1 per kernel
    // position.
    const torch::Tensor g = canonical.at(pc + "weight_g"), v = canonical.at(pc + "weight_v");
    torch::Tensor norm =
        v.pow(2).sum(std::vector<int64_t>{0, 1}, /*keepdim=*/true).sqrt();  // [1, 1, K]
    canonical[pc + "weight"] = (g * v / norm).to(dtype).contiguous();
    canonical.erase(pc + "weight_g");
    canonical.erase(pc + "weight_v");
  }
  Wav2Vec2Model m;
  m.config_ = config;
  m.device_ = device;
  m.precision_ = precision;
  LACT_ASSIGN_OR_RETURN(m.weights_, Wav2Vec2Weights::Bind(config, canonical));
  // QuantizedLinear::Create refuses weights off the CPU.
  if (precision.int8_linear) LACT_RETURN_IF_ERROR(m.weights_.QuantizeLinearLayers());
  return m;
}

torch::Tensor Wav2Vec2Model::Encode(const torch::Tensor& waveform) const {
  // waveform [B, S] -> hidden [B, T, D]
  torch::InferenceMode guard;
  return Wav2Vec2Encode(config_, weights_, waveform.to(device_, dtype()))
      .hidden.to(torch::kFloat32);
}

torch::Tensor Wav2Vec2Model::Encode(const torch::Tensor& waveform,
                                    const torch::Tensor& lengths) const {
  // waveform [B, S], lengths [B] -> hidden [B, T, D]
  torch::InferenceMode guard;
  Wav2Vec2ForwardOptions options;
  options.lengths = lengths.to(device_, torch::kLong);
  options.exact_padding = true;
  return Wav2Vec2Encode(config_, weights_, waveform.to(device_, dtype()), options)
      .hidden.to(torch::kFloat32);
}

torch::Tensor Wav2Vec2Model::EncodeBelow(const torch::Tensor& waveform, int64_t layer) const {
  // waveform [B, S] -> hidden [B, T, D]
  torch::InferenceMode guard;
  return Wav2Vec2EncodeBelow(config_, weights_, waveform.to(device_, dtype()), layer)
      .hidden.to(torch::kFloat32);
}

torch::Tensor Wav2Vec2Model::Logits(const torch::Tensor& hidden) const {
  // hidden [B, T, D] -> logits [B, T, V]
  torch::InferenceMode guard;
  return Wav2Vec2Logits(weights_, hidden.to(device_, torch::kFloat32));
}

int64_t Wav2Vec2Model::ParameterBytes() const {
  int64_t bytes = weights_.QuantizedBytes();
  weights_.ForEach([&bytes](const torch::Tensor& t) { bytes += t.numel() * t.element_size(); });
  return bytes;
}

}  // namespace lact
