// core/util/blas_threads: after LimitOpenBlasThreads, OpenBLAS runs one thread, and a float32
// matrix product (LibTorch hands it to OpenBLAS) leaves no worker spinning afterwards: with
// OpenBLAS's default pool its idle workers spin in sched_yield for ~0.1 s after each product,
// which is what starved lact_server's decoders.
#include "core/util/blas_threads.h"

#include <dlfcn.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lact {
namespace {

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

TEST(BlasThreadsTest, OneOpenBlasThreadAndNoSpinningAfterAProduct) {
  if (dlsym(RTLD_DEFAULT, "openblas_get_num_threads") == nullptr)
    GTEST_SKIP() << "LibTorch does not use OpenBLAS here";
  if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr)
    GTEST_SKIP() << "the environment sets OPENBLAS_NUM_THREADS (it wins)";
  torch::set_num_threads(2);
  EXPECT_EQ(LimitOpenBlasThreads(), 1);
  EXPECT_EQ(LimitOpenBlasThreads(), 1);  // once per process; later calls report the same
  auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  EXPECT_EQ(get(), 1);

  // [512, 512] x [512, 512]: large enough that a pool of 2 would split it.
  torch::Tensor a = torch::rand({512, 512});
  torch::Tensor b = torch::rand({512, 512});
  torch::Tensor c = torch::mm(a, b);
  EXPECT_TRUE(torch::allclose(c[3][5], (a[3] * b.select(1, 5)).sum(), 1e-3, 1e-3));
  // The process sleeps 300 ms: spinning workers would burn ~100 ms of CPU meanwhile.
  const double before = ProcessCpuSeconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LT(ProcessCpuSeconds() - before, 0.03) << "a thread kept the CPU busy while idle";
}

}  // namespace
}  // namespace lact
