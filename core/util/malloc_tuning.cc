#include "core/util/malloc_tuning.h"

#include <cstdlib>
#include <initializer_list>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lact {

bool TuneMallocForTensors() {
#if defined(__GLIBC__)
  static const bool applied = [] {
    for (const char* env :
         {"GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_MAX_"})
      if (std::getenv(env) != nullptr) return false;  // the user's settings win
    const char* off = std::getenv("LACT_MALLOC_TUNING");
    if (off != nullptr && std::string(off) == "0") return false;
    constexpr int kMmapThreshold = 32 << 20;  // glibc's largest (HEAP_MAX_SIZE / 2)
    constexpr int kTrimThreshold = 1 << 30;
    // No block mmapped (M_MMAP_MAX 0): above the threshold's ceiling glibc would still map each
    // block (4 windows of 3.2 s make an 84 MB first-convolution output) and unmap it when freed.
    return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
           mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1 && mallopt(M_MMAP_MAX, 0) == 1;
  }();
  return applied;
#else
  return false;
#endif
}

}  // namespace lact
