// What a model folder trained on a frozen base model (lact_train modes lact and top_layers)
// carries over from it, so the folder serves as the base model does.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace lact::train {

// Copies config.json, model.safetensors, vocab.json, preprocessor_config.json, the tokenizer
// files and language_model/ (the server decodes with it by default) where `from` has them.
absl::Status CopyBaseModelFiles(const std::string& from, const std::string& to);

}  // namespace lact::train
