#include "core/model/cpu_threads.h"

#include <algorithm>
#include <thread>

#include <torch/torch.h>

#include "core/util/blas_threads.h"

namespace lact {

int SetCpuThreads(int requested) {
  const int threads = requested > 0
                          ? requested
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  LimitOpenBlasThreads();
  return threads;
}

}  // namespace lact
