// Reader and writer for the safetensors format (Hugging Face):
//   8-byte little-endian header length N, N bytes of JSON header
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
//   then the raw little-endian tensor data; offsets are relative to the end of the header.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <torch/torch.h>

#include "absl/status/statusor.h"

namespace lact {

// Tensors by name, in name order. CPU, contiguous.
using TensorMap = std::map<std::string, torch::Tensor>;

// Reads every tensor of a safetensors file. F32, F16 and BF16 (also F64) are converted to
// float32; any other dtype, a truncated or corrupt file, or overlapping/out-of-range offsets
// give an error naming the file (and the tensor, where one is at fault).
absl::StatusOr<TensorMap> LoadSafetensors(const std::string& path);

// The same for the bytes of a whole safetensors file already in memory; `source` names it in
// errors (LoadSafetensors reads the file and calls this with its path). Tensors are copied out.
absl::StatusOr<TensorMap> ParseSafetensors(std::string_view bytes, const std::string& source);

// Writes `tensors` as F32 (contiguous CPU copies are made as needed). `metadata` goes into
// "__metadata__" ({"format": "pt"} is what transformers writes).
absl::Status SaveSafetensors(const std::string& path, const TensorMap& tensors,
                             const std::map<std::string, std::string>& metadata = {
                                 {"format", "pt"}});

}  // namespace lact
