#include "core/flags/model_flags.h"

#include <cstdlib>
#include <filesystem>

#include "absl/flags/flag.h"
#include "core/flags/device_flags.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(std::string, model, "", "Model folder (Hugging Face Wav2Vec2ForCTC layout, plus optional "
          "lact_config.json / lact.safetensors / language_model/). Default: $LACT_MODEL, else "
          "models/demo of the source tree (the bundled demo model, see models/demo/MODEL_CARD.md); "
          "lact_bench: a random model of --random's size");
// clang-format on

namespace lact {

ModelFlags GetModelFlags() {
  const DeviceFlags device = GetDeviceFlags();
  return {absl::GetFlag(FLAGS_model), device.device, device.dtype};
}

std::string ResolveModelDir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("LACT_MODEL"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  if (std::filesystem::exists(LACT_DEFAULT_MODEL_DIR, ec)) return LACT_DEFAULT_MODEL_DIR;
  return "";
}

}  // namespace lact
