// LactStack::Step, a streaming step's committed and provisional frames in one pass: the same
// outputs and states as Forward of the committed frames followed by Peek of the provisional ones,
// wherever each stream stands in its chunk (provisional frames completing the open chunk, committed
// ones completing it exactly or spanning chunks, either kind absent), and bad counts refused.
#include <gtest/gtest.h>

#include "core/lact/lact_stack.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace {

using testing_util::MaxRelDiff;
using testing_util::RandomStack;
using testing_util::SmallConfig;

constexpr double kTol = 1e-5;

// One stream of a step: frames already fed, then committed + provisional frames this step.
struct Case {
  int64_t before, committed, provisional;
};

// With C = 16: before % C is the open chunk, so (before % C + committed) % C + provisional >= C
// marks the streams whose provisional frames complete the open chunk.
const Case kCases[] = {
    {0, 3, 4},    // fresh stream, nothing completes
    {5, 2, 9},    // provisional frames complete the chunk exactly (on a copy)
    {9, 2, 12},   // provisional frames cross the boundary
    {12, 4, 6},   // committed frames complete the chunk exactly, provisional after the update
    {3, 30, 5},   // committed frames span two boundaries
    {7, 0, 5},    // provisional only
    {7, 0, 20},   // provisional only, crossing (no committed output to join)
    {20, 6, 0},   // committed only
    {4, 0, 0},    // nothing this step
    {16, 16, 0},  // a whole chunk from a boundary
};

void ExpectSameState(const LactState& a, const LactState& b, const std::string& what) {
  EXPECT_EQ(a.frames(), b.frames()) << what;
  EXPECT_EQ(a.pending_frames(), b.pending_frames()) << what;
  EXPECT_LT(MaxRelDiff(a.fast_weights(), b.fast_weights()), kTol) << what;
  if (a.momentum().defined()) {
    EXPECT_LT((a.momentum() - b.momentum()).abs().max().item<double>(), kTol) << what;
  }
  if (a.pending_frames() > 0) EXPECT_LT(MaxRelDiff(a.pending(), b.pending()), kTol) << what;
}

TEST(LactStackStepTest, EqualsForwardThenPeekWhereverEachStreamStands) {
  for (bool muon : {false, true}) {
    for (bool momentum : {true, false}) {
      const LactConfig c = SmallConfig(momentum, muon && momentum, true);
      const LactStack stack = RandomStack(c);
      torch::manual_seed(21);
      std::vector<LactState> step_states, ref_states;
      std::vector<torch::Tensor> xs, committed_x, provisional_x;
      std::vector<int64_t> committed;
      for (const Case& k : kCases) {
        const torch::Tensor all = torch::randn({k.before + k.committed + k.provisional, 32});
        step_states.push_back(stack.NewState());
        stack.Forward(step_states.back(), all.narrow(0, 0, k.before)).value();
        ref_states.push_back(step_states.back().Clone());
        xs.push_back(all.narrow(0, k.before, k.committed + k.provisional));
        committed_x.push_back(all.narrow(0, k.before, k.committed));
        provisional_x.push_back(all.narrow(0, k.before + k.committed, k.provisional));
        committed.push_back(k.committed);
      }
      std::vector<LactState*> step_ptrs, ref_ptrs;
      for (size_t b = 0; b < step_states.size(); ++b) {
        step_ptrs.push_back(&step_states[b]);
        ref_ptrs.push_back(&ref_states[b]);
      }
      absl::StatusOr<std::vector<torch::Tensor>> out = stack.Step(step_ptrs, xs, committed);
      ASSERT_TRUE(out.ok()) << out.status();
      // The reference: Forward of the committed frames, then Forward of the provisional ones on
      // copies of the advanced states (what Peek promises, computed without Peek or Step's rounds).
      const std::vector<torch::Tensor> ys = stack.Forward(ref_ptrs, committed_x).value();
      std::vector<torch::Tensor> zs;
      for (size_t b = 0; b < ref_states.size(); ++b) {
        LactState copy = ref_states[b].Clone();
        zs.push_back(stack.Forward(copy, provisional_x[b]).value());
      }
      ASSERT_EQ(out->size(), xs.size());
      for (size_t b = 0; b < xs.size(); ++b) {
        const std::string what = std::string(muon ? "muon" : "plain") +
                                 (momentum ? " momentum" : "") + " stream " + std::to_string(b);
        const torch::Tensor expected = torch::cat({ys[b], zs[b]}, 0);
        ASSERT_EQ((*out)[b].sizes(), expected.sizes()) << what;
        EXPECT_EQ((*out)[b].scalar_type(), torch::kFloat) << what;
        if (expected.numel() > 0) EXPECT_LT(MaxRelDiff((*out)[b], expected), kTol) << what;
        ExpectSameState(step_states[b], ref_states[b], what);
        EXPECT_EQ(step_states[b].frames(), kCases[b].before + kCases[b].committed) << what;
      }
    }
  }
}

TEST(LactStackStepTest, OneStreamAloneEqualsTheBatch) {
  // Batching must not change a stream's step (the rounds pad streams of different lengths).
  const LactConfig c = SmallConfig();
  const LactStack stack = RandomStack(c);
  torch::manual_seed(22);
  std::vector<LactState> batch_states;
  std::vector<torch::Tensor> xs;
  std::vector<int64_t> committed;
  for (const Case& k : kCases) {
    batch_states.push_back(stack.NewState());
    stack.Forward(batch_states.back(), torch::randn({k.before, 32})).value();
    xs.push_back(torch::randn({k.committed + k.provisional, 32}));
    committed.push_back(k.committed);
  }
  std::vector<LactState> alone_states;
  for (const LactState& s : batch_states) alone_states.push_back(s.Clone());
  std::vector<LactState*> ptrs;
  for (LactState& s : batch_states) ptrs.push_back(&s);
  const std::vector<torch::Tensor> batched = stack.Step(ptrs, xs, committed).value();
  for (size_t b = 0; b < xs.size(); ++b) {
    const torch::Tensor alone = stack.Step({&alone_states[b]}, {xs[b]}, {committed[b]}).value()[0];
    ASSERT_EQ(alone.sizes(), batched[b].sizes()) << b;
    if (alone.numel() > 0) EXPECT_LT(MaxRelDiff(batched[b], alone), kTol) << b;
    ExpectSameState(batch_states[b], alone_states[b], "stream " + std::to_string(b));
  }
}

TEST(LactStackStepTest, RefusesBadCountsAndLeavesTheStatesAlone) {
  const LactConfig c = SmallConfig();
  const LactStack stack = RandomStack(c);
  LactState s = stack.NewState(), t = stack.NewState();
  stack.Forward(s, torch::randn({5, 32})).value();
  const torch::Tensor fast = s.fast_weights().clone();
  const torch::Tensor x = torch::randn({6, 32});
  for (int64_t bad : {int64_t{-1}, int64_t{7}}) {
    absl::StatusOr<std::vector<torch::Tensor>> out = stack.Step({&s, &t}, {x, x}, {2, bad});
    ASSERT_FALSE(out.ok()) << bad;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(out.status().message().find("commits"), std::string::npos) << out.status();
  }
  absl::StatusOr<std::vector<torch::Tensor>> out = stack.Step({&s, &t}, {x, x}, {2});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("committed counts"), std::string::npos) << out.status();
  EXPECT_FALSE(stack.Step({&s, &s}, {x, x}, {1, 1}).ok());  // the same state twice
  EXPECT_EQ(s.frames(), 5);
  EXPECT_EQ(s.pending_frames(), 5);
  EXPECT_EQ(t.frames(), 0);
  EXPECT_TRUE(torch::equal(s.fast_weights(), fast));
}

}  // namespace
}  // namespace lact
