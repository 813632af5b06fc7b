// The model flag group, shared by lact_server and lact_transcribe (lact_bench takes it too, with
// an empty --model meaning a random model): --model, --device, --dtype.
#pragma once

#include <string>

namespace lact {

struct ModelFlags {
  std::string model_dir;  // --model as given ("" when not given)
  std::string device;     // cpu, cuda, cuda:N
  std::string dtype;      // a core/model/precision.h name: auto, float32, bfloat16, int8, ...
};
ModelFlags GetModelFlags();

// The model folder to load: `flag_value`, else $LACT_MODEL, else the source tree's models/demo
// when it exists (README: the first command); "" when there is none.
std::string ResolveModelDir(const std::string& flag_value);

}  // namespace lact
