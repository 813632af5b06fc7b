// The transformer's attention (core/model/attention.h): the explicit ops against the formula
// computed by hand in double precision, padded keys masked in every dtype (float16 included: a
// fixed -1e9 mask threw there), padded rows equal to the rows attended alone, and, where this
// LibTorch has the fused kernel (LibTorch >= 2.0), fused against explicit.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/model/attention.h"

namespace lact {
namespace {

// Restores the process-wide kernel choice when a test ends.
class AttentionTest : public ::testing::Test {
 protected:
  void TearDown() override { SetFusedAttention(saved_); }
  // The kernels to check: explicit, and fused where this LibTorch has it.
  static std::vector<bool> Kernels() {
    if (FusedAttentionAvailable()) return {false, true};
    return {false};
  }
  bool saved_ = FusedAttentionEnabled();
};

// q, k, v [B, H, T, hd] float32, seeded.
struct Qkv {
  torch::Tensor q, k, v;
};
Qkv Random(int64_t B, int64_t H, int64_t T, int64_t hd, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({B, H, T, hd}), torch::randn({B, H, T, hd}), torch::randn({B, H, T, hd})};
}

// [B, T] bool: row b's first lengths[b] frames valid.
torch::Tensor Valid(const std::vector<int64_t>& lengths, int64_t T) {
  torch::Tensor valid = torch::zeros({static_cast<int64_t>(lengths.size()), T}, torch::kBool);
  for (size_t b = 0; b < lengths.size(); ++b)
    valid[static_cast<int64_t>(b)].narrow(0, 0, lengths[b]).fill_(true);
  return valid;
}

TEST_F(AttentionTest, ExplicitOpsMatchTheFormulaByHand) {
  // out[b,h,i] = sum_j softmax_j(q_i . k_j / sqrt(hd)) v_j over row b's valid keys j, in double.
  const int64_t B = 2, H = 2, T = 5, hd = 4;
  const Qkv x = Random(B, H, T, hd, 11);
  const std::vector<int64_t> lengths = {5, 3};
  SetFusedAttention(false);
  const torch::Tensor out = Attend(x.q, x.k, x.v, Valid(lengths, T));  // [B, H, T, hd]
  auto q = x.q.accessor<float, 4>(), k = x.k.accessor<float, 4>(), v = x.v.accessor<float, 4>();
  auto o = out.accessor<float, 4>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> w(static_cast<size_t>(lengths[b]));
        double sum = 0;
        for (int64_t j = 0; j < lengths[b]; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < hd; ++d) dot += double(q[b][h][i][d]) * k[b][h][j][d];
          w[j] = std::exp(dot / std::sqrt(double(hd)));
          sum += w[j];
        }
        for (int64_t d = 0; d < hd; ++d) {
          double expect = 0;
          for (int64_t j = 0; j < lengths[b]; ++j) expect += w[j] / sum * v[b][h][j][d];
          EXPECT_NEAR(o[b][h][i][d], expect, 1e-5) << "b " << b << " h " << h << " i " << i;
        }
      }
    }
  }
}

TEST_F(AttentionTest, PaddedRowsEqualTheRowsAttendedAlone) {
  const int64_t T = 7;
  const Qkv x = Random(3, 2, T, 8, 12);
  const std::vector<int64_t> lengths = {7, 4, 1};
  for (bool fused : Kernels()) {
    SetFusedAttention(fused);
    const torch::Tensor out = Attend(x.q, x.k, x.v, Valid(lengths, T));  // [3, 2, T, 8]
    for (int64_t b = 0; b < 3; ++b) {
      const int64_t n = lengths[static_cast<size_t>(b)];
      auto row = [&](const torch::Tensor& t) { return t.narrow(0, b, 1).narrow(2, 0, n); };
      const torch::Tensor alone = Attend(row(x.q), row(x.k), row(x.v), {});  // [1, 2, n, 8]
      EXPECT_TRUE(torch::allclose(row(out), alone, 1e-5, 1e-6))
          << "row " << b << (fused ? " fused" : " explicit") << ": max diff "
          << (row(out) - alone).abs().max().item<double>();
    }
    // Without the mask the padded keys take part: the check above can fail.
    const torch::Tensor unmasked = Attend(x.q, x.k, x.v, {});
    EXPECT_GT((unmasked.narrow(0, 1, 1) - out.narrow(0, 1, 1)).abs().max().item<double>(), 1e-2);
  }
}

TEST_F(AttentionTest, PaddedKeysMaskedInEveryDtype) {
  // A fixed -1e9 mask cannot be converted to float16 (LibTorch throws): each dtype's lowest.
  const torch::Tensor valid = Valid({4, 2}, 4);
  const struct {
    torch::ScalarType dtype;
    double lowest;
  } cases[] = {{torch::kHalf, -65504.0},
               {torch::kBFloat16, -3.3895313892515355e38},
               {torch::kFloat32, -3.4028234663852886e38}};
  for (const auto& c : cases) {
    const torch::Tensor scores = torch::randn({2, 3, 4, 4}).to(c.dtype);  // [B, H, T, T]
    torch::Tensor masked;
    ASSERT_NO_THROW(masked = MaskPaddedKeys(scores, valid)) << c.dtype;
    ASSERT_EQ(masked.scalar_type(), c.dtype);
    // Row 0 untouched; row 1's keys 2 and 3 at the lowest finite value, keys 0 and 1 untouched.
    EXPECT_TRUE(torch::equal(masked[0], scores[0])) << c.dtype;
    EXPECT_TRUE(torch::equal(masked[1].narrow(-1, 0, 2), scores[1].narrow(-1, 0, 2))) << c.dtype;
    const torch::Tensor padded = masked[1].narrow(-1, 2, 2).to(torch::kDouble);
    EXPECT_TRUE(torch::isfinite(padded).all().item<bool>()) << c.dtype;
    EXPECT_DOUBLE_EQ(padded.max().item<double>(), c.lowest) << c.dtype;
    EXPECT_DOUBLE_EQ(padded.min().item<double>(), c.lowest) << c.dtype;
  }
}

TEST_F(AttentionTest, Bfloat16PaddedBatchFollowsFloat32) {
  const int64_t T = 9;
  const Qkv x = Random(2, 2, T, 8, 13);
  const torch::Tensor valid = Valid({9, 5}, T);
  SetFusedAttention(false);
  const torch::Tensor ref = Attend(x.q, x.k, x.v, valid);
  const torch::Tensor bf =
      Attend(x.q.to(torch::kBFloat16), x.k.to(torch::kBFloat16), x.v.to(torch::kBFloat16), valid);
  ASSERT_EQ(bf.scalar_type(), torch::kBFloat16);
  const double diff = (bf.to(torch::kFloat32) - ref).abs().max().item<double>();
  EXPECT_LT(diff, 0.05 * ref.abs().max().item<double>());
}

TEST_F(AttentionTest, RowWithoutValidKeysStaysFinite) {
  // Every key padded: uniform weights (transformers' finfo.min mask), the mean of v; never NaN.
  const Qkv x = Random(1, 2, 3, 4, 14);
  SetFusedAttention(false);
  const torch::Tensor out = Attend(x.q, x.k, x.v, Valid({0}, 3));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  EXPECT_TRUE(torch::allclose(out, x.v.mean(2, true).expand_as(out), 1e-5, 1e-6));
}

TEST_F(AttentionTest, DropoutOnlyWhenAsked) {
  const Qkv x = Random(1, 2, 6, 4, 15);
  for (bool fused : Kernels()) {
    SetFusedAttention(fused);
    const torch::Tensor a = Attend(x.q, x.k, x.v, {});
    EXPECT_TRUE(torch::equal(a, Attend(x.q, x.k, x.v, {}))) << "no dropout: deterministic";
    // Probability 1 drops every weight: zeros.
    EXPECT_EQ(Attend(x.q, x.k, x.v, {}, 1.0).abs().max().item<double>(), 0.0);
  }
}

TEST_F(AttentionTest, SwitchFollowsTheLibTorch) {
  SetFusedAttention(true);
  EXPECT_EQ(FusedAttentionEnabled(), FusedAttentionAvailable());
  EXPECT_EQ(
      std::string(AttentionKernelName()).rfind(FusedAttentionAvailable() ? "fused" : "explicit", 0),
      0u);
  SetFusedAttention(false);
  EXPECT_FALSE(FusedAttentionEnabled());
  EXPECT_EQ(std::string(AttentionKernelName()).rfind("explicit", 0), 0u);
}

TEST_F(AttentionTest, FusedMatchesExplicit) {
  if (!FusedAttentionAvailable()) GTEST_SKIP() << "this LibTorch has no fused attention kernel";
  const int64_t T = 33;
  const Qkv x = Random(3, 4, T, 16, 16);
  const torch::Tensor valid = Valid({33, 20, 2}, T);
  SetFusedAttention(false);
  const torch::Tensor ref = Attend(x.q, x.k, x.v, valid);
  SetFusedAttention(true);
  const torch::Tensor fused = Attend(x.q, x.k, x.v, valid);
  EXPECT_TRUE(torch::allclose(fused, ref, 1e-5, 1e-5))
      << "max diff " << (fused - ref).abs().max().item<double>();
}

}  // namespace
}  // namespace lact
