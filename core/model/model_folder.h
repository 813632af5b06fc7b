// Writes a model folder in the layout AsrModel::Load reads (core/streaming/asr_model.h): the
// Hugging Face files of a Wav2Vec2ForCTC with the English character vocabulary. Used by the
// trainer, the benchmarks' random models and the tests' generated checkpoints.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/model/safetensors.h"
#include "core/model/wav2vec2_config.h"

namespace lact {

// The 32-token English character vocabulary of wav2vec2-base-960h, in id order
// ("<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", ...).
const std::vector<std::string>& EnglishCharTokens();

// Writes a model folder: config.json, model.safetensors, vocab.json (the 32-token English
// character vocabulary of wav2vec2-base-960h), preprocessor_config.json. The folder is created.
absl::Status WriteModelFolder(const std::string& dir, const Wav2Vec2Config& config,
                              const TensorMap& tensors, bool do_normalize = false);

}  // namespace lact
