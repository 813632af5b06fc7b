#include "core/flags/device_flags.h"

#include "absl/flags/flag.h"

// clang-format off
ABSL_FLAG(std::string, device, "cpu", "Device of the model: cpu, cuda or cuda:N");
ABSL_FLAG(std::string, dtype, "auto",
          "Encoder precision: auto (CPU: bfloat16 where the CPU has native bf16, else float32; "
          "CUDA: float16; float32 with --dump-*), float32 (the parity contract), bfloat16, "
          "float16 (CUDA), int8 or int8-bfloat16 (CPU: int8 transformer linear layers). lm_head "
          "and LaCT stay float32 (on CUDA beside a float16/bfloat16 encoder, LaCT's matrix "
          "products run in TF32, and beside bfloat16 its slow-weight projections in bfloat16). "
          "lact_train: auto = float32");
// clang-format on

namespace lact {

DeviceFlags GetDeviceFlags() { return {absl::GetFlag(FLAGS_device), absl::GetFlag(FLAGS_dtype)}; }

}  // namespace lact
