// --lact_scope stream|utterance (LactScope, core/streaming/lact_scope.h): how long a stream's LaCT
// fast weights adapt before they start again from the slow weights. lact_transcribe (streaming)
// and lact_study_eval take it; lact_server takes it per request (RecognitionConfig.lact_scope).
#pragma once

#include "absl/status/statusor.h"
#include "core/streaming/lact_scope.h"

namespace lact {

// InvalidArgument naming the flag for a value other than stream / utterance.
absl::StatusOr<LactScope> GetLactScopeFlag();

}  // namespace lact
