// LaCT's matrix products in TF32 (core/model/precision.h LactProductsInTf32): only on CUDA beside
// a half-precision encoder; the scope that turns LibTorch's setting on restores it; a model on the
// CPU never uses it, whatever its --dtype; on CUDA (skipped elsewhere) the TF32 stack agrees with
// the float32 one within LACT_SPEC.md "Precision"'s 1e-2 and leaves the setting as it found it.
#include <ATen/Context.h>

#include <gtest/gtest.h>

#include "core/model/precision.h"
#include "core/model/tf32_matmul_scope.h"
#include "core/streaming/asr_model.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace {

const torch::Device kCpu(torch::kCPU);
const torch::Device kCuda(torch::kCUDA, 0);  // a name only: nothing runs on it

Precision Of(torch::ScalarType dtype, bool int8 = false) { return Precision{dtype, int8}; }

TEST(LactTf32Test, OnlyOnCudaBesideAHalfPrecisionEncoder) {
  EXPECT_TRUE(LactProductsInTf32(Of(torch::kFloat16), kCuda));
  EXPECT_TRUE(LactProductsInTf32(Of(torch::kBFloat16), kCuda));
  EXPECT_FALSE(LactProductsInTf32(Of(torch::kFloat32), kCuda));  // the parity contract
  for (const Precision& p : {Of(torch::kFloat32), Of(torch::kBFloat16), Of(torch::kFloat32, true),
                             Of(torch::kBFloat16, true)}) {
    EXPECT_FALSE(LactProductsInTf32(p, kCpu)) << p.Name();
  }
}

TEST(LactTf32Test, ScopeTurnsTheSettingOnAndRestoresIt) {
  auto& ctx = at::globalContext();
  const bool before = ctx.allowTF32CuBLAS();
  ctx.setAllowTF32CuBLAS(false);
  {
    Tf32MatmulScope off(false);
    EXPECT_FALSE(ctx.allowTF32CuBLAS());
    Tf32MatmulScope on(true);
    EXPECT_TRUE(ctx.allowTF32CuBLAS());
    {
      Tf32MatmulScope nested(true);  // already on: leaves it on, and on at its end
      EXPECT_TRUE(ctx.allowTF32CuBLAS());
    }
    EXPECT_TRUE(ctx.allowTF32CuBLAS());
  }
  EXPECT_FALSE(ctx.allowTF32CuBLAS());
  ctx.setAllowTF32CuBLAS(true);  // a process that chose TF32 itself keeps it
  { Tf32MatmulScope on(true); }
  EXPECT_TRUE(ctx.allowTF32CuBLAS());
  ctx.setAllowTF32CuBLAS(before);
}

TEST(LactTf32Test, NeverOnTheCpu) {
  const std::string dir = testing_util::TinyLactModelDir(LACT_TEST_FIXTURES, "lact_tf32_model");
  for (const char* dtype : {"float32", "bfloat16"}) {
    AsrModelOptions options;
    options.dtype = dtype;
    auto model = AsrModel::Load(dir, options);
    ASSERT_TRUE(model.ok()) << dtype << ": " << model.status();
    ASSERT_NE((*model)->lact(), nullptr);
    EXPECT_FALSE((*model)->lact()->tf32_products()) << dtype;
    EXPECT_FALSE((*model)->lact()->bf16_projections()) << dtype;
    EXPECT_EQ((*model)->lact()->ProductsName(), "float32") << dtype;
  }
  LactStack stack = testing_util::RandomStack(testing_util::SmallConfig());
  stack.set_tf32_products(true);  // asked for on a CPU stack: ignored
  EXPECT_FALSE(stack.tf32_products());
}

TEST(LactTf32Test, OnCudaAgreesWithFloat32WithinTheSpec) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  LactConfig c = testing_util::SmallConfig();
  c.hidden_size = 256;  // products large enough for cuBLAS's tensor-core paths
  c.chunk_size = 64;
  auto exact = LactStack::FromTensors(c, testing_util::RandomTensors(c, 3), kCuda);
  auto tf32 = LactStack::FromTensors(c, testing_util::RandomTensors(c, 3), kCuda);
  ASSERT_TRUE(exact.ok() && tf32.ok());
  tf32->set_tf32_products(true);
  ASSERT_TRUE(tf32->tf32_products());
  at::globalContext().setAllowTF32CuBLAS(false);
  torch::manual_seed(5);
  torch::Tensor x = torch::randn({200, c.hidden_size}, torch::TensorOptions().device(kCuda));
  auto a = exact->ForwardSequence(x);
  auto b = tf32->ForwardSequence(x);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(at::globalContext().allowTF32CuBLAS());  // restored after the stack's run
  const double rel = testing_util::MaxRelDiff(*b, *a);
  EXPECT_LE(rel, 1e-2);
  EXPECT_GT(rel, 0.0);  // TF32 did run: the outputs are not bit-identical
}

}  // namespace
}  // namespace lact
