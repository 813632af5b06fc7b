// The beam-search fixture (tests/fixtures/beam_search: a 32-token vocabulary and a small word
// n-gram LM), loaded once per test process (header only; not a test file itself).
#pragma once

#include <memory>
#include <string>

#include "core/decoding/language_model.h"
#include "core/decoding/vocab.h"

namespace lact {
namespace testing_util {

inline const std::string& BeamSearchFixtureDir() {
  static const std::string dir = std::string(LACT_TEST_FIXTURES) + "/beam_search";
  return dir;
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
