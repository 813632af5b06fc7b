// Helpers shared by the LaCT tests (header only; not a test file itself).
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/lact/lact_stack.h"

namespace lact {
namespace testing_util {

// tests/fixtures' tiny_group model + the lact_momentum adapter (chunk 16) in one model folder
// under the test temp dir, one per process and `name`: ctest -j runs tests in parallel processes,
// which used to overwrite each other's copy mid-read (a DATA_LOSS flake in CI).
inline std::string TinyLactModelDir(const std::string& fixtures, const std::string& name) {
  namespace fs = std::filesystem;
  const std::string dir = ::testing::TempDir() + "/" + name + "_" + std::to_string(::getpid());
  fs::create_directories(dir);
  for (const char* f :
       {"config.json", "model.safetensors", "vocab.json", "preprocessor_config.json"}) {
    fs::copy_file(fixtures + "/tiny_group/" + f, dir + "/" + f,
                  fs::copy_options::overwrite_existing);
  }
  for (const char* f : {"lact_config.json", "lact.safetensors"}) {
    fs::copy_file(fixtures + "/lact_momentum/" + f, dir + "/" + f,
                  fs::copy_options::overwrite_existing);
  }
  return dir;
}

inline double MaxAbs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

// max |a - b| / max |b|
inline double MaxRelDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return MaxAbs(a.to(torch::kDouble) - b.to(torch::kDouble)) / MaxAbs(b);
}

// A small config: D = 32, H = 4 (d = 8), m = 12 (m != d catches transpositions), C = 16 (as the
// Python fixtures; with C < m the Muon step acts on rank-deficient updates and amplifies float32
// rounding far beyond what the real C = 512 sees).
inline LactConfig SmallConfig(bool momentum = true, bool muon = false, bool weight_norm = true) {
  LactConfig c;
  c.hidden_size = 32;
  c.num_lact_heads = 4;
  c.inter_multi = 1.5;
  c.chunk_size = 16;
  c.lr_scale = 0.1;
  c.use_momentum = momentum;
  c.use_muon = muon;
  c.weight_norm = weight_norm;
  return c;
}

// The untrained initialisation with every parameter made non-trivial (o_proj random, norms and
// biases perturbed), as trained weights would be.
inline TensorMap RandomTensors(const LactConfig& c, uint64_t seed) {
  TensorMap t = LactStack::Untrained(c).value().StateDict();
  torch::manual_seed(seed);
  const double D = static_cast<double>(c.hidden_size);
  for (auto& [name, value] : t) {
    const std::string leaf = name.substr(name.find('.', name.find('.') + 1) + 1);
    if (leaf == "norm.weight" || leaf == "out_norm.weight") {
      value = 1 + 0.25 * torch::randn_like(value);
    } else if (leaf == "norm.bias") {
      value = 0.2 * torch::randn_like(value);
    } else if (leaf == "o_proj.weight") {
      value = torch::randn_like(value) / std::sqrt(D);
    } else if (leaf == "lr_proj.weight" || leaf == "momentum_proj.weight") {
      value = 0.5 / std::sqrt(D) * torch::randn_like(value);
    } else if (leaf == "lr_proj.bias" || leaf == "momentum_proj.bias") {
      value = value + 0.3 * torch::randn_like(value);
    }
  }
  return t;
}

inline LactStack RandomStack(const LactConfig& c, uint64_t seed = 11) {
  absl::StatusOr<LactStack> s = LactStack::FromTensors(c, RandomTensors(c, seed));
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

// Splits [0, T) into consecutive piece lengths.
inline std::vector<int64_t> FixedPieces(int64_t T, int64_t piece) {
  std::vector<int64_t> p;
  for (int64_t a = 0; a < T; a += piece) p.push_back(std::min(piece, T - a));
  return p;
}
inline std::vector<int64_t> RandomPieces(int64_t T, uint32_t seed, int64_t max_piece) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> len(0, max_piece);  // includes empty pieces
  std::vector<int64_t> p;
  for (int64_t a = 0; a < T;) {
    const int64_t n = std::min(len(rng), T - a);
    p.push_back(n);
    a += n;
  }
  return p;
}

// Feeds x [T, D] to a fresh state in the given pieces; returns the concatenated output.
inline torch::Tensor FeedInPieces(const LactStack& stack, const torch::Tensor& x,
                                  const std::vector<int64_t>& pieces) {
  LactState s = stack.NewState();
  std::vector<torch::Tensor> ys;
  int64_t a = 0;
  for (int64_t n : pieces) {
    absl::StatusOr<torch::Tensor> y = stack.Forward(s, x.narrow(0, a, n));
    EXPECT_TRUE(y.ok()) << y.status();
    EXPECT_EQ(y->size(0), n);
    ys.push_back(*y);
    a += n;
  }
  EXPECT_EQ(s.frames(), x.size(0));
  EXPECT_EQ(s.pending_frames(), x.size(0) % stack.config().chunk_size);
  return torch::cat(ys, 0);
}

// A fresh empty directory under the test temp dir.
inline std::string TempDir(const std::string& name) {
  std::filesystem::path p = std::filesystem::path(::testing::TempDir()) / ("lact_" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace testing_util
}  // namespace lact
