// --threads, shared by every binary that runs LibTorch on the CPU.
#pragma once

namespace lact {

// --threads as given (0: all cores).
int GetThreadsFlag();
// Sets LibTorch's intra-op threads from --threads (0: the machine's core count); returns the count.
int SetTorchThreadsFromFlag();

}  // namespace lact
