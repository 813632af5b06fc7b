// --dtype's names (core/model/precision.h) and the int8 linear layer they can ask for
// (core/model/quantized_linear.h).
#include "core/model/precision.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "core/model/quantized_linear.h"

namespace lact {
namespace {

const torch::Device kCpu(torch::kCPU);
const torch::Device kCuda(torch::kCUDA, 0);  // a name only: nothing runs on it

TEST(PrecisionTest, EveryNameResolvesAndNamesItself) {
  struct Case {
    const char* name;
    torch::ScalarType dtype;
    bool int8;
  };
  for (const Case& c :
       {Case{"float32", torch::kFloat32, false}, Case{"bfloat16", torch::kBFloat16, false},
        Case{"int8", torch::kFloat32, true}, Case{"int8-bfloat16", torch::kBFloat16, true}}) {
    if (c.int8 && !QuantizedLinear::Available().ok()) continue;
    absl::StatusOr<Precision> p = ResolvePrecision(c.name, kCpu);
    ASSERT_TRUE(p.ok()) << c.name << ": " << p.status();
    EXPECT_EQ(p->dtype, c.dtype) << c.name;
    EXPECT_EQ(p->int8_linear, c.int8) << c.name;
    EXPECT_EQ(p->Name(), c.name);
  }
  absl::StatusOr<Precision> half = ResolvePrecision("float16", kCuda);
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half->Name(), "float16");
}

TEST(PrecisionTest, AutoFollowsTheDocumentedRule) {
  absl::StatusOr<Precision> cpu = ResolvePrecision("auto", kCpu);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->Name(), CpuHasNativeBfloat16() ? "bfloat16" : "float32");
  absl::StatusOr<Precision> gpu = ResolvePrecision("auto", kCuda);
  ASSERT_TRUE(gpu.ok());
  EXPECT_EQ(gpu->Name(), "float16");
}

TEST(PrecisionTest, RefusesWhatTheDeviceCannotRun) {
  absl::StatusOr<Precision> p = ResolvePrecision("float16", kCpu);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(p.status().message(), "CUDA")) << p.status();
  for (const char* name : {"int8", "int8-bfloat16"}) {
    p = ResolvePrecision(name, kCuda);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(absl::StrContains(p.status().message(), "CPU only")) << p.status();
  }
  for (const char* name : {"", "fp32", "Float32", "int4", "bfloat16 "}) {
    p = ResolvePrecision(name, kCpu);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << "'" << name << "'";
    EXPECT_TRUE(absl::StrContains(p.status().message(), PrecisionNames())) << p.status();
  }
}

// The worst case of 8-bit rounding, per output [N, out]: activations quantized per tensor to 7 bits
// (the coarser of the kernel's two choices: reduce_range on CPUs without VNNI), with up to a whole
// step of error (half a step of rounding, half of the zero point's); weights per output row to
// 127 steps of max|w| (half a step). A wrong scale, a transposed weight or a lost bias is far
// outside it; seeds and CPUs (whose kernels round differently) stay inside.
torch::Tensor Int8RoundingBound(const torch::Tensor& x, const torch::Tensor& w) {
  const torch::Tensor x2 = x.reshape({-1, x.size(-1)});  // [N, in]
  const double dx =
      (std::max(x2.max().item<double>(), 0.0) - std::min(x2.min().item<double>(), 0.0)) / 127.0;
  const torch::Tensor dw = w.abs().amax({1}) / 127.0 / 2.0;  // [out]
  // sum_i |w_oi| dx + |x_ni| dw_o + dx dw_o
  return w.abs().sum(1).unsqueeze(0) * dx + x2.abs().sum(1, true) * dw.unsqueeze(0) +
         dx * dw.unsqueeze(0) * static_cast<double>(x2.size(1));
}

class QuantizedLinearTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!QuantizedLinear::Available().ok()) GTEST_SKIP() << QuantizedLinear::Available();
  }
};

// Per-channel int8 weights and per-call int8 activations: about 1% of the output's range on
// Gaussian data (the error of 8-bit rounding over a 256-term dot product), far below a wrong
// scale, a transposed weight or a lost bias.
TEST_F(QuantizedLinearTest, MatchesTheFloatLayer) {
  torch::manual_seed(3);
  // Rows of very different ranges: per-channel scales keep the small rows accurate too.
  const torch::Tensor w = torch::randn({96, 256}) * torch::logspace(-3, 0, 96).unsqueeze(1);
  const torch::Tensor b = torch::randn({96});
  auto layer = QuantizedLinear::Create(w, b);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ((*layer)->in_features(), 256);
  EXPECT_EQ((*layer)->out_features(), 96);
  EXPECT_EQ((*layer)->ByteSize(), 96 * 256 + 8 * 96);
  const torch::Tensor x = torch::randn({2, 50, 256});  // [B, T, in]
  const torch::Tensor ref = torch::linear(x, w, b);    // [B, T, out]
  const torch::Tensor y = (*layer)->Apply(x);
  ASSERT_EQ(y.sizes(), ref.sizes());
  EXPECT_EQ(y.scalar_type(), torch::kFloat32);
  const torch::Tensor err = (y - ref).abs();
  EXPECT_LT(err.max().item<double>(), 0.02 * ref.abs().max().item<double>());
  EXPECT_TRUE((err.reshape({-1, 96}) <= Int8RoundingBound(x, w)).all().item<bool>());
  // The smallest rows (weights ~1e-3) keep their own relative accuracy.
  const torch::Tensor small = ref.slice(2, 0, 8) - b.slice(0, 0, 8);
  EXPECT_LT((y.slice(2, 0, 8) - ref.slice(2, 0, 8)).abs().max().item<double>(),
            0.05 * small.abs().max().item<double>());
  // bf16 in, bf16 out (the layers around it keep their precision).
  const torch::Tensor yb = (*layer)->Apply(x.to(torch::kBFloat16));
  EXPECT_EQ(yb.scalar_type(), torch::kBFloat16);
  EXPECT_LT((yb.to(torch::kFloat32) - ref).abs().max().item<double>(),
            0.03 * ref.abs().max().item<double>());
}

TEST_F(QuantizedLinearTest, WithoutBiasAndRefusingBadWeights) {
  torch::manual_seed(5);
  const torch::Tensor w = torch::randn({16, 32});
  auto layer = QuantizedLinear::Create(w, torch::Tensor());
  ASSERT_TRUE(layer.ok()) << layer.status();
  const torch::Tensor x = torch::randn({5, 32});
  const torch::Tensor ref = torch::linear(x, w);  // [5, 16]
  // Short (32-term) dot products: a fixed share of the output's range is no bound here (7-bit
  // activations reached 2.1% on one CPU); the rounding's worst case is.
  const torch::Tensor err = ((*layer)->Apply(x) - ref).abs();
  EXPECT_TRUE((err <= Int8RoundingBound(x, w)).all().item<bool>())
      << "worst error " << err.max().item<double>() << ", bound at it "
      << Int8RoundingBound(x, w).flatten()[err.argmax()].item<double>();
  // The bound is tight enough to mean something: a wrong scale or a transposed weight errs by
  // about the output's own size.
  EXPECT_LT(Int8RoundingBound(x, w).max().item<double>(), 0.25 * ref.abs().max().item<double>());
  EXPECT_EQ(QuantizedLinear::Create(torch::randn({4, 4, 4}), torch::Tensor()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lact
