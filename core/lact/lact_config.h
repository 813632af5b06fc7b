// lact_config.json: the hyper-parameters of the LaCT adapter stack (see LACT_SPEC.md). Every key
// is optional and has the default below; unknown keys are ignored.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact {

struct LactConfig {
  int64_t num_lact_layers = 2;  // L
  int64_t hidden_size = 768;    // D, must equal the encoder's hidden size
  int64_t num_lact_heads = 4;   // H
  double inter_multi = 1.0;     // m = round(d * inter_multi)
  int64_t chunk_size = 512;     // C, encoder frames per fast-weight update
  double lr_scale = 0.01;
  double base_lr = 1.0;  // only used by the untrained initialisation (lr_proj bias)
  bool use_momentum = true;
  double momentum = 0.9;  // only used by the untrained initialisation (momentum_proj bias)
  bool use_muon = false;
  bool weight_norm = true;
  double rms_norm_eps = 1e-6;
  double layer_norm_eps = 1e-5;
  int64_t seed = 0;  // untrained initialisation

  // d = D / H: the size of one head.
  int64_t head_dim() const { return hidden_size / num_lact_heads; }
  // m = round(d * inter_multi): the inner size of the fast-weight SwiGLU.
  int64_t inner_dim() const;

  absl::Status Validate() const;
  std::string ToString() const;
  // The JSON text of lact_config.json (all keys).
  std::string ToJson() const;

  // Reads lact_config.json. Keys absent from the file keep their value in `defaults`; unknown
  // keys are ignored; a key of the wrong type (e.g. a string or 1.5 for an integer) is an error
  // naming the key. The result is validated.
  static absl::StatusOr<LactConfig> FromJsonFile(const std::string& path,
                                                 const LactConfig& defaults);
  static absl::StatusOr<LactConfig> FromJsonFile(const std::string& path);
  // The same for JSON text; `source` names it in errors.
  static absl::StatusOr<LactConfig> FromJsonString(const std::string& text,
                                                   const std::string& source,
                                                   const LactConfig& defaults);
  static absl::StatusOr<LactConfig> FromJsonString(const std::string& text);
};

}  // namespace lact
