#include "core/model/wav2vec2_weights.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/status_macros.h"

namespace lact {

const char kWav2Vec2PosConv[] = "wav2vec2.encoder.pos_conv_embed.conv.";

namespace {

std::string ShapeString(at::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

std::string ConvPrefix(size_t i) {
  return absl::StrCat("wav2vec2.feature_extractor.conv_layers.", i, ".");
}
std::string LayerPrefix(int64_t l) { return absl::StrCat("wav2vec2.encoder.layers.", l, "."); }

}  // namespace

void VisitWav2Vec2Tensors(
    const Wav2Vec2Config& c, Wav2Vec2Weights* w,
    const std::function<void(const Wav2Vec2TensorSpec&, torch::Tensor*)>& fn) {
  using I = Wav2Vec2Init;
  const int64_t D = c.hidden_size, FF = c.intermediate_size;
  const bool layer_mode = c.feat_extract_norm == "layer";
  auto visit = [&fn](std::string name, std::vector<int64_t> shape, I init, torch::Tensor* slot) {
    fn(Wav2Vec2TensorSpec{std::move(name), std::move(shape), init}, slot);
  };
  auto linear = [&](const std::string& p, int64_t out, int64_t in, Wav2Vec2Weights::Linear* l) {
    visit(p + ".weight", {out, in}, I::kLinear, &l->weight);
    visit(p + ".bias", {out}, I::kZero, &l->bias);
  };
  auto norm = [&](const std::string& p, int64_t n, Wav2Vec2Weights::Norm* l) {
    visit(p + ".weight", {n}, I::kOne, &l->weight);
    visit(p + ".bias", {n}, I::kZero, &l->bias);
  };
  w->conv_layers.resize(c.conv_dim.size());
  int64_t in_ch = 1;
  for (size_t i = 0; i < c.conv_dim.size(); ++i) {
    const std::string p = ConvPrefix(i);
    Wav2Vec2Weights::ConvLayer& layer = w->conv_layers[i];
    visit(p + "conv.weight", {c.conv_dim[i], in_ch, c.conv_kernel[i]}, I::kConv, &layer.weight);
    if (c.conv_bias) visit(p + "conv.bias", {c.conv_dim[i]}, I::kZero, &layer.bias);
    if (layer_mode || i == 0) norm(p + "layer_norm", c.conv_dim[i], &layer.norm);
    in_ch = c.conv_dim[i];
  }
  norm("wav2vec2.feature_projection.layer_norm", in_ch, &w->projection_norm);
  linear("wav2vec2.feature_projection.projection", D, in_ch, &w->projection);
  const int64_t K = c.num_conv_pos_embeddings, G = c.num_conv_pos_embedding_groups;
  const std::string pc = kWav2Vec2PosConv;
  visit(pc + "weight_g", {1, 1, K}, I::kPosConvG, &w->pos_conv_g);
  visit(pc + "weight_v", {D, D / G, K}, I::kPosConvV, &w->pos_conv_v);
  visit(pc + "bias", {D}, I::kZero, &w->pos_conv_bias);
  norm("wav2vec2.encoder.layer_norm", D, &w->encoder_norm);
  w->layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = LayerPrefix(l);
    Wav2Vec2Weights::EncoderLayer& e = w->layers[static_cast<size_t>(l)];
    linear(p + "attention.q_proj", D, D, &e.q);
    linear(p + "attention.k_proj", D, D, &e.k);
    linear(p + "attention.v_proj", D, D, &e.v);
    linear(p + "attention.out_proj", D, D, &e.out);
    norm(p + "layer_norm", D, &e.attn_norm);
    linear(p + "feed_forward.intermediate_dense", FF, D, &e.ff_in);
    linear(p + "feed_forward.output_dense", D, FF, &e.ff_out);
    norm(p + "final_layer_norm", D, &e.final_norm);
  }
  linear("lm_head", c.vocab_size, D, &w->lm_head);
}

std::vector<Wav2Vec2TensorSpec> Wav2Vec2TensorSpecs(const Wav2Vec2Config& config) {
  std::vector<Wav2Vec2TensorSpec> specs;
  Wav2Vec2Weights unused;
  VisitWav2Vec2Tensors(config, &unused, [&specs](const Wav2Vec2TensorSpec& s, torch::Tensor*) {
    specs.push_back(s);
  });
  return specs;
}

absl::StatusOr<TensorMap> CanonicalWav2Vec2Tensors(const Wav2Vec2Config& config,
                                                   const TensorMap& tensors) {
  const std::string pc = kWav2Vec2PosConv;
  // Which spelling of the positional conv the checkpoint uses.
  std::string g_name = pc + "weight_g", v_name = pc + "weight_v";
  if (!tensors.count(g_name) && tensors.count(pc + "parametrizations.weight.original0")) {
    g_name = pc + "parametrizations.weight.original0";
    v_name = pc + "parametrizations.weight.original1";
  }
  const bool folded = !tensors.count(g_name) && tensors.count(pc + "weight");
  TensorMap out;
  for (const Wav2Vec2TensorSpec& s : Wav2Vec2TensorSpecs(config)) {
    std::string key = s.name, name = s.name;
    if (s.init == Wav2Vec2Init::kPosConvG) {
      if (folded) continue;
      key = g_name;
    } else if (s.init == Wav2Vec2Init::kPosConvV) {
      if (folded)
        key = name = pc + "weight";
      else
        key = v_name;
    }
    auto it = tensors.find(key);
    if (it == tensors.end()) {
      return absl::NotFoundError(
          absl::StrCat("missing tensor '", key, "' (expected shape ", ShapeString(s.shape), ")"));
    }
    if (it->second.sizes() != at::IntArrayRef(s.shape)) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", key, "' has shape ",
                                                     ShapeString(it->second.sizes()), ", expected ",
                                                     ShapeString(s.shape)));
    }
    out[name] = it->second;
  }
  return out;
}

absl::StatusOr<Wav2Vec2Weights> Wav2Vec2Weights::Bind(const Wav2Vec2Config& c, const TensorMap& t) {
  const std::string pc = kWav2Vec2PosConv;
  auto folded = t.find(pc + "weight");
  Wav2Vec2Weights w;
  absl::Status status;
  VisitWav2Vec2Tensors(c, &w, [&](const Wav2Vec2TensorSpec& s, torch::Tensor* slot) {
    if (!status.ok()) return;
    const bool pos_pair = s.init == Wav2Vec2Init::kPosConvG || s.init == Wav2Vec2Init::kPosConvV;
    if (pos_pair && folded != t.end()) return;  // the folded weight stands for the pair
    auto it = t.find(s.name);
    if (it == t.end()) {
      status = absl::NotFoundError(absl::StrCat("missing tensor '", s.name, "'"));
      return;
    }
    *slot = it->second;
  });
  LACT_RETURN_IF_ERROR(status);
  if (folded != t.end()) w.pos_conv_weight = folded->second;
  return w;
}

void Wav2Vec2Weights::ForEach(const std::function<void(const torch::Tensor&)>& fn) const {
  auto each = [&fn](const torch::Tensor& t) {
    if (t.defined()) fn(t);
  };
  for (const ConvLayer& c : conv_layers) {
    each(c.weight), each(c.bias), each(c.norm.weight), each(c.norm.bias);
  }
  each(projection_norm.weight), each(projection_norm.bias);
  each(projection.weight), each(projection.bias);
  each(pos_conv_weight), each(pos_conv_g), each(pos_conv_v), each(pos_conv_bias);
  each(encoder_norm.weight), each(encoder_norm.bias);
  for (const EncoderLayer& e : layers) {
    for (const Linear* l : {&e.q, &e.k, &e.v, &e.out, &e.ff_in, &e.ff_out})
      each(l->weight), each(l->bias);
    for (const Norm* n : {&e.attn_norm, &e.final_norm}) each(n->weight), each(n->bias);
  }
  each(lm_head.weight), each(lm_head.bias);
}

absl::Status Wav2Vec2Weights::QuantizeLinearLayers() {
  for (EncoderLayer& e : layers) {
    for (Linear* l : {&e.q, &e.k, &e.v, &e.out, &e.ff_in, &e.ff_out}) {
      if (l->int8) continue;
      LACT_ASSIGN_OR_RETURN(l->int8, QuantizedLinear::Create(l->weight, l->bias));
      l->weight = torch::Tensor(), l->bias = torch::Tensor();  // the packed layer holds both
    }
  }
  return absl::OkStatus();
}

int64_t Wav2Vec2Weights::QuantizedBytes() const {
  int64_t bytes = 0;
  for (const EncoderLayer& e : layers) {
    for (const Linear* l : {&e.q, &e.k, &e.v, &e.out, &e.ff_in, &e.ff_out})
      if (l->int8) bytes += l->int8->ByteSize();
  }
  return bytes;
}

}  // namespace lact
