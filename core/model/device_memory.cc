#include "core/model/device_memory.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#ifdef LACT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

namespace lact {
namespace {

int64_t MachineMemoryBytes() {
  int64_t total = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit) {
    if (key == "MemTotal:") {
      total = kb * 1024;
      break;
    }
  }
  // A container's limit (cgroup v2, then v1), when lower than the machine's memory.
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream f(path);
    int64_t limit = 0;
    if (f >> limit && limit > 0 && (total == 0 || limit < total)) return limit;
  }
  return total;
}

}  // namespace

int64_t ProcessResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

DeviceMemory QueryDeviceMemory(const std::string& device) {
  DeviceMemory m;
  if (device.rfind("cuda", 0) == 0) {
#ifdef LACT_WITH_CUDA
    int index = 0;
    if (device.size() > 5) index = std::stoi(device.substr(5));
    const auto stats =
        c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
    // StatType::AGGREGATE is index 0 (the enum moved namespaces across LibTorch releases).
    constexpr size_t agg = 0;
    m.allocated_bytes = stats.allocated_bytes[agg].current;
    m.reserved_bytes = stats.reserved_bytes[agg].current;
    int previous = 0;
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaGetDevice(&previous) == cudaSuccess && cudaSetDevice(index) == cudaSuccess &&
        cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      m.total_bytes = static_cast<int64_t>(total_bytes);
    }
    cudaSetDevice(previous);
#endif
    return m;
  }
  m.allocated_bytes = m.reserved_bytes = ProcessResidentBytes();
  m.total_bytes = MachineMemoryBytes();
  return m;
}

}  // namespace lact
