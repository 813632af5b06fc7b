// --device and --dtype: where a binary runs LibTorch and the encoder's precision. Part of the model
// flag group (core/flags/model_flags.h) for lact_server, lact_transcribe and lact_bench; alone for
// lact_train, which takes its model as --base_model and so has no --model.
#pragma once

#include <string>

namespace lact {

struct DeviceFlags {
  std::string device;  // cpu, cuda, cuda:N
  std::string dtype;   // a core/model/precision.h name: auto, float32, bfloat16, int8, ...
};
DeviceFlags GetDeviceFlags();

}  // namespace lact
