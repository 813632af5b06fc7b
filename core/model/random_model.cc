#include "core/model/random_model.h"

#include <cmath>

#include <torch/torch.h>

#include "core/model/wav2vec2_model.h"
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

namespace {

// [1, S]: 4 s of a tone with a wandering pitch and its harmonics in noise, zero mean and unit
// variance (as the feature extractor normalises), fixed.
torch::Tensor ProbeWaveform(int sample_rate, at::Generator& gen) {
  const int64_t n = 4 * static_cast<int64_t>(sample_rate);
  torch::Tensor t = torch::arange(n, torch::kDouble) / sample_rate;
  torch::Tensor phase =
      2 * M_PI * (150 * t - 60 / (2 * M_PI * 0.7) * torch::cos(2 * M_PI * 0.7 * t));
  torch::Tensor x = torch::sin(phase) + 0.5 * torch::sin(2 * phase) + 0.25 * torch::sin(3 * phase);
  x = x + at::normal(0.0, 0.3, {n}, gen).to(torch::kDouble);
  x = (x - x.mean()) / x.std();
  return x.to(torch::kFloat).unsqueeze(0);
}

}  // namespace

absl::Status MakeCtcHeadSpeechLike(const Wav2Vec2Config& c, uint64_t seed, TensorMap* tensors) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const double std = kSpeechLikeLogitStd / std::sqrt(static_cast<double>(c.hidden_size));
  torch::Tensor weight = at::normal(0.0, std, {c.vocab_size, c.hidden_size}, gen);
  auto model = Wav2Vec2Model::FromTensors(c, *tensors, torch::kCPU);
  if (!model.ok()) return model.status();
  torch::Tensor mean_hidden =
      model->Encode(ProbeWaveform(Wav2Vec2PreprocessorConfig{}.sampling_rate, gen))[0].mean(0);
  torch::Tensor bias = -torch::mv(weight, mean_hidden);  // [V]
  bias[c.pad_token_id] += kSpeechLikeBlankBias;
  (*tensors)["lm_head.weight"] = weight;
  (*tensors)["lm_head.bias"] = bias.contiguous();
  return absl::OkStatus();
}

}  // namespace lact
