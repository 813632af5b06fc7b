#include "train/trainable_wav2vec2.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace lact::train {
namespace {

namespace F = torch::nn::functional;

const char* kPosConv = "wav2vec2.encoder.pos_conv_embed.conv.";

// Every tensor name and shape of the model `config` describes, with its initialiser kind.
enum class Init { kLinear, kConv, kPosConvV, kPosConvG, kOne, kZero };
struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  Init init;
};

std::vector<Spec> ParameterSpecs(const Wav2Vec2Config& c) {
  std::vector<Spec> s;
  const int64_t D = c.hidden_size, I = c.intermediate_size;
  const bool layer_mode = c.feat_extract_norm == "layer";
  int64_t in_ch = 1;
  for (size_t i = 0; i < c.conv_dim.size(); ++i) {
    const std::string p = absl::StrCat("wav2vec2.feature_extractor.conv_layers.", i, ".");
    s.push_back({p + "conv.weight", {c.conv_dim[i], in_ch, c.conv_kernel[i]}, Init::kConv});
    if (c.conv_bias) s.push_back({p + "conv.bias", {c.conv_dim[i]}, Init::kZero});
    if (layer_mode || i == 0) {
      s.push_back({p + "layer_norm.weight", {c.conv_dim[i]}, Init::kOne});
      s.push_back({p + "layer_norm.bias", {c.conv_dim[i]}, Init::kZero});
    }
    in_ch = c.conv_dim[i];
  }
  s.push_back({"wav2vec2.feature_projection.layer_norm.weight", {in_ch}, Init::kOne});
  s.push_back({"wav2vec2.feature_projection.layer_norm.bias", {in_ch}, Init::kZero});
  s.push_back({"wav2vec2.feature_projection.projection.weight", {D, in_ch}, Init::kLinear});
  s.push_back({"wav2vec2.feature_projection.projection.bias", {D}, Init::kZero});
  const int64_t K = c.num_conv_pos_embeddings, G = c.num_conv_pos_embedding_groups;
  s.push_back({std::string(kPosConv) + "weight_g", {1, 1, K}, Init::kPosConvG});
  s.push_back({std::string(kPosConv) + "weight_v", {D, D / G, K}, Init::kPosConvV});
  s.push_back({std::string(kPosConv) + "bias", {D}, Init::kZero});
  s.push_back({"wav2vec2.encoder.layer_norm.weight", {D}, Init::kOne});
  s.push_back({"wav2vec2.encoder.layer_norm.bias", {D}, Init::kZero});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = absl::StrCat("wav2vec2.encoder.layers.", l, ".");
    for (const char* n : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      s.push_back({p + "attention." + n + ".weight", {D, D}, Init::kLinear});
      s.push_back({p + "attention." + n + ".bias", {D}, Init::kZero});
    }
    s.push_back({p + "layer_norm.weight", {D}, Init::kOne});
    s.push_back({p + "layer_norm.bias", {D}, Init::kZero});
    s.push_back({p + "feed_forward.intermediate_dense.weight", {I, D}, Init::kLinear});
    s.push_back({p + "feed_forward.intermediate_dense.bias", {I}, Init::kZero});
    s.push_back({p + "feed_forward.output_dense.weight", {D, I}, Init::kLinear});
    s.push_back({p + "feed_forward.output_dense.bias", {D}, Init::kZero});
    s.push_back({p + "final_layer_norm.weight", {D}, Init::kOne});
    s.push_back({p + "final_layer_norm.bias", {D}, Init::kZero});
  }
  s.push_back({"lm_head.weight", {c.vocab_size, D}, Init::kLinear});
  s.push_back({"lm_head.bias", {c.vocab_size}, Init::kZero});
  return s;
}

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
  torch::Tensor pos_v;
  for (const Spec& s : ParameterSpecs(config)) {
    torch::Tensor t;
    switch (s.init) {
      case Init::kLinear: t = at::randn(s.shape, gen, cpu) * 0.02; break;
      case Init::kConv: {  // kaiming_normal_ (fan_in, gain sqrt(2))
        const double fan_in = static_cast<double>(s.shape[1] * s.shape[2]);
        t = at::randn(s.shape, gen, cpu) * std::sqrt(2.0 / fan_in);
        break;
      }
      case Init::kPosConvV:
        t = at::randn(s.shape, gen, cpu) * std::sqrt(4.0 / (K * (D / G)));
        pos_v = t;
        break;
      case Init::kPosConvG: t = torch::zeros(s.shape, cpu); break;  // set from v below
      case Init::kOne: t = torch::ones(s.shape, cpu); break;
      case Init::kZero: t = torch::zeros(s.shape, cpu); break;
    }
    m.params_[s.name] = t;
  }
  // weight_norm(dim=2) starts with g = ||v|| so that the initial weight equals v.
  m.params_[std::string(kPosConv) + "weight_g"] =
      pos_v.pow(2).sum(std::vector<int64_t>{0, 1}, /*keepdim=*/true).sqrt();
  m.SetRequiresGrad(true);
  return m;
}

absl::StatusOr<TrainableWav2Vec2> TrainableWav2Vec2::FromTensors(const Wav2Vec2Config& config,
                                                                  const TensorMap& tensors) {
  LACT_RETURN_IF_ERROR(config.Validate());
  TrainableWav2Vec2 m;
  m.config_ = config;
  const std::string pc = kPosConv;
  for (const Spec& s : ParameterSpecs(config)) {
    std::string key = s.name;
    if (!tensors.count(key) && s.name == pc + "weight_g") key = pc + "parametrizations.weight.original0";
    if (!tensors.count(key) && s.name == pc + "weight_v") key = pc + "parametrizations.weight.original1";
    torch::Tensor t;
    auto it = tensors.find(key);
    if (it != tensors.end()) {
      t = it->second;
    } else if ((s.name == pc + "weight_g" || s.name == pc + "weight_v") && tensors.count(pc + "weight")) {
      torch::Tensor w = tensors.at(pc + "weight");  // plain conv weight: v = w, g = ||w||
      t = s.name == pc + "weight_v" ? w : w.pow(2).sum(std::vector<int64_t>{0, 1}, true).sqrt();
    } else {
      return absl::NotFoundError(absl::StrCat("missing tensor '", s.name, "'"));
    }
    if (t.sizes() != at::IntArrayRef(s.shape)) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", s.name, "' has shape [",
                                                     absl::StrJoin(t.sizes(), ", "), "], expected [",
                                                     absl::StrJoin(s.shape, ", "), "]"));
    }
    m.params_[s.name] = t.to(torch::kFloat).clone();
  }
  m.SetRequiresGrad(true);
  return m;
}

const torch::Tensor& TrainableWav2Vec2::P(const std::string& name) const {
  auto it = params_.find(name);
  TORCH_CHECK(it != params_.end(), "no parameter ", name);
  return it->second;
}

torch::Tensor TrainableWav2Vec2::Activation(const torch::Tensor& x, const std::string& name) const {
  if (name == "gelu") return torch::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (name == "relu") return torch::relu(x);
  return torch::silu(x);
}

torch::Tensor TrainableWav2Vec2::Attention(const std::string& p, const torch::Tensor& x,
                                           const torch::Tensor& key_mask, bool training) const {
  // x [B, T, D] -> [B, T, D]; key_mask [B, 1, 1, T] additive (0 or a large negative number)
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  const int64_t H = config_.num_attention_heads, hd = D / H;
  const double scaling = 1.0 / std::sqrt(static_cast<double>(hd));
  auto lin = [&](const char* n, const torch::Tensor& in) {
    return torch::linear(in, P(p + "attention." + n + ".weight"), P(p + "attention." + n + ".bias"));
  };
  auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, hd}).transpose(1, 2); };
  torch::Tensor q = heads(lin("q_proj", x) * scaling);  // [B, H, T, hd]
  torch::Tensor k = heads(lin("k_proj", x));            // [B, H, T, hd]
  torch::Tensor v = heads(lin("v_proj", x));            // [B, H, T, hd]
  torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)) + key_mask;  // [B, H, T, T]
  torch::Tensor attn = F::dropout(torch::softmax(scores, -1), F::DropoutFuncOptions().p(dropout_).training(training));
  torch::Tensor ctx = torch::matmul(attn, v).transpose(1, 2).reshape({B, T, D});
  return F::dropout(lin("out_proj", ctx), F::DropoutFuncOptions().p(dropout_).training(training));
}

torch::Tensor TrainableWav2Vec2::FeedForward(const std::string& p, const torch::Tensor& x,
                                             bool training) const {
  auto drop = F::DropoutFuncOptions().p(dropout_).training(training);
  torch::Tensor h = Activation(torch::linear(x, P(p + "feed_forward.intermediate_dense.weight"),
                                             P(p + "feed_forward.intermediate_dense.bias")),
                               config_.hidden_act);  // [B, T, I]
  h = F::dropout(h, drop);
  return F::dropout(torch::linear(h, P(p + "feed_forward.output_dense.weight"),
                                  P(p + "feed_forward.output_dense.bias")),
                    drop);  // [B, T, D]
}

TrainableWav2Vec2::Output TrainableWav2Vec2::Encode(const torch::Tensor& waveform,
                                                    const torch::Tensor& lengths,
                                                    bool training) const {
  const double eps = config_.layer_norm_eps;
  const bool layer_mode = config_.feat_extract_norm == "layer";
  auto drop = F::DropoutFuncOptions().p(dropout_).training(training);
  torch::Tensor x = waveform.to(torch::kFloat).unsqueeze(1);  // [B, 1, S]
  torch::Tensor frames = lengths.to(torch::kLong).clone();     // [B]
  for (size_t i = 0; i < config_.conv_dim.size(); ++i) {
    const std::string p = absl::StrCat("wav2vec2.feature_extractor.conv_layers.", i, ".");
    torch::Tensor bias = config_.conv_bias ? P(p + "conv.bias") : torch::Tensor();
    x = torch::conv1d(x, P(p + "conv.weight"), bias, config_.conv_stride[i]);  // [B, C_i, T_i]
    if (layer_mode) {
      x = torch::layer_norm(x.transpose(1, 2), {x.size(1)}, P(p + "layer_norm.weight"),
                            P(p + "layer_norm.bias"), 1e-5)
              .transpose(1, 2);
    } else if (i == 0) {
      x = torch::group_norm(x, x.size(1), P(p + "layer_norm.weight"), P(p + "layer_norm.bias"), 1e-5);
    }
    x = Activation(x, config_.feat_extract_activation);
    frames = torch::clamp_min(
        torch::div(frames - config_.conv_kernel[i], config_.conv_stride[i], "floor") + 1, 0);
  }
  const int64_t B = x.size(0), T = x.size(2), D = config_.hidden_size;
  frames = torch::clamp_max(frames, T);
  x = x.transpose(1, 2);  // [B, T, C]
  x = torch::layer_norm(x, {x.size(-1)}, P("wav2vec2.feature_projection.layer_norm.weight"),
                        P("wav2vec2.feature_projection.layer_norm.bias"), eps);
  x = torch::linear(x, P("wav2vec2.feature_projection.projection.weight"),
                    P("wav2vec2.feature_projection.projection.bias"));  // [B, T, D]
  x = F::dropout(x, drop);

  torch::Tensor valid = torch::arange(T, frames.options()).unsqueeze(0) < frames.unsqueeze(1);  // [B, T]
  torch::Tensor key_mask = torch::zeros({B, 1, 1, T}, x.options())
                               .masked_fill(valid.logical_not().view({B, 1, 1, T}), -1e9);
  if (layer_mode) x = x * valid.unsqueeze(-1).to(x.dtype());  // padded frames are zeroed

  const std::string pc = kPosConv;
  const torch::Tensor& g = P(pc + "weight_g");  // [1, 1, K]
  const torch::Tensor& v = P(pc + "weight_v");  // [D, D/G, K]
  torch::Tensor w = g * v / v.pow(2).sum(std::vector<int64_t>{0, 1}, true).sqrt();
  const int64_t K = config_.num_conv_pos_embeddings;
  torch::Tensor pos = torch::conv1d(x.transpose(1, 2), w, P(pc + "bias"), 1, K / 2, 1,
                                    config_.num_conv_pos_embedding_groups);  // [B, D, T (+1)]
  if (K % 2 == 0) pos = pos.narrow(2, 0, pos.size(2) - 1);
  x = x + torch::gelu(pos).transpose(1, 2);

  const torch::Tensor& ew = P("wav2vec2.encoder.layer_norm.weight");
  const torch::Tensor& eb = P("wav2vec2.encoder.layer_norm.bias");
  if (!config_.do_stable_layer_norm) {
    x = F::dropout(torch::layer_norm(x, {D}, ew, eb, eps), drop);
    for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
      const std::string p = absl::StrCat("wav2vec2.encoder.layers.", l, ".");
      x = torch::layer_norm(x + Attention(p, x, key_mask, training), {D}, P(p + "layer_norm.weight"),
                            P(p + "layer_norm.bias"), eps);
      x = torch::layer_norm(x + FeedForward(p, x, training), {D}, P(p + "final_layer_norm.weight"),
                            P(p + "final_layer_norm.bias"), eps);
    }
  } else {
    x = F::dropout(x, drop);
    for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
      const std::string p = absl::StrCat("wav2vec2.encoder.layers.", l, ".");
      x = x + Attention(p, torch::layer_norm(x, {D}, P(p + "layer_norm.weight"),
                                             P(p + "layer_norm.bias"), eps),
                        key_mask, training);
      x = x + FeedForward(p, torch::layer_norm(x, {D}, P(p + "final_layer_norm.weight"),
                                               P(p + "final_layer_norm.bias"), eps),
                          training);
    }
    x = torch::layer_norm(x, {D}, ew, eb, eps);
  }
  return {x, frames};
}

torch::Tensor TrainableWav2Vec2::Logits(const torch::Tensor& hidden) const {
  return torch::linear(hidden, P("lm_head.weight"), P("lm_head.bias"));  // [B, T, V]
}

std::vector<torch::Tensor> TrainableWav2Vec2::Parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& [name, t] : params_) out.push_back(t);
  return out;
}

void TrainableWav2Vec2::SetRequiresGrad(bool requires_grad) {
  for (auto& [name, t] : params_) t.requires_grad_(requires_grad);
}

TensorMap TrainableWav2Vec2::ExportTensors() const {
  TensorMap out;
  for (const auto& [name, t] : params_) out[name] = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
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
}

}  // namespace lact::train
