// --state_cache DIR: the encoder state cache (train/encoder_state_cache.h) shared by lact_train
// (mode lact) and lact_study_eval, so both name the same folder the same way.
#pragma once

#include <string>

namespace lact::train {

std::string GetStateCacheFlag();  // "" when not given

}  // namespace lact::train
