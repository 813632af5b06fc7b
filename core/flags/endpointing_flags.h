// The endpointing flag group (lact_server's defaults for RecognitionConfig.endpointing_config,
// lact_transcribe --segments): --endpointing (core/flags/endpointing_mode_flag.h) and one flag per
// EndpointingConfig field.
#pragma once

#include "absl/status/statusor.h"
#include "core/endpointing/endpointing_config.h"

namespace lact {

// `enabled_default` is --endpointing's meaning when the flag was not given (the server: on;
// offline tools: off unless asked). InvalidArgument for a bad --endpointing or setting.
absl::StatusOr<EndpointingConfig> GetEndpointingFlags(bool enabled_default);

}  // namespace lact
