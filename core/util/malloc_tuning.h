// glibc malloc settings for a process that runs LibTorch on the CPU. By default glibc serves
// blocks above a dynamic threshold with mmap and returns freed memory at the heap's top to the
// kernel, so every forward pass maps, faults in and unmaps its large activations (the first conv
// layer's output alone is 32-64 MB for 10 s of audio): on this project's 2-core machine 18% of an
// offline pass was page faults, and bf16 wav2vec2-base ran 1.4-1.6x slower than with the settings
// below. Here: blocks come from the heap, not from mmap (M_MMAP_MAX 0: above the 32 MiB ceiling
// of glibc's threshold each block would still be mapped, faulted in and unmapped per pass; a
// batch of 4 streaming windows of wav2vec2-base needs 84 MB blocks, and mapping them cost 10% of
// the step, docs/benchmarks.md), and freed heap memory is kept for the next pass (the process
// stays at its high-water mark, as with tcmalloc or jemalloc). The limit: a thread other than the
// main one allocates from its own arena, whose heaps glibc caps at 64 MiB; larger blocks of such
// a thread (the server's model thread at batches over 2 of base-size windows) are still mapped.
#pragma once

namespace lact {

// Applies the settings once per process (later calls do nothing); false where they could not be
// applied (not glibc, or glibc refused). The environment's MALLOC_MMAP_THRESHOLD_ /
// MALLOC_TRIM_THRESHOLD_ / MALLOC_MMAP_MAX_ or GLIBC_TUNABLES, when set, win: the settings are left
// alone; so does LACT_MALLOC_TUNING=0 (glibc's defaults, for before/after measurements).
bool TuneMallocForTensors();

}  // namespace lact
