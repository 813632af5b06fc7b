// DenseLinear (core/model/dense_linear.h), turned on as --onednn_linear does: float32 CPU
// inference through oneDNN gives torch::linear's result (within float32 rounding) for every input
// shape, layout and row count the model passes, with and without a bias; training, other dtypes
// and empty inputs keep torch::linear, and gradients through it are torch::linear's.
#include <set>

#include <ATen/Context.h>

#include <gtest/gtest.h>

#include "core/model/dense_linear.h"

namespace lact {
namespace {

// max |a - b| / max |b|
double RelDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

class DenseLinearTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetOneDnnLinear(true);  // --onednn_linear
    torch::manual_seed(7);
    weight_ = torch::randn({48, 64});  // [out, in]
    bias_ = torch::randn({48});        // [out]
  }
  void TearDown() override { SetOneDnnLinear(false); }
  torch::Tensor weight_, bias_;
};

TEST_F(DenseLinearTest, TakesOneDnnForFloat32CpuInferenceOnly) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "LibTorch built without oneDNN";
  const torch::Tensor x = torch::randn({3, 5, 64});
  EXPECT_TRUE(UsesOneDnn(x, weight_, bias_));
  EXPECT_TRUE(UsesOneDnn(x, weight_, {}));
  EXPECT_FALSE(UsesOneDnn(x.to(torch::kBFloat16), weight_.to(torch::kBFloat16), {}));
  EXPECT_FALSE(UsesOneDnn(x.to(torch::kFloat64), weight_.to(torch::kFloat64), {}));
  EXPECT_FALSE(UsesOneDnn(torch::zeros({0, 64}), weight_, bias_));  // no rows
  EXPECT_FALSE(UsesOneDnn(torch::randn({3, 63}), weight_, bias_));  // wrong width: torch's error
  const torch::Tensor trained = weight_.clone().requires_grad_(true);
  EXPECT_FALSE(UsesOneDnn(x, trained, bias_));
  EXPECT_FALSE(UsesOneDnn(x.clone().requires_grad_(true), weight_, bias_));
  {
    torch::NoGradGuard no_grad;  // a weight that requires a gradient, at inference
    EXPECT_TRUE(UsesOneDnn(x, trained, bias_));
  }
  SetOneDnnLinear(false);  // the default: torch::linear everywhere
  EXPECT_FALSE(OneDnnLinearEnabled());
  EXPECT_FALSE(UsesOneDnn(x, weight_, bias_));
  SetOneDnnLinear(true);
  EXPECT_TRUE(UsesOneDnn(x, weight_, bias_));
}

TEST_F(DenseLinearTest, EqualsTorchLinearForEveryShapeAndLayout) {
  const std::vector<torch::Tensor> inputs = {
      torch::randn({64}),                         // one vector
      torch::randn({1, 64}),                      // one row
      torch::randn({7, 64}),                      // rows
      torch::randn({2, 9, 64}),                   // [B, T, D]
      torch::randn({2, 3, 4, 64}),                // [B, H, N, d]
      torch::randn({2, 64, 9}).transpose(1, 2),   // a transposed view (not contiguous)
      torch::randn({4, 11, 64}).narrow(1, 2, 6),  // a narrowed view
      torch::randn({2, 9, 64}) * 1e4,             // large values
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (const bool with_bias : {true, false}) {
      const torch::Tensor b = with_bias ? bias_ : torch::Tensor();
      const torch::Tensor want = torch::linear(inputs[i], weight_, b);
      const torch::Tensor got = DenseLinear(inputs[i], weight_, b);
      ASSERT_EQ(got.sizes(), want.sizes()) << "input " << i;
      EXPECT_EQ(got.scalar_type(), torch::kFloat32);
      EXPECT_EQ(got.layout(), torch::kStrided);
      EXPECT_LT(RelDiff(got, want), 1e-5) << "input " << i << " bias " << with_bias;
    }
  }
}

TEST(DenseLinearRowsTest, RowCountsRoundToFewShapes) {
  EXPECT_EQ(OneDnnRows(1), 8);
  EXPECT_EQ(OneDnnRows(8), 8);
  EXPECT_EQ(OneDnnRows(9), 16);
  EXPECT_EQ(OneDnnRows(64), 64);
  EXPECT_EQ(OneDnnRows(65), 128);
  EXPECT_EQ(OneDnnRows(704), 704);  // 4 windows of 176 frames: no padding
  EXPECT_EQ(OneDnnRows(1409), 1472);
  std::set<int64_t> shapes;
  for (int64_t n = 1; n <= 8 * 176; ++n) {  // every row count of 8 base-size windows
    const int64_t p = OneDnnRows(n);
    ASSERT_GE(p, n);
    ASSERT_LT(p - n, n <= 64 ? 8 : 64) << n;
    shapes.insert(p);
  }
  EXPECT_EQ(shapes.size(), 8u + 21u);  // 8..64 by 8, then 128..1408 by 64
}

TEST_F(DenseLinearTest, EveryRowCountEqualsTorchLinear) {
  // Row counts on both sides of the padding's steps: the padded rows never reach the result.
  const torch::Tensor all = torch::randn({131, 64}) * 3;
  for (int64_t n = 1; n <= 131; n += (n < 70 ? 1 : 7)) {
    const torch::Tensor x = all.narrow(0, 0, n);
    const torch::Tensor got = DenseLinear(x, weight_, bias_);
    ASSERT_EQ(got.sizes(), (std::vector<int64_t>{n, 48}));
    EXPECT_TRUE(got.is_contiguous());
    EXPECT_LT(RelDiff(got, torch::linear(x, weight_, bias_)), 1e-5) << n << " rows";
  }
}

TEST_F(DenseLinearTest, TheResultIsAnOrdinaryTensorOfItsOwn) {
  const torch::Tensor x = torch::randn({3, 64});
  const torch::Tensor x_before = x.clone(), w_before = weight_.clone(), b_before = bias_.clone();
  torch::Tensor y = DenseLinear(x, weight_, bias_);
  const torch::Tensor want = torch::linear(x, weight_, bias_);
  y.add_(1);  // written in place: neither x nor the weight nor the bias changes
  EXPECT_LT(RelDiff(y - 1, want), 1e-5);
  EXPECT_TRUE(torch::equal(x, x_before));
  EXPECT_TRUE(torch::equal(weight_, w_before));
  EXPECT_TRUE(torch::equal(bias_, b_before));
  EXPECT_TRUE(torch::equal(DenseLinear(x, weight_, bias_), DenseLinear(x, weight_, bias_)));
}

TEST_F(DenseLinearTest, EmptyInputsAndOtherDtypesKeepTorchLinear) {
  const torch::Tensor none = DenseLinear(torch::zeros({2, 0, 64}), weight_, bias_);
  EXPECT_EQ(none.sizes(), (std::vector<int64_t>{2, 0, 48}));
  const torch::Tensor x = torch::randn({5, 64}, torch::kFloat64);
  EXPECT_TRUE(
      torch::equal(DenseLinear(x, weight_.to(torch::kFloat64), bias_.to(torch::kFloat64)),
                   torch::linear(x, weight_.to(torch::kFloat64), bias_.to(torch::kFloat64))));
  EXPECT_THROW(DenseLinear(torch::randn({3, 63}), weight_, bias_), c10::Error);
}

TEST_F(DenseLinearTest, InferenceTensorsOutsideInferenceMode) {
  // A frozen encoder's outputs are made under InferenceMode and used outside it (training).
  torch::Tensor x, w;
  {
    torch::InferenceMode inference;
    x = torch::randn({6, 64});
    w = weight_.clone();
    EXPECT_TRUE(DenseLinear(x, w, bias_).is_inference());
  }
  ASSERT_TRUE(x.is_inference());
  const torch::Tensor want = torch::linear(x, w, bias_);
  const torch::Tensor y = DenseLinear(x, w, bias_);  // grad mode on, nothing requires a gradient
  EXPECT_LT(RelDiff(y, want), 1e-5);
  EXPECT_FALSE(y.is_inference());
  {
    torch::NoGradGuard no_grad;
    EXPECT_LT(RelDiff(DenseLinear(x, w, bias_), want), 1e-5);
  }
  // The result takes part in autograd as any tensor: a gradient through a product with it.
  torch::Tensor scale = torch::ones({48}).requires_grad_(true);
  (y * scale).sum().backward();
  EXPECT_LT(RelDiff(scale.grad(), want.sum(0)), 1e-5);
}

TEST_F(DenseLinearTest, GradientsAreTorchLinears) {
  const torch::Tensor x0 = torch::randn({4, 6, 64});
  torch::Tensor x = x0.clone().requires_grad_(true);
  torch::Tensor w = weight_.clone().requires_grad_(true);
  DenseLinear(x, w, bias_).square().sum().backward();
  torch::Tensor rx = x0.clone().requires_grad_(true);
  torch::Tensor rw = weight_.clone().requires_grad_(true);
  torch::linear(rx, rw, bias_).square().sum().backward();
  EXPECT_LT(RelDiff(x.grad(), rx.grad()), 1e-6);
  EXPECT_LT(RelDiff(w.grad(), rw.grad()), 1e-6);
}

}  // namespace
}  // namespace lact
