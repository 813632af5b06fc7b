// The beam-search fixture (tests/fixtures/beam_search: a 32-token vocabulary and a small word
// n-gram LM), loaded once per test process (header only; not a test file itself).
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "absl/strings/str_split.h"
#include "core/model/npy.h"

#include "core/decoding/language_model.h"
#include "core/decoding/vocab.h"

namespace lact {
namespace testing_util {

inline const std::string& BeamSearchFixtureDir() {
  static const std::string dir = std::string(LACT_TEST_FIXTURES) + "/beam_search";
  return dir;
}

inline constexpr double kFixtureFrameSeconds = 0.02;

// The rows of a tab-separated fixture file (comment lines skipped), each with `columns` fields
// (a row with another count fails the test and is left out).
inline std::vector<std::vector<std::string>> FixtureTsv(const std::string& name, size_t columns) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream f(BeamSearchFixtureDir() + "/" + name);
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> c = absl::StrSplit(line, '\t');
    EXPECT_EQ(c.size(), columns) << name << ": " << line;
    if (c.size() == columns) rows.push_back(std::move(c));
  }
  return rows;
}

inline torch::Tensor FixtureLogits(const std::string& file) {
  return ReadNpy(BeamSearchFixtureDir() + "/" + file).value();
}

inline const Vocab& FixtureVocab() {
  static const Vocab* v =
      new Vocab(Vocab::FromJsonFile(BeamSearchFixtureDir() + "/vocab.json").value());
  return *v;
}

inline std::shared_ptr<const LanguageModel> FixtureLm() {
  static auto lm = LanguageModel::Load(BeamSearchFixtureDir(), FixtureVocab()).value();
  return lm;
}

}  // namespace testing_util
}  // namespace lact
