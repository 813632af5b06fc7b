#include "core/random_model.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

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
  auto randn = [&](std::vector<int64_t> shape) {
    return at::normal(0.0, std, shape, gen);
  };
  auto ones = [](int64_t n) { return torch::ones({n}); };
  TensorMap t;
  const bool layer_mode = c.feat_extract_norm == "layer";
  int64_t in_ch = 1;
  for (size_t i = 0; i < c.conv_dim.size(); ++i) {
    const std::string p = absl::StrCat("wav2vec2.feature_extractor.conv_layers.", i, ".");
    // Fan-in scaled so activations keep their size through the stack.
    t[p + "conv.weight"] = randn({c.conv_dim[i], in_ch, c.conv_kernel[i]}) *
                           (1.0 / std / std::sqrt(static_cast<double>(in_ch * c.conv_kernel[i])));
    if (c.conv_bias) t[p + "conv.bias"] = randn({c.conv_dim[i]});
    if (layer_mode || i == 0) {
      t[p + "layer_norm.weight"] = ones(c.conv_dim[i]);
      t[p + "layer_norm.bias"] = randn({c.conv_dim[i]});
    }
    in_ch = c.conv_dim[i];
  }
  const int64_t D = c.hidden_size, C = c.conv_dim.back(), I = c.intermediate_size;
  t["wav2vec2.feature_projection.layer_norm.weight"] = ones(C);
  t["wav2vec2.feature_projection.layer_norm.bias"] = randn({C});
  t["wav2vec2.feature_projection.projection.weight"] = randn({D, C});
  t["wav2vec2.feature_projection.projection.bias"] = randn({D});
  const int64_t K = c.num_conv_pos_embeddings, G = c.num_conv_pos_embedding_groups;
  t["wav2vec2.encoder.pos_conv_embed.conv.weight_g"] = torch::ones({1, 1, K});
  t["wav2vec2.encoder.pos_conv_embed.conv.weight_v"] = randn({D, D / G, K});
  t["wav2vec2.encoder.pos_conv_embed.conv.bias"] = randn({D});
  t["wav2vec2.encoder.layer_norm.weight"] = ones(D);
  t["wav2vec2.encoder.layer_norm.bias"] = randn({D});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = absl::StrCat("wav2vec2.encoder.layers.", l, ".");
    for (const char* name : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      t[p + "attention." + name + ".weight"] = randn({D, D});
      t[p + "attention." + name + ".bias"] = randn({D});
    }
    t[p + "layer_norm.weight"] = ones(D);
    t[p + "layer_norm.bias"] = randn({D});
    t[p + "feed_forward.intermediate_dense.weight"] = randn({I, D});
    t[p + "feed_forward.intermediate_dense.bias"] = randn({I});
    t[p + "feed_forward.output_dense.weight"] = randn({D, I});
    t[p + "feed_forward.output_dense.bias"] = randn({D});
    t[p + "final_layer_norm.weight"] = ones(D);
    t[p + "final_layer_norm.bias"] = randn({D});
  }
  t["lm_head.weight"] = randn({c.vocab_size, D});
  t["lm_head.bias"] = randn({c.vocab_size});
  return t;
}

const std::vector<std::string>& EnglishCharTokens() {
  static const std::vector<std::string> tokens = {
      "<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L",
      "U", "M", "W", "C", "F", "G", "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z"};
  return tokens;
}

absl::Status WriteModelFolder(const std::string& dir, const Wav2Vec2Config& c,
                              const TensorMap& tensors, bool do_normalize) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  nlohmann::json config = {
      {"architectures", {"Wav2Vec2ForCTC"}}, {"model_type", "wav2vec2"},
      {"conv_dim", c.conv_dim}, {"conv_kernel", c.conv_kernel}, {"conv_stride", c.conv_stride},
      {"conv_bias", c.conv_bias}, {"feat_extract_norm", c.feat_extract_norm},
      {"feat_extract_activation", c.feat_extract_activation}, {"hidden_act", c.hidden_act},
      {"hidden_size", c.hidden_size}, {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads}, {"intermediate_size", c.intermediate_size},
      {"layer_norm_eps", c.layer_norm_eps}, {"num_conv_pos_embeddings", c.num_conv_pos_embeddings},
      {"num_conv_pos_embedding_groups", c.num_conv_pos_embedding_groups},
      {"do_stable_layer_norm", c.do_stable_layer_norm}, {"vocab_size", c.vocab_size},
      {"pad_token_id", c.pad_token_id}, {"bos_token_id", 1}, {"eos_token_id", 2},
      {"num_feat_extract_layers", c.conv_dim.size()}, {"ctc_loss_reduction", "sum"}};
  std::ofstream(dir + "/config.json") << config.dump(2) << "\n";
  const std::vector<std::string>& tokens = EnglishCharTokens();
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  std::ofstream(dir + "/vocab.json") << vocab.dump(2) << "\n";
  nlohmann::json pre = {{"do_normalize", do_normalize}, {"feature_size", 1},
                        {"padding_side", "right"}, {"padding_value", 0.0},
                        {"return_attention_mask", false}, {"sampling_rate", 16000},
                        {"feature_extractor_type", "Wav2Vec2FeatureExtractor"}};
  std::ofstream(dir + "/preprocessor_config.json") << pre.dump(2) << "\n";
  return SaveSafetensors(dir + "/model.safetensors", tensors);
}

}  // namespace lact
