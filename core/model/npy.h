// Reader and writer for NumPy's .npy format (version 1.0 headers):
//   "\x93NUMPY", major 1, minor 0, uint16 little-endian header length, then an ASCII dict
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and ending in
//   '\n' so that the data starts at a multiple of 64 bytes, then the raw C-order data.
// Used for test fixtures and for dumping intermediate tensors from tools.
#pragma once

#include <string>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact {

// Writes `t` (any rank, any device, any floating dtype) as little-endian float32 ('<f4'), C order.
// A v1.0 header is used; tensors whose header would not fit (rank > ~6000) are an error.
absl::Status WriteNpy(const std::string& path, const torch::Tensor& t);

// Reads a .npy file of dtype '<f4' or '<f8' (float64 is converted to float32), C order, any
// rank (rank 0 gives a 0-dim tensor). Header versions 1.0, 2.0 and 3.0 are accepted. Any other
// dtype, Fortran order, or a truncated/corrupt file gives an error naming the file.
// Returns a contiguous CPU float32 tensor.
absl::StatusOr<torch::Tensor> ReadNpy(const std::string& path);

}  // namespace lact
