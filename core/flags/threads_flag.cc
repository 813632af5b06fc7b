#include "core/flags/threads_flag.h"

#include <algorithm>
#include <cstdint>
#include <thread>

#include <torch/torch.h>

#include "absl/flags/flag.h"
#include "core/util/blas_threads.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(int32_t, threads, 0, "LibTorch CPU (intra-op) threads (0: all cores)");
// clang-format on

namespace lact {

int GetThreadsFlag() { return absl::GetFlag(FLAGS_threads); }

int SetTorchThreadsFromFlag() {
  const int flag = GetThreadsFlag();
  const int threads =
      flag > 0 ? flag : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  LimitOpenBlasThreads();
  return threads;
}

}  // namespace lact
