#include "train/state_cache_flag.h"

#include "absl/flags/flag.h"

// clang-format off
ABSL_FLAG(std::string, state_cache, "", "Encoder state cache folder: the frozen encoder's committed "
          "frames of the server's streaming window per example (lact_train --mode lact) or chapter "
          "(lact_study_eval), computed on first use and kept; keyed by the model, audio and window");
// clang-format on

namespace lact::train {

std::string GetStateCacheFlag() { return absl::GetFlag(FLAGS_state_cache); }

}  // namespace lact::train
