// Fuzz target: the model folder's JSON configs. Each input is read as all three files:
//   config.json              Wav2Vec2Config::FromJsonFile (core/model/wav2vec2_config.cc; via a
//   file) preprocessor_config.json Wav2Vec2PreprocessorConfig::FromJsonFile (same file)
//   lact_config.json         LactConfig::FromJsonString (core/lact/lact_config.cc)
// A config that loads is valid, so what the model derives from it must be well defined (no
// overflow: UBSan) and LactConfig must survive ToJson -> FromJsonString unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/lact/lact_config.h"
#include "core/model/wav2vec2_config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static lact::fuzz::ScratchFile scratch(".json");
  const std::string& path = scratch.Write(data, size);

  auto w2v = lact::Wav2Vec2Config::FromJsonFile(path);
  if (w2v.ok()) {
    LACT_FUZZ_CHECK(w2v->Validate().ok());
    LACT_FUZZ_CHECK(w2v->SamplesPerFrame() >= 1);
    LACT_FUZZ_CHECK(w2v->ReceptiveField() >= 1);
    LACT_FUZZ_CHECK(w2v->NumFrames(0) == 0);
    LACT_FUZZ_CHECK(w2v->NumFrames(16000) >= 0);
    LACT_FUZZ_CHECK(w2v->NumFrames(int64_t{1} << 40) >= 0);
    (void)w2v->ToString();
  }

  auto pre = lact::Wav2Vec2PreprocessorConfig::FromJsonFile(path);
  if (pre.ok()) LACT_FUZZ_CHECK(pre->Validate().ok());

  const std::string text(lact::fuzz::AsText(data, size));
  auto lact_config = lact::LactConfig::FromJsonString(text, "lact_config.json", lact::LactConfig());
  if (lact_config.ok()) {
    LACT_FUZZ_CHECK(lact_config->head_dim() >= 1);
    LACT_FUZZ_CHECK(lact_config->inner_dim() >= 1);
    (void)lact_config->ToString();
    auto again = lact::LactConfig::FromJsonString(lact_config->ToJson());
    LACT_FUZZ_CHECK(again.ok());
    LACT_FUZZ_CHECK(again->ToJson() == lact_config->ToJson());
  }
  return 0;
}
