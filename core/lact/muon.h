// Muon's orthogonalisation of an update: five Newton-Schulz steps (LACT_SPEC.md, `use_muon`).
#pragma once

#include <torch/torch.h>

namespace lact {

// NS(G) for a batch of matrices G [..., r, c] (any floating dtype, any device):
//   X = G, transposed if r > c; X <- X / (||X||_F + 1e-7) (per matrix);
//   five steps X <- a X + (b X Xᵀ + c (X Xᵀ)²) X with the spec's (a, b, c);
//   transposed back. Returns [..., r, c]; its singular values are roughly in [0.7, 1.2].
torch::Tensor NewtonSchulz5(const torch::Tensor& g);

}  // namespace lact
