// core/util/malloc_tuning: after TuneMallocForTensors, a large block freed by one forward pass
// stays in the heap for the next (glibc's default would have mmapped it and given it back to the
// kernel, so the next pass faults every page in again), also above glibc's 32 MiB threshold
// ceiling, in the main thread and (below a thread arena's 64 MiB heaps) in another.
#include "core/util/malloc_tuning.h"

#include <cstdlib>
#include <cstring>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <gtest/gtest.h>

namespace lact {
namespace {

#if defined(__GLIBC__)
// Allocates, touches and frees `bytes`; whether it came from (and went back to) the heap.
void ExpectHeapBlock(size_t bytes) {
  const size_t mapped_before = mallinfo2().hblkhd;
  char* block = static_cast<char*>(std::malloc(bytes));
  ASSERT_NE(block, nullptr) << bytes;
  std::memset(block, 1, bytes);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << bytes << " bytes were served by mmap";
  std::free(block);
  EXPECT_GE(mallinfo2().fordblks, bytes) << bytes << " bytes left the heap when freed";
}
#endif

TEST(MallocTuningTest, LargeFreedBlocksStayInTheHeap) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "glibc only";
#else
  if (std::getenv("GLIBC_TUNABLES") != nullptr || std::getenv("LACT_MALLOC_TUNING") != nullptr)
    GTEST_SKIP() << "the environment sets malloc itself";
  ASSERT_TRUE(TuneMallocForTensors());
  EXPECT_TRUE(TuneMallocForTensors());  // once per process; later calls report the same
  ExpectHeapBlock(24 << 20);            // like a bf16 conv output; below the 32 MiB threshold
  // glibc maps anything above M_MMAP_THRESHOLD, whose ceiling is 32 MiB, unless M_MMAP_MAX is 0.
  ExpectHeapBlock(48 << 20);  // a batch of 2 windows' first convolution output
  ExpectHeapBlock(96 << 20);  // 10 s of audio at batch 1.5: the main arena has no ceiling
  // Another thread (the server's model thread) has its own arena, whose heaps are at most 64 MiB:
  // below that, its blocks stay too (larger ones glibc still maps: not asserted here).
  std::thread worker([] { ExpectHeapBlock(40 << 20); });
  worker.join();
#endif
}

}  // namespace
}  // namespace lact
