// OpenBLAS's own thread pool in a process that runs LibTorch on the CPU. Debian's LibTorch does
// its float32 matrix products in OpenBLAS (the pthreads build), which keeps worker threads of its
// own beside LibTorch's OpenMP threads; after each product they spin in sched_yield for about
// 0.1 s (OpenBLAS's THREAD_TIMEOUT, 2^28 cycles) before they sleep. A server steps far more
// often than that, so they never sleep: on this project's 2-core machine `perf` put 55% of
// lact_server's CPU time in sched_yield, and one OpenBLAS thread made both the server and an
// offline pass faster (docs/benchmarks.md, "The server's own cost on this CPU"). LibTorch's OpenMP
// threads (--threads) still run everything else in parallel; --onednn_linear moves the model's
// float32 linear layers onto them too (core/model/dense_linear.h).
#pragma once

namespace lact {

// Sets OpenBLAS to one thread, once per process (later calls do nothing), unless the environment
// sets OPENBLAS_NUM_THREADS (the user's count wins). Returns OpenBLAS's thread count afterwards,
// or 0 where OpenBLAS is not in the process (another BLAS, e.g. MKL).
int LimitOpenBlasThreads();

}  // namespace lact
