#include "core/flags/threads_flag.h"

#include <cstdint>

#include "absl/flags/flag.h"
#include "core/model/cpu_threads.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(int32_t, threads, 0, "LibTorch CPU (intra-op) threads (0: all cores)");
// clang-format on

namespace lact {

int GetThreadsFlag() { return absl::GetFlag(FLAGS_threads); }

int SetTorchThreadsFromFlag() { return SetCpuThreads(GetThreadsFlag()); }

}  // namespace lact
