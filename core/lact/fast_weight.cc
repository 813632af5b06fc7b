#include "core/lact/fast_weight.h"

#include "core/lact/muon.h"

namespace lact {

torch::Tensor FastWeightApply(const torch::Tensor& q, const torch::Tensor& w0,
                              const torch::Tensor& w1t, const torch::Tensor& w2) {
  torch::Tensor g = torch::matmul(q, w0.transpose(-1, -2));  // [..., N, m] = (W0 q_i)ᵀ
  torch::Tensor h = torch::matmul(q, w2.transpose(-1, -2));  // [..., N, m] = (W2 q_i)ᵀ
  torch::Tensor a = torch::silu(g) * h;                      // [..., N, m]
  return torch::matmul(a, w1t);                              // [..., N, d] = (W1 a_i)ᵀ
}

FastWeightGrads FastWeightGradients(const torch::Tensor& w0, const torch::Tensor& w1t,
                                    const torch::Tensor& w2, const torch::Tensor& k,
                                    const torch::Tensor& v, const torch::Tensor& lr0,
                                    const torch::Tensor& lr1, const torch::Tensor& lr2) {
  torch::Tensor kt = k.transpose(-1, -2);    // [..., d, C]
  torch::Tensor g = torch::matmul(w0, kt);   // [..., m, C]  G = W0 Kᵀ
  torch::Tensor hd = torch::matmul(w2, kt);  // [..., m, C]  Hd = W2 Kᵀ
  torch::Tensor sig = torch::sigmoid(g);     // [..., m, C]
  torch::Tensor silu_g = g * sig;            // [..., m, C]
  torch::Tensor a = silu_g * hd;             // [..., m, C]  A
  FastWeightGrads out;
  // dW1 = sum_i lr1_i v_i a_iᵀ  =>  dW1ᵀ = A diag(lr1) V.
  out.dw1t = torch::matmul(a * lr1.unsqueeze(-2), v);          // [..., m, d]
  torch::Tensor da = torch::matmul(w1t, v.transpose(-1, -2));  // [..., m, C] W1ᵀVᵀ
  torch::Tensor dhd = da * silu_g;                             // [..., m, C]
  torch::Tensor dg = da * hd * sig * (1 + g * (1 - sig));      // [..., m, C]
  out.dw0 = torch::matmul(dg * lr0.unsqueeze(-2), k);          // [..., m, d]
  out.dw2 = torch::matmul(dhd * lr2.unsqueeze(-2), k);         // [..., m, d]
  return out;
}

void FastWeightUpdate(const FastWeightUpdateOptions& options, const torch::Tensor& k,
                      const torch::Tensor& v, const torch::Tensor& lr, const torch::Tensor& beta,
                      const torch::Tensor& r0, const torch::Tensor& r1, const torch::Tensor& r2,
                      torch::Tensor* fast, torch::Tensor* momentum) {
  const torch::Tensor& w = *fast;  // [U, 3, H, m, d]
  FastWeightGrads grads = FastWeightGradients(w.select(1, 0), w.select(1, 1), w.select(1, 2), k, v,
                                              lr.select(1, 0), lr.select(1, 1), lr.select(1, 2));
  torch::Tensor dw = torch::stack({grads.dw0, grads.dw1t, grads.dw2}, 1);  // [U, 3, H, m, d]
  if (options.use_momentum) {
    torch::Tensor b = beta.mean(-1).unsqueeze(1).unsqueeze(-1).unsqueeze(-1);  // [U, 1, H, 1, 1]
    *momentum = dw + b * *momentum;                                            // [U, 3, H, m, d]
    dw = *momentum;
  }
  if (options.use_muon) {
    // dW0 and dW2 are [m, d]; dW1 is [d, m] (the transpose of the stored dW1ᵀ).
    torch::Tensor d02 = NewtonSchulz5(torch::stack({dw.select(1, 0), dw.select(1, 2)}, 1));
    torch::Tensor d1t = NewtonSchulz5(dw.select(1, 1).transpose(-1, -2)).transpose(-1, -2);
    dw = torch::stack({d02.select(1, 0), d1t, d02.select(1, 1)}, 1);  // [U, 3, H, m, d]
  }
  torch::Tensor nw = w + dw;  // [U, 3, H, m, d]
  if (options.weight_norm) {
    torch::Tensor w0 = nw.select(1, 0), w1t = nw.select(1, 1), w2 = nw.select(1, 2);
    // Rows of W0, W2 are rows of the [m, d] matrices; rows of W1 are the columns of W1ᵀ.
    w0 = w0 / (w0.norm(2, {-1}, /*keepdim=*/true) + 1e-5) * r0.unsqueeze(-1);     // [U, H, m, d]
    w2 = w2 / (w2.norm(2, {-1}, /*keepdim=*/true) + 1e-5) * r2.unsqueeze(-1);     // [U, H, m, d]
    w1t = w1t / (w1t.norm(2, {-2}, /*keepdim=*/true) + 1e-5) * r1.unsqueeze(-2);  // [U, H, m, d]
    nw = torch::stack({w0, w1t, w2}, 1);
  }
  *fast = nw;
}

}  // namespace lact
