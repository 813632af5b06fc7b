// The fast-weight pieces of a LaCT layer: apply, the manual update directions (checked against
// LibTorch autograd) and Muon's Newton-Schulz step.
#include <gtest/gtest.h>

#include "core/lact/fast_weight.h"
#include "core/lact/muon.h"

namespace lact {
namespace {

double MaxRelDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

// f_W(k) = W1 (silu(W0 k) ⊙ (W2 k)) for the rows of k [H, C, d], written out independently
// of FastWeightApply. W0, W2 [H, m, d], W1 [H, d, m] (natural orientation).
torch::Tensor NaiveF(const torch::Tensor& w0, const torch::Tensor& w1, const torch::Tensor& w2,
                     const torch::Tensor& k) {
  torch::Tensor g = torch::einsum("hmd,hcd->hcm", {w0, k});
  torch::Tensor h = torch::einsum("hmd,hcd->hcm", {w2, k});
  return torch::einsum("hdm,hcm->hcd", {w1, g * torch::sigmoid(g) * h});
}

TEST(LactFastWeightTest, ApplyMatchesTheFormula) {
  torch::manual_seed(1);
  auto opt = torch::TensorOptions().dtype(torch::kDouble);
  const int64_t H = 3, m = 7, d = 5, N = 9;
  torch::Tensor w0 = torch::randn({H, m, d}, opt), w1 = torch::randn({H, d, m}, opt);
  torch::Tensor w2 = torch::randn({H, m, d}, opt), q = torch::randn({H, N, d}, opt);
  torch::Tensor got = FastWeightApply(q, w0, w1.transpose(-1, -2), w2);
  EXPECT_LT(MaxRelDiff(got, NaiveF(w0, w1, w2, q)), 1e-12);
}

// dWj (the spec's manual formulas) == d/dWj sum_i lrj_i <f_W(k_i), v_i>, each Wj with its own
// per-token learning rate lrj; m != d so that a transposition mistake cannot pass.
TEST(LactFastWeightTest, UpdateDirectionsEqualAutogradGradients) {
  torch::manual_seed(2);
  auto opt = torch::TensorOptions().dtype(torch::kDouble);
  const int64_t H = 2, m = 12, d = 8, C = 16;
  torch::Tensor w0 = 0.4 * torch::randn({H, m, d}, opt);
  torch::Tensor w1 = 0.3 * torch::randn({H, d, m}, opt);
  torch::Tensor w2 = 0.4 * torch::randn({H, m, d}, opt);
  torch::Tensor k = torch::randn({H, C, d}, opt);
  k = k / k.norm(2, {-1}, true);
  torch::Tensor v = torch::randn({H, C, d}, opt);
  torch::Tensor lr[3] = {0.01 + 0.2 * torch::rand({H, C}, opt),
                         0.01 + 0.2 * torch::rand({H, C}, opt),
                         0.01 + 0.2 * torch::rand({H, C}, opt)};
  FastWeightGrads got =
      FastWeightGradients(w0, w1.transpose(-1, -2), w2, k, v, lr[0], lr[1], lr[2]);
  ASSERT_EQ(got.dw0.sizes(), w0.sizes());
  ASSERT_EQ(got.dw1t.sizes(), (std::vector<int64_t>{H, m, d}));
  ASSERT_EQ(got.dw2.sizes(), w2.sizes());
  const torch::Tensor manual[3] = {got.dw0, got.dw1t.transpose(-1, -2), got.dw2};
  for (int j = 0; j < 3; ++j) {
    torch::Tensor leaves[3] = {w0.clone().requires_grad_(true), w1.clone().requires_grad_(true),
                               w2.clone().requires_grad_(true)};
    torch::Tensor f = NaiveF(leaves[0], leaves[1], leaves[2], k);  // [H, C, d]
    torch::Tensor objective = (lr[j] * (f * v).sum(-1)).sum();
    torch::Tensor grad = torch::autograd::grad({objective}, {leaves[j]})[0];
    EXPECT_LT(MaxRelDiff(manual[j], grad), 1e-12) << "dW" << j;
    EXPECT_GT(grad.abs().max().item<double>(), 1e-3) << "dW" << j;
  }
  // With a shared lr the three directions are one gradient: swapping lr0 and lr2 must matter.
  FastWeightGrads swapped =
      FastWeightGradients(w0, w1.transpose(-1, -2), w2, k, v, lr[2], lr[1], lr[0]);
  EXPECT_GT(MaxRelDiff(swapped.dw0, got.dw0), 1e-3);
}

TEST(LactFastWeightTest, UpdateDirectionsInFloat32OnBatchedLayout) {
  // The [U, 3, H, m, d] path used by the stack: float32 agrees with float64 to ~1e-6.
  torch::manual_seed(3);
  const int64_t U = 2, H = 2, m = 6, d = 4, C = 5;
  torch::Tensor w = torch::randn({U, 3, H, m, d}, torch::kDouble);
  torch::Tensor k = torch::randn({U, H, C, d}, torch::kDouble),
                v = torch::randn({U, H, C, d}, torch::kDouble);
  torch::Tensor lr = torch::rand({U, 3, H, C}, torch::kDouble);
  auto grads = [&](torch::ScalarType t) {
    FastWeightGrads g = FastWeightGradients(
        w.select(1, 0).to(t), w.select(1, 1).to(t), w.select(1, 2).to(t), k.to(t), v.to(t),
        lr.select(1, 0).to(t), lr.select(1, 1).to(t), lr.select(1, 2).to(t));
    return torch::stack({g.dw0, g.dw1t, g.dw2}, 1).to(torch::kDouble);
  };
  EXPECT_LT(MaxRelDiff(grads(torch::kFloat), grads(torch::kDouble)), 1e-5);
}

TEST(LactMuonTest, NewtonSchulzIsNearlyOrthogonal) {
  torch::manual_seed(4);
  for (std::vector<int64_t> shape :
       std::vector<std::vector<int64_t>>{{8, 12}, {12, 8}, {16, 16}, {3, 2, 24, 12}, {192, 288}}) {
    torch::Tensor g = torch::randn(shape, torch::kDouble);
    // (Square Gaussian matrices are avoided: their smallest singular value is so small relative
    // to the Frobenius norm that five steps cannot lift it to ~1.)
    torch::Tensor x = NewtonSchulz5(g);
    ASSERT_EQ(x.sizes(), g.sizes());
    torch::Tensor s = torch::linalg::svdvals(x, c10::nullopt);
    EXPECT_GT(s.min().item<double>(), 0.5) << shape;
    EXPECT_LT(s.max().item<double>(), 1.5) << shape;
    // Same singular vectors as g: x is the polar factor U Vᵀ up to the singular values.
    torch::Tensor scaled = NewtonSchulz5(7.5 * g);  // scale-invariant (normalised first)
    EXPECT_LT(MaxRelDiff(scaled, x), 1e-6);
  }
}

// A literal float64 transcription of the spec: transpose if rows > cols, normalise, 5 steps.
torch::Tensor SpecNewtonSchulz(torch::Tensor x) {
  const double abc[5][3] = {{4.0848, -6.8946, 2.9270},
                            {3.9505, -6.3029, 2.6377},
                            {3.7418, -5.5913, 2.3037},
                            {2.8769, -3.1427, 1.2046},
                            {2.8366, -3.0525, 1.2012}};
  const bool tall = x.size(0) > x.size(1);
  if (tall) x = x.t();
  x = x / (x.norm() + 1e-7);
  for (const auto& c : abc) {
    torch::Tensor a = x.mm(x.t());
    x = c[0] * x + (c[1] * a + c[2] * a.mm(a)).mm(x);
  }
  return tall ? x.t() : x;
}

TEST(LactMuonTest, TallMatricesAreTransposedFirst) {
  torch::manual_seed(5);
  torch::Tensor tall = torch::randn({12, 8}, torch::kDouble);
  torch::Tensor x = NewtonSchulz5(tall);
  EXPECT_LT(MaxRelDiff(x, SpecNewtonSchulz(tall)), 1e-12);
  // NS of the transpose is the transpose of NS.
  EXPECT_LT(MaxRelDiff(NewtonSchulz5(tall.t().contiguous()).t(), x), 1e-12);
  torch::Tensor wide = torch::randn({8, 12}, torch::kDouble);
  EXPECT_LT(MaxRelDiff(NewtonSchulz5(wide), SpecNewtonSchulz(wide)), 1e-12);
  // Batched == one by one.
  torch::Tensor batch = torch::randn({2, 3, 12, 8}, torch::kDouble);
  torch::Tensor nb = NewtonSchulz5(batch);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_LT(MaxRelDiff(nb[i][j], SpecNewtonSchulz(batch[i][j])), 1e-12);
    }
  }
}

}  // namespace
}  // namespace lact
