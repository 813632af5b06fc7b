// The CPU threads of a process that runs LibTorch: one place for what every binary sets at start
// (the tools through --threads, core/flags/threads_flag; lact_server through ServerConfig).
#pragma once

namespace lact {

// Sets LibTorch's intra-op threads to `requested` (0 or less: the machine's core count) and
// OpenBLAS to one thread of its own (core/util/blas_threads.h). Returns the intra-op count.
int SetCpuThreads(int requested);

}  // namespace lact
