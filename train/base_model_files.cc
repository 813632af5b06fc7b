#include "train/base_model_files.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace lact::train {
namespace {

constexpr const char* kModelFiles[] = {
    "config.json",           "model.safetensors",       "vocab.json",    "preprocessor_config.json",
    "tokenizer_config.json", "special_tokens_map.json", "language_model"};

}  // namespace

absl::Status CopyBaseModelFiles(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  for (const char* name : kModelFiles) {
    const fs::path src = fs::path(from) / name;
    if (!fs::exists(src)) continue;
    std::error_code ec;
    fs::copy(src, fs::path(to) / name,
             fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    if (ec)
      return absl::InternalError(absl::StrCat("cannot copy ", src.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace lact::train
