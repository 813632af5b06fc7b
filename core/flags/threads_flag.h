// --threads, shared by every binary that runs LibTorch on the CPU.
#pragma once

namespace lact {

// --threads as given (0: all cores).
int GetThreadsFlag();
// SetCpuThreads(--threads) (core/model/cpu_threads.h): LibTorch's intra-op threads (0: the
// machine's core count) and OpenBLAS to one thread of its own; returns the intra-op count.
int SetTorchThreadsFromFlag();

}  // namespace lact
