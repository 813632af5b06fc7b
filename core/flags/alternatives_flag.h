// --max_alternatives, for lact_transcribe and lact_eval_client alike (no LibTorch).
#pragma once

#include "absl/status/statusor.h"

namespace lact {

// --max_alternatives, validated: in [1, 10] (INVALID_ARGUMENT naming the flag otherwise).
absl::StatusOr<int> GetMaxAlternativesFlag();

}  // namespace lact
