#include "core/lact/lact_config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"
#include "core/util/strict_json.h"

namespace lact {
int64_t LactConfig::inner_dim() const {
  return static_cast<int64_t>(std::llround(static_cast<double>(head_dim()) * inter_multi));
}

absl::Status LactConfig::Validate() const {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (num_lact_layers < 1) return bad("num_lact_layers must be >= 1, got ", num_lact_layers);
  if (hidden_size < 1) return bad("hidden_size must be >= 1, got ", hidden_size);
  if (num_lact_heads < 1) return bad("num_lact_heads must be >= 1, got ", num_lact_heads);
  if (hidden_size % num_lact_heads != 0) {
    return bad("hidden_size ", hidden_size, " is not divisible by num_lact_heads ", num_lact_heads);
  }
  if (!(inter_multi > 0) || !std::isfinite(inter_multi) || inner_dim() < 1) {
    return bad("inter_multi must be positive with round(d * inter_multi) >= 1, got ", inter_multi);
  }
  if (chunk_size < 1) return bad("chunk_size must be >= 1, got ", chunk_size);
  if (!(lr_scale >= 0) || !std::isfinite(lr_scale)) {
    return bad("lr_scale must be finite and >= 0, got ", lr_scale);
  }
  if (!(base_lr > 0) || !std::isfinite(base_lr)) {
    return bad("base_lr must be finite and > 0, got ", base_lr);
  }
  if (!(momentum >= 0 && momentum < 1)) return bad("momentum must be in [0, 1), got ", momentum);
  if (!(rms_norm_eps > 0)) return bad("rms_norm_eps must be > 0, got ", rms_norm_eps);
  if (!(layer_norm_eps > 0)) return bad("layer_norm_eps must be > 0, got ", layer_norm_eps);
  return absl::OkStatus();
}

std::string LactConfig::ToString() const {
  return absl::StrCat(
      "LactConfig(layers=", num_lact_layers, ", hidden_size=", hidden_size,
      ", heads=", num_lact_heads, ", head_dim=", head_dim(), ", inner_dim=", inner_dim(),
      ", inter_multi=", inter_multi, ", chunk_size=", chunk_size, ", lr_scale=", lr_scale,
      ", base_lr=", base_lr, ", use_momentum=", use_momentum, ", momentum=", momentum,
      ", use_muon=", use_muon, ", weight_norm=", weight_norm, ", rms_norm_eps=", rms_norm_eps,
      ", layer_norm_eps=", layer_norm_eps, ", seed=", seed, ")");
}

std::string LactConfig::ToJson() const {
  nlohmann::ordered_json j;
  j["num_lact_layers"] = num_lact_layers;
  j["hidden_size"] = hidden_size;
  j["num_lact_heads"] = num_lact_heads;
  j["inter_multi"] = inter_multi;
  j["chunk_size"] = chunk_size;
  j["lr_scale"] = lr_scale;
  j["base_lr"] = base_lr;
  j["use_momentum"] = use_momentum;
  j["momentum"] = momentum;
  j["use_muon"] = use_muon;
  j["weight_norm"] = weight_norm;
  j["rms_norm_eps"] = rms_norm_eps;
  j["layer_norm_eps"] = layer_norm_eps;
  j["seed"] = seed;
  return j.dump(2) + "\n";
}

absl::StatusOr<LactConfig> LactConfig::FromJsonString(const std::string& text,
                                                      const std::string& source,
                                                      const LactConfig& defaults) {
  LACT_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonObject(text, source));
  LactConfig c = defaults;
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "num_lact_layers", &c.num_lact_layers));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "hidden_size", &c.hidden_size));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "num_lact_heads", &c.num_lact_heads));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "inter_multi", &c.inter_multi));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "chunk_size", &c.chunk_size));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "lr_scale", &c.lr_scale));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "base_lr", &c.base_lr));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "use_momentum", &c.use_momentum));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "momentum", &c.momentum));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "use_muon", &c.use_muon));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "weight_norm", &c.weight_norm));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "rms_norm_eps", &c.rms_norm_eps));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "layer_norm_eps", &c.layer_norm_eps));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "seed", &c.seed));
  absl::Status valid = c.Validate();
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", valid.message()));
  return c;
}

absl::StatusOr<LactConfig> LactConfig::FromJsonFile(const std::string& path,
                                                    const LactConfig& defaults) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::stringstream ss;
  ss << in.rdbuf();
  return FromJsonString(ss.str(), path, defaults);
}

absl::StatusOr<LactConfig> LactConfig::FromJsonFile(const std::string& path) {
  return FromJsonFile(path, LactConfig());
}

absl::StatusOr<LactConfig> LactConfig::FromJsonString(const std::string& text) {
  return FromJsonString(text, "lact_config", LactConfig());
}

}  // namespace lact
