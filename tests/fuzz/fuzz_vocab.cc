// Fuzz target: vocab.json (core/decoding/vocab.cc, Vocab::FromJsonString), with the default options
// and with config.json's pad_token_id = 0. A vocabulary that loads must be a bijection between ids
// 0..V-1 and tokens, with the blank in range and of kind kBlank.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/decoding/vocab.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

void CheckVocab(const lact::Vocab& v) {
  LACT_FUZZ_CHECK(v.size() >= 1);
  LACT_FUZZ_CHECK(v.blank_id() >= 0 && v.blank_id() < v.size());
  LACT_FUZZ_CHECK(v.kind(v.blank_id()) == lact::Vocab::Kind::kBlank);
  LACT_FUZZ_CHECK(v.word_delimiter_id() < v.size());
  LACT_FUZZ_CHECK(v.unk_id() < v.size());
  for (int64_t i = 0; i < v.size(); ++i) LACT_FUZZ_CHECK(v.id(v.token(i)) == i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(lact::fuzz::AsText(data, size));
  auto by_name = lact::Vocab::FromJsonString(json, lact::VocabOptions(), "vocab.json");
  if (by_name.ok()) CheckVocab(*by_name);
  lact::VocabOptions by_id_options;
  by_id_options.pad_token_id = 0;
  auto by_id = lact::Vocab::FromJsonString(json, by_id_options, "vocab.json");
  if (by_id.ok()) CheckVocab(*by_id);
  return 0;
}
