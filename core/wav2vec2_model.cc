#include "core/wav2vec2_model.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace lact {
namespace {

namespace F = torch::nn::functional;

std::string ShapeString(at::IntArrayRef shape) { return absl::StrCat("[", absl::StrJoin(shape, ", "), "]"); }

// Looks tensors up by name and checks their shapes, so that a bad checkpoint gives one clear
// error naming the key instead of a crash deep inside a matrix product.
class TensorSource {
 public:
  TensorSource(const TensorMap& tensors, torch::Device device, torch::ScalarType dtype)
      : tensors_(tensors), device_(device), dtype_(dtype) {}

  absl::StatusOr<torch::Tensor> Take(const std::string& name, std::vector<int64_t> shape,
                                     bool keep_float32 = false) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      return absl::NotFoundError(absl::StrCat("missing tensor '", name, "' (expected shape ",
                                              ShapeString(shape), ")"));
    }
    if (it->second.sizes() != at::IntArrayRef(shape)) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has shape ",
                                                     ShapeString(it->second.sizes()),
                                                     ", expected ", ShapeString(shape)));
    }
    return it->second.to(device_, keep_float32 ? torch::kFloat32 : dtype_).contiguous();
  }
  bool Has(const std::string& name) const { return tensors_.count(name) > 0; }

 private:
  const TensorMap& tensors_;
  torch::Device device_;
  torch::ScalarType dtype_;
};

}  // namespace

absl::StatusOr<Wav2Vec2Model> Wav2Vec2Model::Load(const std::string& dir, torch::Device device,
                                                  torch::ScalarType dtype) {
  LACT_ASSIGN_OR_RETURN(Wav2Vec2Config config, Wav2Vec2Config::FromJsonFile(dir + "/config.json"));
  const std::string weights = dir + "/model.safetensors";
  LACT_ASSIGN_OR_RETURN(TensorMap tensors, LoadSafetensors(weights));
  auto model = FromTensors(config, tensors, device, dtype);
  if (!model.ok()) {
    return absl::Status(model.status().code(), absl::StrCat(weights, ": ", model.status().message()));
  }
  return model;
}

absl::StatusOr<Wav2Vec2Model> Wav2Vec2Model::FromTensors(const Wav2Vec2Config& config,
                                                         const TensorMap& tensors,
                                                         torch::Device device,
                                                         torch::ScalarType dtype) {
  LACT_RETURN_IF_ERROR(config.Validate());
  torch::NoGradGuard no_grad;
  Wav2Vec2Model m;
  m.config_ = config;
  m.device_ = device;
  m.dtype_ = dtype;
  TensorSource src(tensors, device, dtype);
  const int64_t D = config.hidden_size;
  const bool layer_mode = config.feat_extract_norm == "layer";

  // Convolutional feature encoder: wav2vec2.feature_extractor.conv_layers.{i}.
  int64_t in_ch = 1;
  for (size_t i = 0; i < config.conv_dim.size(); ++i) {
    const std::string p = absl::StrCat("wav2vec2.feature_extractor.conv_layers.", i, ".");
    const int64_t out_ch = config.conv_dim[i];
    ConvLayer layer;
    LACT_ASSIGN_OR_RETURN(layer.weight, src.Take(p + "conv.weight", {out_ch, in_ch, config.conv_kernel[i]}));
    if (config.conv_bias) {
      LACT_ASSIGN_OR_RETURN(layer.bias, src.Take(p + "conv.bias", {out_ch}));
    }
    if (layer_mode || i == 0) {
      LACT_ASSIGN_OR_RETURN(layer.norm.weight, src.Take(p + "layer_norm.weight", {out_ch}));
      LACT_ASSIGN_OR_RETURN(layer.norm.bias, src.Take(p + "layer_norm.bias", {out_ch}));
    }
    m.conv_layers_.push_back(std::move(layer));
    in_ch = out_ch;
  }
  const int64_t C = config.conv_dim.back();

  // Feature projection.
  LACT_ASSIGN_OR_RETURN(m.projection_norm_.weight, src.Take("wav2vec2.feature_projection.layer_norm.weight", {C}));
  LACT_ASSIGN_OR_RETURN(m.projection_norm_.bias, src.Take("wav2vec2.feature_projection.layer_norm.bias", {C}));
  LACT_ASSIGN_OR_RETURN(m.projection_.weight, src.Take("wav2vec2.feature_projection.projection.weight", {D, C}));
  LACT_ASSIGN_OR_RETURN(m.projection_.bias, src.Take("wav2vec2.feature_projection.projection.bias", {D}));

  // Positional convolution with weight norm over dim 2: weight = g * v / ||v||, the norm taken
  // over dims 0 and 1 for each kernel position. Old checkpoints store weight_g/weight_v, newer
  // transformers parametrizations.weight.original0/original1.
  const std::string pc = "wav2vec2.encoder.pos_conv_embed.conv.";
  const int64_t K = config.num_conv_pos_embeddings;
  const int64_t G = config.num_conv_pos_embedding_groups;
  std::string g_name = pc + "weight_g", v_name = pc + "weight_v";
  if (!src.Has(g_name) && src.Has(pc + "parametrizations.weight.original0")) {
    g_name = pc + "parametrizations.weight.original0";
    v_name = pc + "parametrizations.weight.original1";
  }
  if (!src.Has(g_name) && src.Has(pc + "weight")) {
    LACT_ASSIGN_OR_RETURN(m.pos_conv_weight_, src.Take(pc + "weight", {D, D / G, K}));
  } else {
    LACT_ASSIGN_OR_RETURN(torch::Tensor g, src.Take(g_name, {1, 1, K}, /*keep_float32=*/true));
    LACT_ASSIGN_OR_RETURN(torch::Tensor v, src.Take(v_name, {D, D / G, K}, /*keep_float32=*/true));
    torch::Tensor norm = v.pow(2).sum(std::vector<int64_t>{0, 1}, /*keepdim=*/true).sqrt();  // [1, 1, K]
    m.pos_conv_weight_ = (g * v / norm).to(dtype).contiguous();
  }
  LACT_ASSIGN_OR_RETURN(m.pos_conv_bias_, src.Take(pc + "bias", {D}));
  LACT_ASSIGN_OR_RETURN(m.encoder_norm_.weight, src.Take("wav2vec2.encoder.layer_norm.weight", {D}));
  LACT_ASSIGN_OR_RETURN(m.encoder_norm_.bias, src.Take("wav2vec2.encoder.layer_norm.bias", {D}));

  const int64_t I = config.intermediate_size;
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = absl::StrCat("wav2vec2.encoder.layers.", l, ".");
    EncoderLayer e;
    auto linear = [&](const std::string& name, int64_t out, int64_t in, Linear* dst) -> absl::Status {
      LACT_ASSIGN_OR_RETURN(dst->weight, src.Take(p + name + ".weight", {out, in}));
      LACT_ASSIGN_OR_RETURN(dst->bias, src.Take(p + name + ".bias", {out}));
      return absl::OkStatus();
    };
    auto norm = [&](const std::string& name, Norm* dst) -> absl::Status {
      LACT_ASSIGN_OR_RETURN(dst->weight, src.Take(p + name + ".weight", {D}));
      LACT_ASSIGN_OR_RETURN(dst->bias, src.Take(p + name + ".bias", {D}));
      return absl::OkStatus();
    };
    LACT_RETURN_IF_ERROR(linear("attention.q_proj", D, D, &e.q));
    LACT_RETURN_IF_ERROR(linear("attention.k_proj", D, D, &e.k));
    LACT_RETURN_IF_ERROR(linear("attention.v_proj", D, D, &e.v));
    LACT_RETURN_IF_ERROR(linear("attention.out_proj", D, D, &e.out));
    LACT_RETURN_IF_ERROR(norm("layer_norm", &e.attn_norm));
    LACT_RETURN_IF_ERROR(linear("feed_forward.intermediate_dense", I, D, &e.ff_in));
    LACT_RETURN_IF_ERROR(linear("feed_forward.output_dense", D, I, &e.ff_out));
    LACT_RETURN_IF_ERROR(norm("final_layer_norm", &e.final_norm));
    m.layers_.push_back(std::move(e));
  }

  LACT_ASSIGN_OR_RETURN(m.lm_head_.weight, src.Take("lm_head.weight", {config.vocab_size, D}, true));
  LACT_ASSIGN_OR_RETURN(m.lm_head_.bias, src.Take("lm_head.bias", {config.vocab_size}, true));
  return m;
}

torch::Tensor Wav2Vec2Model::Activation(const torch::Tensor& x, const std::string& name) const {
  if (name == "gelu") return torch::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (name == "relu") return torch::relu(x);
  return torch::silu(x);  // "silu" / "swish" (Validate() admits nothing else)
}

torch::Tensor Wav2Vec2Model::Attention(const EncoderLayer& e, const torch::Tensor& x) const {
  // x [B, T, D] -> [B, T, D]
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  const int64_t H = config_.num_attention_heads, hd = D / H;
  const double scaling = 1.0 / std::sqrt(static_cast<double>(hd));
  auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, hd}).transpose(1, 2); };
  torch::Tensor q = heads(torch::linear(x, e.q.weight, e.q.bias) * scaling);  // [B, H, T, hd]
  torch::Tensor k = heads(torch::linear(x, e.k.weight, e.k.bias));            // [B, H, T, hd]
  torch::Tensor v = heads(torch::linear(x, e.v.weight, e.v.bias));            // [B, H, T, hd]
  torch::Tensor attn = torch::softmax(torch::matmul(q, k.transpose(-1, -2)), -1);  // [B, H, T, T]
  torch::Tensor ctx = torch::matmul(attn, v).transpose(1, 2).reshape({B, T, D});
  return torch::linear(ctx, e.out.weight, e.out.bias);
}

torch::Tensor Wav2Vec2Model::FeedForward(const EncoderLayer& e, const torch::Tensor& x) const {
  return torch::linear(Activation(torch::linear(x, e.ff_in.weight, e.ff_in.bias), config_.hidden_act),
                       e.ff_out.weight, e.ff_out.bias);
}

torch::Tensor Wav2Vec2Model::Encode(const torch::Tensor& waveform) const {
  // waveform [B, S] -> hidden [B, T, D]
  torch::InferenceMode guard;
  const double eps = config_.layer_norm_eps;
  const bool layer_mode = config_.feat_extract_norm == "layer";
  torch::Tensor x = waveform.to(device_, dtype_).unsqueeze(1);  // [B, 1, S]
  for (size_t i = 0; i < conv_layers_.size(); ++i) {
    const ConvLayer& c = conv_layers_[i];
    x = torch::conv1d(x, c.weight, c.bias, config_.conv_stride[i]);  // [B, C_i, T_i]
    if (layer_mode) {
      // LayerNorm over channels (nn.LayerNorm default eps 1e-5).
      x = torch::layer_norm(x.transpose(1, 2), {x.size(1)}, c.norm.weight, c.norm.bias, 1e-5)
              .transpose(1, 2);
    } else if (i == 0) {
      // GroupNorm with one group per channel: normalises each channel over time.
      x = torch::group_norm(x, x.size(1), c.norm.weight, c.norm.bias, 1e-5);
    }
    x = Activation(x, config_.feat_extract_activation);
  }
  x = x.transpose(1, 2);  // [B, T, C]
  x = torch::layer_norm(x, {x.size(-1)}, projection_norm_.weight, projection_norm_.bias, eps);
  x = torch::linear(x, projection_.weight, projection_.bias);  // [B, T, D]

  // Positional convolution ("same" padding; an even kernel drops the last output frame).
  const int64_t K = config_.num_conv_pos_embeddings;
  torch::Tensor pos = torch::conv1d(x.transpose(1, 2), pos_conv_weight_, pos_conv_bias_, 1, K / 2, 1,
                                    config_.num_conv_pos_embedding_groups);  // [B, D, T (+1)]
  if (K % 2 == 0) pos = pos.narrow(2, 0, pos.size(2) - 1);
  x = x + torch::gelu(pos).transpose(1, 2);

  const int64_t D = config_.hidden_size;
  if (!config_.do_stable_layer_norm) {
    // Post-LN transformer (base).
    x = torch::layer_norm(x, {D}, encoder_norm_.weight, encoder_norm_.bias, eps);
    for (const EncoderLayer& e : layers_) {
      x = torch::layer_norm(x + Attention(e, x), {D}, e.attn_norm.weight, e.attn_norm.bias, eps);
      x = torch::layer_norm(x + FeedForward(e, x), {D}, e.final_norm.weight, e.final_norm.bias, eps);
    }
  } else {
    // Pre-LN transformer (large-lv60, do_stable_layer_norm).
    for (const EncoderLayer& e : layers_) {
      x = x + Attention(e, torch::layer_norm(x, {D}, e.attn_norm.weight, e.attn_norm.bias, eps));
      x = x + FeedForward(e, torch::layer_norm(x, {D}, e.final_norm.weight, e.final_norm.bias, eps));
    }
    x = torch::layer_norm(x, {D}, encoder_norm_.weight, encoder_norm_.bias, eps);
  }
  return x.to(torch::kFloat32);
}

torch::Tensor Wav2Vec2Model::Logits(const torch::Tensor& hidden) const {
  // hidden [B, T, D] -> logits [B, T, V]
  torch::InferenceMode guard;
  return torch::linear(hidden.to(device_, torch::kFloat32), lm_head_.weight, lm_head_.bias);
}

int64_t Wav2Vec2Model::ParameterBytes() const {
  int64_t bytes = 0;
  auto add = [&](const torch::Tensor& t) {
    if (t.defined()) bytes += t.numel() * t.element_size();
  };
  for (const auto& c : conv_layers_) {
    add(c.weight), add(c.bias), add(c.norm.weight), add(c.norm.bias);
  }
  add(projection_norm_.weight), add(projection_norm_.bias), add(projection_.weight), add(projection_.bias);
  add(pos_conv_weight_), add(pos_conv_bias_), add(encoder_norm_.weight), add(encoder_norm_.bias);
  for (const auto& e : layers_) {
    for (const Linear* l : {&e.q, &e.k, &e.v, &e.out, &e.ff_in, &e.ff_out}) add(l->weight), add(l->bias);
    for (const Norm* n : {&e.attn_norm, &e.final_norm}) add(n->weight), add(n->bias);
  }
  add(lm_head_.weight), add(lm_head_.bias);
  return bytes;
}

}  // namespace lact
