// LaCT's slow-weight projections in bfloat16 (LactStack::set_bf16_projections, chosen by
// LactProjectionsInBf16 on CUDA beside a bfloat16 encoder, without Muon): within LACT_SPEC.md
// "Precision"'s 1e-2 of float32 over several chunk updates, the fast weights and momentum still
// float32, the slow weights saved as they were, and float32 back exactly when turned off. The
// arithmetic is checked on the CPU, where LibTorch has bfloat16 products too.
#include <gtest/gtest.h>

#include "core/lact/lact_stack.h"
#include "core/model/precision.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace {

using testing_util::MaxRelDiff;
using testing_util::RandomStack;
using testing_util::SmallConfig;

TEST(LactBf16ProjectionTest, ChosenOnlyOnCudaBesideABfloat16EncoderWithoutMuon) {
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);  // names only
  const Precision bf16{torch::kBFloat16, false};
  EXPECT_TRUE(LactProjectionsInBf16(bf16, cuda, /*muon=*/false));
  EXPECT_FALSE(LactProjectionsInBf16(bf16, cuda, /*muon=*/true));  // amplified: see precision.h
  EXPECT_FALSE(LactProjectionsInBf16(Precision{torch::kFloat16, false}, cuda, false));  // TF32
  EXPECT_FALSE(LactProjectionsInBf16(Precision{torch::kFloat32, false}, cuda, false));
  for (torch::ScalarType t : {torch::kFloat32, torch::kBFloat16}) {
    for (bool int8 : {false, true}) {
      EXPECT_FALSE(LactProjectionsInBf16(Precision{t, int8}, cpu, false));
    }
  }
}

TEST(LactBf16ProjectionTest, AgreesWithFloat32WithinTheSpecOverChunkUpdates) {
  for (bool momentum : {true, false}) {  // (Muon stacks never use it)
    LactConfig c = SmallConfig(momentum);
    c.hidden_size = 128;  // heads of d = 32, m = 48, C = 64: 3 updates in 200 frames
    c.chunk_size = 64;
    const LactStack exact = RandomStack(c);
    LactStack bf16 = RandomStack(c);
    bf16.set_bf16_projections(true);
    ASSERT_TRUE(bf16.bf16_projections());
    EXPECT_EQ(bf16.ProductsName(), "bf16 projections");
    EXPECT_EQ(bf16.layer(0).projection_dtype(), torch::kBFloat16);
    torch::manual_seed(31);
    const torch::Tensor x = torch::randn({200, c.hidden_size});
    LactState a = exact.NewState(), b = bf16.NewState();
    const torch::Tensor ya = exact.Forward(a, x).value();
    const torch::Tensor yb = bf16.Forward(b, x).value();
    EXPECT_EQ(yb.scalar_type(), torch::kFloat);
    const double rel = MaxRelDiff(yb, ya);
    EXPECT_LE(rel, 1e-2) << (momentum ? "momentum" : "plain");
    EXPECT_GT(rel, 0.0) << "bfloat16 did not run: the outputs are bit-identical";
    // The updated state stays float32 and close to the float32 stack's.
    EXPECT_EQ(b.fast_weights().scalar_type(), torch::kFloat);
    if (momentum) EXPECT_EQ(b.momentum().scalar_type(), torch::kFloat);
    EXPECT_EQ(b.frames(), 200);
    EXPECT_LE(MaxRelDiff(b.fast_weights(), a.fast_weights()), 1e-2);
    EXPECT_GT(MaxRelDiff(b.fast_weights(), exact.NewState().fast_weights()), 1e-3)
        << "the updates did not move the fast weights: the comparison proves little";
  }
}

TEST(LactBf16ProjectionTest, SlowWeightsKeptAndFloat32RestoredExactly) {
  const LactConfig c = SmallConfig();
  const LactStack exact = RandomStack(c);
  LactStack stack = RandomStack(c);
  const TensorMap before = stack.StateDict();
  stack.set_bf16_projections(true);
  const TensorMap during = stack.StateDict();  // what Save would write
  ASSERT_EQ(during.size(), before.size());
  for (const auto& [name, t] : before) {
    EXPECT_EQ(during.at(name).scalar_type(), torch::kFloat) << name;
    EXPECT_TRUE(torch::equal(during.at(name), t)) << name;
  }
  stack.set_bf16_projections(false);
  EXPECT_EQ(stack.ProductsName(), "float32");
  torch::manual_seed(32);
  const torch::Tensor x = torch::randn({40, c.hidden_size});
  EXPECT_TRUE(torch::equal(stack.ForwardSequence(x).value(), exact.ForwardSequence(x).value()));
}

}  // namespace
}  // namespace lact
