#include "core/model/model_folder.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace lact {

const std::vector<std::string>& EnglishCharTokens() {
  static const std::vector<std::string> tokens = {
      "<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L",
      "U",     "M",   "W",    "C",     "F", "G", "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z"};
  return tokens;
}

absl::Status WriteModelFolder(const std::string& dir, const Wav2Vec2Config& c,
                              const TensorMap& tensors, bool do_normalize) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  nlohmann::json config = {{"architectures", {"Wav2Vec2ForCTC"}},
                           {"model_type", "wav2vec2"},
                           {"conv_dim", c.conv_dim},
                           {"conv_kernel", c.conv_kernel},
                           {"conv_stride", c.conv_stride},
                           {"conv_bias", c.conv_bias},
                           {"feat_extract_norm", c.feat_extract_norm},
                           {"feat_extract_activation", c.feat_extract_activation},
                           {"hidden_act", c.hidden_act},
                           {"hidden_size", c.hidden_size},
                           {"num_hidden_layers", c.num_hidden_layers},
                           {"num_attention_heads", c.num_attention_heads},
                           {"intermediate_size", c.intermediate_size},
                           {"layer_norm_eps", c.layer_norm_eps},
                           {"num_conv_pos_embeddings", c.num_conv_pos_embeddings},
                           {"num_conv_pos_embedding_groups", c.num_conv_pos_embedding_groups},
                           {"do_stable_layer_norm", c.do_stable_layer_norm},
                           {"vocab_size", c.vocab_size},
                           {"pad_token_id", c.pad_token_id},
                           {"bos_token_id", 1},
                           {"eos_token_id", 2},
                           {"num_feat_extract_layers", c.conv_dim.size()},
                           {"ctc_loss_reduction", "sum"}};
  std::ofstream(dir + "/config.json") << config.dump(2) << "\n";
  const std::vector<std::string>& tokens = EnglishCharTokens();
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  std::ofstream(dir + "/vocab.json") << vocab.dump(2) << "\n";
  nlohmann::json pre = {{"do_normalize", do_normalize},
                        {"feature_size", 1},
                        {"padding_side", "right"},
                        {"padding_value", 0.0},
                        {"return_attention_mask", false},
                        {"sampling_rate", 16000},
                        {"feature_extractor_type", "Wav2Vec2FeatureExtractor"}};
  std::ofstream(dir + "/preprocessor_config.json") << pre.dump(2) << "\n";
  return SaveSafetensors(dir + "/model.safetensors", tensors);
}

}  // namespace lact
