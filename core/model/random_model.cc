#include "core/model/random_model.h"

#include <cmath>

#include <torch/torch.h>

#include "core/model/wav2vec2_weights.h"

namespace lact {

Wav2Vec2Config BaseConfig() { return Wav2Vec2Config{}; }

Wav2Vec2Config TinyConfig() {
  Wav2Vec2Config c;
  c.conv_dim = {32, 32, 32, 32, 32, 32, 32};
  c.hidden_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 64;
  c.num_conv_pos_embeddings = 16;
  c.num_conv_pos_embedding_groups = 4;
  return c;
}

TensorMap RandomWav2Vec2Tensors(const Wav2Vec2Config& c, uint64_t seed, double std) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  TensorMap t;
  // Every tensor N(0, std²) in the table's order, except: norm gains and the positional conv's
  // gain 1, and conv weights fan-in scaled so activations keep their size through the stack.
  for (const Wav2Vec2TensorSpec& s : Wav2Vec2TensorSpecs(c)) {
    switch (s.init) {
      case Wav2Vec2Init::kOne:
      case Wav2Vec2Init::kPosConvG: t[s.name] = torch::ones(s.shape); break;
      case Wav2Vec2Init::kConv:
        t[s.name] = at::normal(0.0, std, s.shape, gen) *
                    (1.0 / std / std::sqrt(static_cast<double>(s.shape[1] * s.shape[2])));
        break;
      default: t[s.name] = at::normal(0.0, std, s.shape, gen); break;
    }
  }
  return t;
}

}  // namespace lact
