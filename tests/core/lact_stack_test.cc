// LactStack / LactState: streaming in any split, batching over streams, peeking, the untrained
// identity, state size, and loading/saving lact.safetensors.
#include "core/lact/lact_stack.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/model/safetensors.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace {

using testing_util::FeedInPieces;
using testing_util::FixedPieces;
using testing_util::MaxRelDiff;
using testing_util::RandomPieces;
using testing_util::RandomStack;
using testing_util::RandomTensors;
using testing_util::SmallConfig;

constexpr double kSplitTol = 1e-5;

struct Variant {
  const char* name;
  bool momentum, muon, weight_norm;
};
const Variant kVariants[] = {{"momentum", true, false, true},
                             {"muon", true, true, false},
                             {"muon_weight_norm", true, true, true},
                             {"plain", false, false, false}};

TEST(LactStackTest, UpdatesChangeTheOutput) {
  // Guard for the split tests: the fast-weight updates must matter, or equal outputs prove little.
  for (const Variant& v : kVariants) {
    LactConfig c = SmallConfig(v.momentum, v.muon, v.weight_norm);
    torch::manual_seed(5);
    torch::Tensor x = torch::randn({70, 32});
    torch::Tensor y =
        LactStack::FromTensors(c, RandomTensors(c, 11)).value().ForwardSequence(x).value();
    LactConfig frozen = c;
    frozen.chunk_size = 1000;  // no update within 70 frames
    torch::Tensor y0 =
        LactStack::FromTensors(frozen, RandomTensors(c, 11)).value().ForwardSequence(x).value();
    const int64_t C = c.chunk_size;
    EXPECT_LT(MaxRelDiff(y.narrow(0, 0, C), y0.narrow(0, 0, C)), 1e-6) << v.name;
    EXPECT_GT(MaxRelDiff(y.narrow(0, C, 70 - C) - x.narrow(0, C, 70 - C),
                         y0.narrow(0, C, 70 - C) - x.narrow(0, C, 70 - C)),
              1e-2)
        << v.name;
    EXPECT_GT(MaxRelDiff(y, x), 1e-2) << v.name;  // the adapter is not the identity here
  }
}

TEST(LactStackTest, AnySplitEqualsWholeSequence) {
  for (const Variant& v : kVariants) {
    LactConfig c = SmallConfig(v.momentum, v.muon, v.weight_norm);
    LactStack stack = RandomStack(c);
    torch::manual_seed(6);
    const int64_t T = 70, C = c.chunk_size;
    torch::Tensor x = torch::randn({T, 32});
    torch::Tensor whole = stack.ForwardSequence(x).value();
    ASSERT_EQ(whole.sizes(), x.sizes());
    for (int64_t piece : {int64_t{1}, int64_t{7}, C - 1, C, C + 1, 2 * C + 3, T}) {
      EXPECT_LT(MaxRelDiff(FeedInPieces(stack, x, FixedPieces(T, piece)), whole), kSplitTol)
          << v.name << " piece " << piece;
    }
    for (uint32_t seed = 0; seed < 5; ++seed) {
      EXPECT_LT(MaxRelDiff(FeedInPieces(stack, x, RandomPieces(T, seed, 2 * C + 5)), whole),
                kSplitTol)
          << v.name << " random split " << seed;
    }
  }
}

TEST(LactStackTest, BatchedStreamsEqualEachAlone) {
  for (const Variant& v : kVariants) {
    LactConfig c = SmallConfig(v.momentum, v.muon, v.weight_norm);
    LactStack stack = RandomStack(c);
    const std::vector<int64_t> lengths = {0, 5, 23, 40, 70, 33};
    const std::vector<int64_t> offsets = {0, 3, 8, 1, 13, 30};  // fed alone first
    const size_t B = lengths.size();
    torch::manual_seed(7);
    std::vector<torch::Tensor> xs, alone;
    for (size_t b = 0; b < B; ++b) {
      xs.push_back(torch::randn({lengths[b] + offsets[b], 32}));
      alone.push_back(stack.ForwardSequence(xs[b]).value());
    }
    std::vector<LactState> states;
    std::vector<std::vector<torch::Tensor>> out(B);
    for (size_t b = 0; b < B; ++b) {
      states.push_back(stack.NewState());
      out[b].push_back(stack.Forward(states[b], xs[b].narrow(0, 0, offsets[b])).value());
    }
    // Then batched calls, each stream with its own random piece sizes (some empty).
    std::vector<std::vector<int64_t>> pieces(B);
    size_t calls = 0;
    for (size_t b = 0; b < B; ++b) {
      pieces[b] = RandomPieces(lengths[b], 100 + b, 2 * c.chunk_size + 3);
      calls = std::max(calls, pieces[b].size());
    }
    std::vector<int64_t> pos(offsets);
    for (size_t call = 0; call < calls; ++call) {
      std::vector<LactState*> ptrs;
      std::vector<torch::Tensor> in;
      for (size_t b = 0; b < B; ++b) {
        const int64_t n = call < pieces[b].size() ? pieces[b][call] : 0;
        ptrs.push_back(&states[b]);
        in.push_back(xs[b].narrow(0, pos[b], n));
        pos[b] += n;
      }
      absl::StatusOr<std::vector<torch::Tensor>> ys = stack.Forward(ptrs, in);
      ASSERT_TRUE(ys.ok()) << ys.status();
      ASSERT_EQ(ys->size(), B);
      for (size_t b = 0; b < B; ++b) {
        ASSERT_EQ((*ys)[b].size(0), in[b].size(0));
        out[b].push_back((*ys)[b]);
      }
    }
    for (size_t b = 0; b < B; ++b) {
      torch::Tensor y = torch::cat(out[b], 0);
      ASSERT_EQ(y.sizes(), alone[b].sizes());
      if (y.numel() > 0) EXPECT_LT(MaxRelDiff(y, alone[b]), kSplitTol) << v.name << " stream " << b;
      LactState ref = stack.NewState();
      stack.Forward(ref, xs[b]).value();
      EXPECT_EQ(states[b].frames(), ref.frames());
      EXPECT_EQ(states[b].pending_frames(), ref.pending_frames());
      EXPECT_LT(MaxRelDiff(states[b].fast_weights(), ref.fast_weights()), kSplitTol);
    }
  }
}

TEST(LactStackTest, PeekEqualsForwardAndLeavesStateUnchanged) {
  for (const Variant& v : kVariants) {
    LactConfig c = SmallConfig(v.momentum, v.muon, v.weight_norm);
    LactStack stack = RandomStack(c);
    torch::manual_seed(8);
    torch::Tensor x = torch::randn({80, 32});
    LactState a = stack.NewState(), b = stack.NewState();
    const int64_t C = c.chunk_size;
    stack.Forward(a, x.narrow(0, 0, C + 5)).value();      // 1 update, 5 frames pending
    stack.Forward(b, x.narrow(0, 0, 2 * C + 4)).value();  // 2 updates, 4 pending
    const torch::Tensor a_fast = a.fast_weights().clone(), b_fast = b.fast_weights().clone();
    const torch::Tensor a_pending = a.pending().clone();
    // a: 2 provisional frames (no update); b: C (completes its chunk: an update inside).
    std::vector<torch::Tensor> extra = {x.narrow(0, C + 5, 2), x.narrow(0, 2 * C + 4, C)};
    absl::StatusOr<std::vector<torch::Tensor>> peek = stack.Peek({&a, &b}, extra);
    ASSERT_TRUE(peek.ok()) << peek.status();
    EXPECT_TRUE(torch::equal(a.fast_weights(), a_fast));
    EXPECT_TRUE(torch::equal(b.fast_weights(), b_fast));
    EXPECT_TRUE(torch::equal(a.pending(), a_pending));
    EXPECT_EQ(a.frames(), C + 5);
    EXPECT_EQ(b.frames(), 2 * C + 4);
    EXPECT_EQ(b.pending_frames(), 4);
    LactState a2 = a.Clone(), b2 = b.Clone();
    std::vector<torch::Tensor> committed = stack.Forward({&a2, &b2}, extra).value();
    EXPECT_LT(MaxRelDiff((*peek)[0], committed[0]), kSplitTol) << v.name;
    EXPECT_LT(MaxRelDiff((*peek)[1], committed[1]), kSplitTol) << v.name;
    // Clone is deep: advancing the copies did not touch the originals.
    EXPECT_TRUE(torch::equal(b.fast_weights(), b_fast));
  }
}

TEST(LactStackTest, ResetReturnsToAFreshStream) {
  LactConfig c = SmallConfig();
  LactStack stack = RandomStack(c);
  torch::manual_seed(9);
  torch::Tensor x = torch::randn({30, 32});
  LactState s = stack.NewState();
  torch::Tensor first = stack.Forward(s, x).value();
  EXPECT_FALSE(torch::equal(s.fast_weights(), stack.NewState().fast_weights()));
  s.Reset();
  EXPECT_EQ(s.frames(), 0);
  EXPECT_EQ(s.pending_frames(), 0);
  EXPECT_TRUE(torch::equal(stack.Forward(s, x).value(), first));
  // NewState copies the slow weights: a stream's updates never leak into the stack.
  EXPECT_TRUE(torch::equal(stack.ForwardSequence(x).value(), first));
}

TEST(LactStackTest, UntrainedIsExactIdentityAndDeterministic) {
  LactConfig c;  // the defaults: D = 768, H = 4, C = 512
  torch::manual_seed(10);
  torch::Tensor x = 3 * torch::randn({600, 768});  // includes one full-chunk update
  LactStack a = LactStack::Untrained(c).value();
  LactStack b = LactStack::Untrained(c).value();
  EXPECT_FALSE(a.trained());
  EXPECT_TRUE(torch::equal(a.ForwardSequence(x).value(), x));
  LactState s = a.NewState();
  for (int64_t piece : {100, 412, 88}) {  // streamed too
    torch::Tensor part = x.narrow(0, s.frames(), piece);
    EXPECT_TRUE(torch::equal(a.Forward(s, part).value(), part));
  }
  TensorMap ta = a.StateDict(), tb = b.StateDict();
  ASSERT_EQ(ta.size(), tb.size());
  for (const auto& [name, t] : ta) EXPECT_TRUE(torch::equal(t, tb.at(name))) << name;
  EXPECT_EQ(ta.size(), 2u * 12u);
  EXPECT_TRUE(torch::equal(ta.at("layers.1.o_proj.weight"), torch::zeros({768, 768})));
  // The fast weights are random (not all zero) and the seed matters.
  EXPECT_GT(ta.at("layers.0.w0").abs().max().item<float>(), 0.1f);
  c.seed = 1;
  EXPECT_FALSE(torch::equal(LactStack::Untrained(c).value().StateDict().at("layers.0.w0"),
                            ta.at("layers.0.w0")));
}

TEST(LactStackTest, LoadWithoutFilesIsUntrainedWithEncoderHiddenSize) {
  const std::string dir = testing_util::TempDir("empty_model");
  absl::StatusOr<LactStack> s = LactStack::Load(dir, 32);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->trained());
  EXPECT_EQ(s->config().hidden_size, 32);
  EXPECT_EQ(s->config().num_lact_heads, 4);
  torch::Tensor x = torch::randn({20, 32});
  EXPECT_TRUE(torch::equal(s->ForwardSequence(x).value(), x));
  // A lact_config.json without hidden_size takes the encoder's too.
  {
    std::ofstream out(dir + "/lact_config.json");
    out << R"({"chunk_size": 4, "use_muon": true})";
  }
  s = LactStack::Load(dir, 32);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->config().hidden_size, 32);
  EXPECT_EQ(s->config().chunk_size, 4);
  EXPECT_TRUE(torch::equal(s->ForwardSequence(x).value(), x));
  // An encoder size the default heads cannot split is an error, not a crash.
  EXPECT_FALSE(LactStack::Load(testing_util::TempDir("odd"), 30).ok());
}

TEST(LactStackTest, StateByteSizeFollowsTheSpecFormula) {
  LactConfig c;  // D = 768, H = 4, L = 2, m = d = 192
  LactStack stack = LactStack::Untrained(c).value();
  LactState s = stack.NewState();
  const int64_t spec = 2 * 4 * (6 * 192 * 192) * 4;  // L·H·(3md weights + 3md momentum)·4
  EXPECT_EQ(s.ByteSize(), spec);
  EXPECT_EQ(spec, 7077888);  // 6.75 MiB
  // The open chunk: per layer and frame k (D) + v (D) + lr (3H) + beta (H) floats.
  torch::Tensor x = torch::randn({5, 768});
  stack.Forward(s, x).value();
  EXPECT_EQ(s.ByteSize(), spec + 2 * 5 * (2 * 768 + 4 * 4) * 4);
  stack.Forward(s, torch::randn({507, 768})).value();  // chunk complete: nothing pending
  EXPECT_EQ(s.ByteSize(), spec);
  c.use_momentum = false;
  EXPECT_EQ(LactStack::Untrained(c).value().NewState().ByteSize(), spec / 2);
  EXPECT_EQ(LactState().ByteSize(), 0);
}

TEST(LactStackTest, SaveThenLoadGivesTheSameStack) {
  LactConfig c = SmallConfig(true, true, true);
  LactStack stack = RandomStack(c);
  const std::string dir = testing_util::TempDir("saved");
  ASSERT_TRUE(stack.Save(dir).ok());
  absl::StatusOr<LactStack> back = LactStack::Load(dir, 32);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->trained());
  EXPECT_EQ(back->config().ToString(), c.ToString());
  torch::manual_seed(12);
  torch::Tensor x = torch::randn({40, 32});
  EXPECT_TRUE(torch::equal(back->ForwardSequence(x).value(), stack.ForwardSequence(x).value()));
  // The encoder's hidden size must match lact_config.json's.
  absl::StatusOr<LactStack> wrong = LactStack::Load(dir, 64);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("hidden_size"), std::string::npos) << wrong.status();
}

TEST(LactStackTest, MissingOrMisshapedKeyIsNamed) {
  LactConfig c = SmallConfig();
  const TensorMap good = RandomTensors(c, 13);
  for (const std::string key : {"layers.0.qkv.weight", "layers.1.w1", "layers.1.momentum_proj.bias",
                                "layers.0.out_norm.weight"}) {
    TensorMap missing = good;
    ASSERT_EQ(missing.erase(key), 1u) << key;
    absl::StatusOr<LactStack> s = LactStack::FromTensors(c, missing);
    ASSERT_FALSE(s.ok()) << key;
    EXPECT_NE(s.status().message().find("'" + key + "'"), std::string::npos) << s.status();
    EXPECT_NE(s.status().message().find("missing"), std::string::npos) << s.status();

    TensorMap misshaped = good;
    misshaped[key] = torch::zeros({good.at(key).size(0) + 1});
    s = LactStack::FromTensors(c, misshaped);
    ASSERT_FALSE(s.ok()) << key;
    EXPECT_NE(s.status().message().find("'" + key + "'"), std::string::npos) << s.status();
    EXPECT_NE(s.status().message().find("shape"), std::string::npos) << s.status();
  }
  // w1 is [H, d, m], not [H, m, d] (m != d here).
  TensorMap swapped = good;
  swapped["layers.0.w1"] = good.at("layers.0.w0").clone();
  absl::StatusOr<LactStack> s = LactStack::FromTensors(c, swapped);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("'layers.0.w1'"), std::string::npos) << s.status();
  // Through a file: the error names the file and the key.
  const std::string dir = testing_util::TempDir("bad_key");
  {
    std::ofstream out(dir + "/lact_config.json");
    out << c.ToJson();
  }
  TensorMap missing = good;
  missing.erase("layers.1.lr_proj.bias");
  ASSERT_TRUE(SaveSafetensors(dir + "/lact.safetensors", missing).ok());
  absl::StatusOr<LactStack> loaded = LactStack::Load(dir, 32);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("'layers.1.lr_proj.bias'"), std::string::npos)
      << loaded.status();
  EXPECT_NE(loaded.status().message().find("lact.safetensors"), std::string::npos);
  // Without momentum, momentum_proj is not needed.
  LactConfig plain = SmallConfig(false);
  TensorMap no_momentum = good;
  for (int l = 0; l < 2; ++l) {
    no_momentum.erase("layers." + std::to_string(l) + ".momentum_proj.weight");
    no_momentum.erase("layers." + std::to_string(l) + ".momentum_proj.bias");
  }
  EXPECT_TRUE(LactStack::FromTensors(plain, no_momentum).ok());
}

TEST(LactStackTest, RejectsBadInputs) {
  LactStack stack = RandomStack(SmallConfig());
  LactState s = stack.NewState();
  EXPECT_FALSE(stack.Forward(s, torch::zeros({4, 31})).ok());
  EXPECT_FALSE(stack.Forward(s, torch::zeros({4})).ok());
  LactState empty;
  EXPECT_FALSE(stack.Forward(empty, torch::zeros({4, 32})).ok());
  EXPECT_FALSE(stack.Forward({&s, &s}, {torch::zeros({1, 32}), torch::zeros({1, 32})}).ok());
  EXPECT_FALSE(stack.Forward({&s}, {}).ok());
  LactStack other = RandomStack(SmallConfig(false));
  LactState foreign = other.NewState();
  EXPECT_FALSE(stack.Forward(foreign, torch::zeros({1, 32})).ok());
  // Zero frames is fine, and double input is converted.
  absl::StatusOr<torch::Tensor> y = stack.Forward(s, torch::zeros({0, 32}));
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->sizes(), (std::vector<int64_t>{0, 32}));
  EXPECT_TRUE(stack.Forward(s, torch::zeros({3, 32}, torch::kDouble)).ok());
  EXPECT_EQ(s.frames(), 3);
}

}  // namespace
}  // namespace lact
