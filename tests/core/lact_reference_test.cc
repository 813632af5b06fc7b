// LactStack against the independent Python float64 reference (tests/reference/lact_reference.py):
// fixtures made by `/usr/bin/python3 tests/fixtures/make_lact_fixtures.py`, each folder
// tests/fixtures/lact_<variant>/ holding lact_config.json, lact.safetensors, hidden.npy [150, 32]
// and expected.npy [150, 32].
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "core/lact/lact_stack.h"
#include "core/model/npy.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace {

constexpr double kTol = 1e-3;  // max |diff| <= kTol * max |ref|

class LactReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LactReferenceTest, MatchesFloat64Reference) {
  const std::string dir = std::string(LACT_TEST_FIXTURES) + "/" + GetParam();
  if (!std::filesystem::exists(dir + "/expected.npy")) GTEST_SKIP() << dir << " not generated";
  absl::StatusOr<LactStack> stack = LactStack::Load(dir, 32);
  ASSERT_TRUE(stack.ok()) << stack.status();
  ASSERT_TRUE(stack->trained());
  torch::Tensor x = ReadNpy(dir + "/hidden.npy").value();
  torch::Tensor ref = ReadNpy(dir + "/expected.npy").value();
  ASSERT_EQ(x.sizes(), ref.sizes());
  const int64_t T = x.size(0), C = stack->config().chunk_size;

  torch::Tensor whole = stack->ForwardSequence(x).value();
  const double err = testing_util::MaxRelDiff(whole, ref);
  EXPECT_LT(err, kTol) << GetParam() << " all at once";
  // The adapter's own contribution agrees as well (not only x + small).
  EXPECT_LT(testing_util::MaxRelDiff(whole - x, ref - x), 10 * kTol) << GetParam();
  RecordProperty("max_rel_diff", std::to_string(err));
  std::cout << GetParam() << ": max|diff|/max|ref| = " << err << "\n";

  for (int64_t piece : {int64_t{1}, C - 1, C + 1}) {
    torch::Tensor y = testing_util::FeedInPieces(*stack, x, testing_util::FixedPieces(T, piece));
    EXPECT_LT(testing_util::MaxRelDiff(y, ref), kTol) << GetParam() << " piece " << piece;
  }
  for (uint32_t seed = 0; seed < 3; ++seed) {
    torch::Tensor y =
        testing_util::FeedInPieces(*stack, x, testing_util::RandomPieces(T, seed, 3 * C));
    EXPECT_LT(testing_util::MaxRelDiff(y, ref), kTol) << GetParam() << " random split " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Lact, LactReferenceTest,
                         ::testing::Values("lact_momentum", "lact_muon", "lact_nomomentum"));

// lact_momentum/pipeline_tiny_group/hidden.npy: the adapter applied to the tiny Wav2Vec2's
// last hidden state (tiny_group/expected/hidden.npy).
TEST(LactPipelineTest, TinyGroupHiddenMatchesReference) {
  const std::string fx = LACT_TEST_FIXTURES;
  const std::string in = fx + "/tiny_group/expected/hidden.npy";
  const std::string out = fx + "/lact_momentum/pipeline_tiny_group/hidden.npy";
  if (!std::filesystem::exists(in) || !std::filesystem::exists(out)) GTEST_SKIP();
  LactStack stack = LactStack::Load(fx + "/lact_momentum", 32).value();
  torch::Tensor y = stack.ForwardSequence(ReadNpy(in).value()).value();
  EXPECT_LT(testing_util::MaxRelDiff(y, ReadNpy(out).value()), kTol);
}

}  // namespace
}  // namespace lact
