// core/util/malloc_tuning: after TuneMallocForTensors, a large block freed by one forward pass
// stays in the heap for the next (glibc's default would have mmapped it and given it back to the
// kernel, so the next pass faults every page in again).
#include "core/util/malloc_tuning.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <gtest/gtest.h>

namespace lact {
namespace {

TEST(MallocTuningTest, LargeFreedBlocksStayInTheHeap) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "glibc only";
#else
  if (std::getenv("GLIBC_TUNABLES") != nullptr || std::getenv("LACT_MALLOC_TUNING") != nullptr)
    GTEST_SKIP() << "the environment sets malloc itself";
  ASSERT_TRUE(TuneMallocForTensors());
  EXPECT_TRUE(TuneMallocForTensors());  // once per process; later calls report the same
  constexpr size_t kBytes = 24 << 20;   // like a bf16 conv output; below the 32 MiB threshold
  char* block = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBytes);
  const size_t mapped_before_free = mallinfo2().hblkhd;
  std::free(block);
  const struct mallinfo2 after = mallinfo2();
  EXPECT_GE(after.fordblks, kBytes) << "the freed block left the heap";
  EXPECT_EQ(after.hblkhd, mapped_before_free) << "the block was served by mmap";
#endif
}

}  // namespace
}  // namespace lact
