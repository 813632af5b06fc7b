#include "core/util/blas_threads.h"

#include <dlfcn.h>

#include <cstdlib>

namespace lact {

int LimitOpenBlasThreads() {
  static const int threads = [] {
    // Looked up at run time: the project does not link OpenBLAS itself, LibTorch may.
    using SetFn = void (*)(int);
    using GetFn = int (*)();
    auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (set == nullptr || get == nullptr) return 0;
    if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) set(1);
    return get();
  }();
  return threads;
}

}  // namespace lact
