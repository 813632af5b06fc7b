// Removes a file or a directory tree, like `rm -rf`, through POSIX nftw.
// Not std::filesystem::remove_all: PyTorch's wheels export their own copy of it from libtorch.so,
// which our binaries then bind to, and with torch 2.11+cu130 that copy jumped to a null pointer
// (seen in lact_bench on the GPU host; docs/gpu.md).
#pragma once

#include <string>

#include "absl/status/status.h"

namespace lact {

// OK when `path` does not exist.
absl::Status RemoveTree(const std::string& path);

}  // namespace lact
