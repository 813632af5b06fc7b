// --endpointing on|off, alone (no LibTorch, so the clients can take it too): lact_server and
// lact_transcribe read it through GetEndpointingFlags (core/flags/endpointing_flags.h),
// lact_eval_client sends it as RecognitionConfig.endpointing_config.enabled.
#pragma once

#include <optional>

#include "absl/status/statusor.h"

namespace lact {

// nullopt when --endpointing was not given; InvalidArgument for a value other than on/off
// (true/false, 1/0 too).
absl::StatusOr<std::optional<bool>> GetEndpointingModeFlag();

}  // namespace lact
