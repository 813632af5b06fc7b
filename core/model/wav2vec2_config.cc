#include "core/model/wav2vec2_config.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/status_macros.h"
#include "core/util/strict_json.h"

namespace lact {
namespace {

// Bound on the conv stack's samples per frame and receptive field (the standard stack has 320
// and 400): keeps SamplesPerFrame / ReceptiveField / NumFrames free of int64 overflow.
constexpr int64_t kMaxConvSpan = int64_t{1} << 24;

}  // namespace

absl::StatusOr<Wav2Vec2Config> Wav2Vec2Config::FromJsonFile(const std::string& path) {
  LACT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonObjectFile(path));
  Wav2Vec2Config c;
  // Absent keys keep the defaults (Hugging Face's); a present key must have the right type.
  auto get = [&](const char* key, auto* out) { return GetJsonField(j, path, key, out); };
  LACT_RETURN_IF_ERROR(get("conv_dim", &c.conv_dim));
  LACT_RETURN_IF_ERROR(get("conv_kernel", &c.conv_kernel));
  LACT_RETURN_IF_ERROR(get("conv_stride", &c.conv_stride));
  LACT_RETURN_IF_ERROR(get("conv_bias", &c.conv_bias));
  LACT_RETURN_IF_ERROR(get("feat_extract_norm", &c.feat_extract_norm));
  LACT_RETURN_IF_ERROR(get("feat_extract_activation", &c.feat_extract_activation));
  LACT_RETURN_IF_ERROR(get("hidden_size", &c.hidden_size));
  LACT_RETURN_IF_ERROR(get("num_hidden_layers", &c.num_hidden_layers));
  LACT_RETURN_IF_ERROR(get("num_attention_heads", &c.num_attention_heads));
  LACT_RETURN_IF_ERROR(get("intermediate_size", &c.intermediate_size));
  LACT_RETURN_IF_ERROR(get("hidden_act", &c.hidden_act));
  LACT_RETURN_IF_ERROR(get("layer_norm_eps", &c.layer_norm_eps));
  LACT_RETURN_IF_ERROR(get("num_conv_pos_embeddings", &c.num_conv_pos_embeddings));
  LACT_RETURN_IF_ERROR(get("num_conv_pos_embedding_groups", &c.num_conv_pos_embedding_groups));
  LACT_RETURN_IF_ERROR(get("do_stable_layer_norm", &c.do_stable_layer_norm));
  LACT_RETURN_IF_ERROR(get("vocab_size", &c.vocab_size));
  LACT_RETURN_IF_ERROR(get("pad_token_id", &c.pad_token_id));
  bool add_adapter = false;
  LACT_RETURN_IF_ERROR(get("add_adapter", &add_adapter));
  if (add_adapter) {
    return absl::UnimplementedError(absl::StrCat(path, ": add_adapter=true is not supported"));
  }
  absl::Status valid = c.Validate();
  if (!valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", valid.message()));
  }
  return c;
}

absl::Status Wav2Vec2Config::Validate() const {
  if (conv_dim.empty() || conv_dim.size() != conv_kernel.size() ||
      conv_dim.size() != conv_stride.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv_dim, conv_kernel and conv_stride must be non-empty and of equal length (",
        conv_dim.size(), ", ", conv_kernel.size(), ", ", conv_stride.size(), ")"));
  }
  for (size_t i = 0; i < conv_dim.size(); ++i) {
    if (conv_dim[i] <= 0 || conv_kernel[i] <= 0 || conv_stride[i] <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("conv layer ", i, " has a non-positive size"));
    }
  }
  // Samples per frame (product of the strides) and receptive field, checked step by step.
  int64_t samples_per_frame = 1;
  int64_t receptive_field = 1;
  for (size_t i = conv_dim.size(); i-- > 0;) {
    if (conv_kernel[i] > kMaxConvSpan || conv_stride[i] > kMaxConvSpan ||
        samples_per_frame > kMaxConvSpan / conv_stride[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("the conv stack spans more than ", kMaxConvSpan, " samples per frame"));
    }
    samples_per_frame *= conv_stride[i];
    receptive_field = (receptive_field - 1) * conv_stride[i] + conv_kernel[i];  // < 2^49
    if (receptive_field > kMaxConvSpan) {
      return absl::InvalidArgumentError(
          absl::StrCat("the conv stack's receptive field exceeds ", kMaxConvSpan, " samples"));
    }
  }
  if (feat_extract_norm != "group" && feat_extract_norm != "layer") {
    return absl::InvalidArgumentError(absl::StrCat(
        "feat_extract_norm must be \"group\" or \"layer\", got \"", feat_extract_norm, "\""));
  }
  for (const std::string* act : {&feat_extract_activation, &hidden_act}) {
    if (*act != "gelu" && *act != "relu" && *act != "gelu_new" && *act != "silu" &&
        *act != "swish" && *act != "gelu_pytorch_tanh") {
      return absl::InvalidArgumentError(absl::StrCat("unsupported activation \"", *act, "\""));
    }
  }
  if (hidden_size <= 0 || num_hidden_layers < 0 || num_attention_heads <= 0 ||
      intermediate_size <= 0 || vocab_size <= 0) {
    return absl::InvalidArgumentError(
        "hidden_size, num_attention_heads, intermediate_size and "
        "vocab_size must be positive");
  }
  if (hidden_size % num_attention_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("hidden_size ", hidden_size,
                                                   " is not divisible by num_attention_heads ",
                                                   num_attention_heads));
  }
  if (num_conv_pos_embeddings <= 0 || num_conv_pos_embedding_groups <= 0 ||
      hidden_size % num_conv_pos_embedding_groups != 0) {
    return absl::InvalidArgumentError(
        "num_conv_pos_embeddings must be positive and hidden_size divisible by "
        "num_conv_pos_embedding_groups");
  }
  if (pad_token_id < 0 || pad_token_id >= vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("pad_token_id ", pad_token_id, " outside the vocabulary of ", vocab_size));
  }
  if (!(layer_norm_eps > 0)) return absl::InvalidArgumentError("layer_norm_eps must be positive");
  return absl::OkStatus();
}

std::string Wav2Vec2Config::ToString() const {
  return absl::StrCat(
      "Wav2Vec2Config(conv_dim=[", absl::StrJoin(conv_dim, ","), "], conv_kernel=[",
      absl::StrJoin(conv_kernel, ","), "], conv_stride=[", absl::StrJoin(conv_stride, ","),
      "], conv_bias=", conv_bias, ", feat_extract_norm=", feat_extract_norm,
      ", hidden_size=", hidden_size, ", layers=", num_hidden_layers,
      ", heads=", num_attention_heads, ", intermediate=", intermediate_size,
      ", stable_layer_norm=", do_stable_layer_norm, ", pos_conv=", num_conv_pos_embeddings, "/",
      num_conv_pos_embedding_groups, ", vocab=", vocab_size, ")");
}

int64_t Wav2Vec2Config::SamplesPerFrame() const {
  int64_t s = 1;
  for (int64_t st : conv_stride) s *= st;
  return s;
}

int64_t Wav2Vec2Config::NumFrames(int64_t num_samples) const {
  int64_t len = num_samples;
  for (size_t i = 0; i < conv_kernel.size(); ++i) {
    if (len < conv_kernel[i]) return 0;
    len = (len - conv_kernel[i]) / conv_stride[i] + 1;
  }
  return len;
}

int64_t Wav2Vec2Config::ReceptiveField() const {
  // Backwards from one output frame: r <- (r - 1) * stride + kernel.
  int64_t r = 1;
  for (size_t i = conv_kernel.size(); i-- > 0;) r = (r - 1) * conv_stride[i] + conv_kernel[i];
  return r;
}

absl::StatusOr<Wav2Vec2PreprocessorConfig> Wav2Vec2PreprocessorConfig::FromJsonFile(
    const std::string& path) {
  LACT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonObjectFile(path));
  Wav2Vec2PreprocessorConfig c;
  LACT_RETURN_IF_ERROR(GetJsonField(j, path, "do_normalize", &c.do_normalize));
  LACT_RETURN_IF_ERROR(GetJsonField(j, path, "sampling_rate", &c.sampling_rate));
  absl::Status valid = c.Validate();
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", valid.message()));
  return c;
}

absl::Status Wav2Vec2PreprocessorConfig::Validate() const {
  if (sampling_rate < 1000 || sampling_rate > 192000) {
    return absl::InvalidArgumentError(
        absl::StrCat("sampling_rate ", sampling_rate, " out of range"));
  }
  return absl::OkStatus();
}

}  // namespace lact
