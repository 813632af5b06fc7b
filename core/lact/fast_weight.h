// The fast-weight SwiGLU of one LaCT head and its chunk update (LACT_SPEC.md steps 6-7), batched
// over any leading dimensions (streams, heads).
//
// Layout: every fast weight is kept as an [m, d] matrix, so a layer's three fit one tensor:
//   fast [..., 3, H, m, d] = (W0, W1ᵀ, W2)   (W1 itself is [d, m]; it is stored transposed)
// and so do the momentum buffers (M0, M1ᵀ, M2).
#pragma once

#include <torch/torch.h>

namespace lact {

// o_i = W1 (silu(W0 q_i) ⊙ (W2 q_i)) for every row of q.
//   q: [..., N, d]; w0, w1t, w2: [..., m, d] (w1t = W1ᵀ) -> [..., N, d]
torch::Tensor FastWeightApply(const torch::Tensor& q, const torch::Tensor& w0,
                              const torch::Tensor& w1t, const torch::Tensor& w2);

// The update directions of one chunk: the gradients of sum_i lrj_i <f_W(k_i), v_i> w.r.t. Wj.
struct FastWeightGrads {
  torch::Tensor dw0;   // [..., m, d]
  torch::Tensor dw1t;  // [..., m, d]  (dW1 transposed)
  torch::Tensor dw2;   // [..., m, d]
};
//   w0, w1t, w2: [..., m, d]; k, v: [..., C, d]; lr0, lr1, lr2: [..., C]
FastWeightGrads FastWeightGradients(const torch::Tensor& w0, const torch::Tensor& w1t,
                                    const torch::Tensor& w2, const torch::Tensor& k,
                                    const torch::Tensor& v, const torch::Tensor& lr0,
                                    const torch::Tensor& lr1, const torch::Tensor& lr2);

struct FastWeightUpdateOptions {
  bool use_momentum = true;
  bool use_muon = false;
  bool weight_norm = true;
};

// One full chunk's update (spec step 7, "update"), in place:
//   fast: [U, 3, H, m, d] (W0, W1ᵀ, W2), replaced by the updated weights;
//   momentum: [U, 3, H, m, d] (M0, M1ᵀ, M2), updated when use_momentum (else ignored);
//   k, v: [U, H, C, d]; lr: [U, 3, H, C] (lr0, lr1, lr2); beta: [U, H, C] (when use_momentum);
//   r0, r2: [H, m] the initial row norms of W0, W2; r1: [H, d] the initial row norms of W1 (the
//   column norms of W1ᵀ); only used when weight_norm.
// Steps: grads -> momentum (M <- dW + mean(beta) M, dW <- M) -> Muon (NS of dW0, dW1, dW2, each
// in the orientation the spec gives) -> W <- W + dW -> row renormalisation.
void FastWeightUpdate(const FastWeightUpdateOptions& options, const torch::Tensor& k,
                      const torch::Tensor& v, const torch::Tensor& lr, const torch::Tensor& beta,
                      const torch::Tensor& r0, const torch::Tensor& r1, const torch::Tensor& r2,
                      torch::Tensor* fast, torch::Tensor* momentum);

}  // namespace lact
