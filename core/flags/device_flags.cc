#include "core/flags/device_flags.h"

#include "absl/flags/flag.h"

// clang-format off
ABSL_FLAG(std::string, device, "cpu", "Device of the model: cpu, cuda or cuda:N");
ABSL_FLAG(std::string, dtype, "float32", "Encoder precision: float32, float16, bfloat16");
// clang-format on

namespace lact {

DeviceFlags GetDeviceFlags() { return {absl::GetFlag(FLAGS_device), absl::GetFlag(FLAGS_dtype)}; }

}  // namespace lact
