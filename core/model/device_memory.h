// Memory of the device the model runs on (the server's lact_device_memory_* metrics, lact_bench).
//   CUDA (a CUDA LibTorch, built with LACT_USE_CUDA): allocated / reserved bytes of LibTorch's
//     caching allocator, total from cudaMemGetInfo.
//   CPU: allocated = reserved = the process's resident memory (/proc/self/statm), total = the
//     machine's (MemTotal, or the cgroup limit when lower).
#pragma once

#include <cstdint>
#include <string>

namespace lact {

struct DeviceMemory {
  int64_t allocated_bytes = 0;
  int64_t reserved_bytes = 0;
  int64_t total_bytes = 0;
};

// `device`: "cpu", "cuda", "cuda:N". Never fails: unknown values read as 0.
DeviceMemory QueryDeviceMemory(const std::string& device);

// Resident set size of this process in bytes (0 where /proc is unavailable).
int64_t ProcessResidentBytes();

}  // namespace lact
