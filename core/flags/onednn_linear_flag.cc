#include "core/flags/onednn_linear_flag.h"

#include "absl/flags/flag.h"
#include "core/model/dense_linear.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(bool, onednn_linear, false, "CPU, float32: run the model's linear layers through oneDNN "
          "on the --threads threads instead of one OpenBLAS thread. On 2 cores a model pass is "
          "1.3-1.45x faster (offline, lact_bench); in lact_server it gained no latency there and "
          "cost 25-40% more CPU and ~0.5 GiB more memory (docs/benchmarks.md). No effect on CUDA, "
          "bfloat16 or int8");
// clang-format on

namespace lact {

bool GetOneDnnLinearFlag() { return absl::GetFlag(FLAGS_onednn_linear); }

void SetOneDnnLinearFromFlag() { SetOneDnnLinear(GetOneDnnLinearFlag()); }

}  // namespace lact
