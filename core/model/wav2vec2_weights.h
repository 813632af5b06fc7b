// The one definition of Wav2Vec2ForCTC's tensors: every Hugging Face name, its shape and its
// initialiser kind (the table), and the weights struct the forward pass
// (core/model/wav2vec2_forward) reads. Inference (core/model/wav2vec2_model), training
// (train/trainable_wav2vec2) and the random model writer (core/model/random_model) all build from
// this table.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/model/quantized_linear.h"
#include "core/model/safetensors.h"
#include "core/model/wav2vec2_config.h"

namespace lact {

// How transformers' Wav2Vec2PreTrainedModel._init_weights initialises a tensor.
enum class Wav2Vec2Init {
  kLinear,    // N(0, 0.02²)
  kConv,      // Kaiming normal (fan_in = C_in · K)
  kPosConvV,  // N(0, 4 / (K · D / G)), the positional conv's weight-norm direction
  kPosConvG,  // ||v|| over dims 0, 1 (the positional conv's weight-norm gain)
  kOne,       // norm gains
  kZero,      // biases
};

struct Wav2Vec2TensorSpec {
  std::string name;            // Hugging Face name, e.g. "lm_head.weight"
  std::vector<int64_t> shape;  // e.g. {vocab_size, hidden_size}
  Wav2Vec2Init init;
};

struct Wav2Vec2Weights;

// THE table: calls `fn` for every tensor of the Wav2Vec2ForCTC that `config` describes, in the
// model's module order, with its spec and its slot in `weights` (whose layer vectors it sizes).
// The positional conv appears as its weight-norm pair weight_g / weight_v.
void VisitWav2Vec2Tensors(const Wav2Vec2Config& config, Wav2Vec2Weights* weights,
                          const std::function<void(const Wav2Vec2TensorSpec&, torch::Tensor*)>& fn);
// The table's specs alone, in the same order.
std::vector<Wav2Vec2TensorSpec> Wav2Vec2TensorSpecs(const Wav2Vec2Config& config);

// The name prefix of the positional convolution ("wav2vec2.encoder.pos_conv_embed.conv.").
extern const char kWav2Vec2PosConv[];

// `tensors` (as a checkpoint stores them) under the table's names, shapes checked. The
// positional conv is accepted as weight_g/weight_v (older transformers),
// parametrizations.weight.original0/original1 (newer), or a plain folded `weight`, which is
// returned under its own name (then weight_g/weight_v are absent). Tensors the table does not
// name (masked_spec_embed, quantizer, ...) are dropped. Errors name the key: NotFound for a
// missing one ("missing tensor 'X' (expected shape [..])"), InvalidArgument for a wrong shape.
absl::StatusOr<TensorMap> CanonicalWav2Vec2Tensors(const Wav2Vec2Config& config,
                                                   const TensorMap& tensors);

// The tensors of one forward pass, by role. Copies of torch::Tensor share storage (and autograd
// identity), so a Weights bound to a training model's leaf tensors trains them.
struct Wav2Vec2Weights {
  struct Linear {
    torch::Tensor weight;  // [out, in]; undefined once packed into `int8`
    torch::Tensor bias;    // [out]
    // Set under an int8 precision (inference only): the layer runs as int8 instead.
    std::shared_ptr<const QuantizedLinear> int8;
  };
  struct Norm {
    torch::Tensor weight;  // [C]
    torch::Tensor bias;    // [C]
  };
  struct ConvLayer {
    torch::Tensor weight;  // [C_out, C_in, K]
    torch::Tensor bias;    // [C_out] or undefined (conv_bias = false)
    Norm norm;             // GroupNorm (layer 0, "group") / LayerNorm (every layer, "layer") / none
  };
  struct EncoderLayer {
    Linear q, k, v, out;
    Norm attn_norm;  // "layer_norm"
    Linear ff_in, ff_out;
    Norm final_norm;  // "final_layer_norm"
  };

  std::vector<ConvLayer> conv_layers;
  Norm projection_norm;
  Linear projection;
  // The positional conv: either the folded weight [D, D / G, K] (inference folds weight norm at
  // load), or the weight-norm pair g [1, 1, K], v [D, D / G, K] (training keeps it, so both get
  // gradients); the forward pass folds g·v/||v|| itself when `pos_conv_weight` is undefined.
  torch::Tensor pos_conv_weight;
  torch::Tensor pos_conv_g, pos_conv_v;
  torch::Tensor pos_conv_bias;  // [D]
  Norm encoder_norm;
  std::vector<EncoderLayer> layers;
  Linear lm_head;

  // Binds the tensors of a canonical map (CanonicalWav2Vec2Tensors' names) by role; the map must
  // hold every name of the table (or the folded positional `weight` in place of weight_g/_v).
  static absl::StatusOr<Wav2Vec2Weights> Bind(const Wav2Vec2Config& config,
                                              const TensorMap& tensors);

  // Calls `fn` on every defined tensor.
  void ForEach(const std::function<void(const torch::Tensor&)>& fn) const;
  // Packs the transformer layers' linear layers (q, k, v, out, ff_in, ff_out) as int8 and drops
  // their float weights (CPU inference only).
  absl::Status QuantizeLinearLayers();
  // Bytes held by the int8 layers (ForEach does not see them).
  int64_t QuantizedBytes() const;
};

}  // namespace lact
