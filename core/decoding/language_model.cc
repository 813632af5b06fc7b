#include "core/decoding/language_model.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/util/status_macros.h"
#include "core/util/strict_json.h"

namespace lact {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<LanguageModelAttrs> ReadAttrs(const std::string& path) {
  LanguageModelAttrs attrs;
  std::ifstream f(path);
  if (!f) return attrs;  // optional
  std::stringstream text;
  text << f.rdbuf();
  LACT_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonObject(text.str(), path));
  for (auto [key, out] :
       {std::pair<const char*, double*>{"alpha", &attrs.alpha},
        std::pair<const char*, double*>{"beta", &attrs.beta},
        std::pair<const char*, double*>{"unk_score_offset", &attrs.unk_score_offset}}) {
    LACT_RETURN_IF_ERROR(GetJsonField(j, path, key, out));
    if (!std::isfinite(*out)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": key '", key, "' must be a finite number"));
    }
  }
  if (attrs.alpha < 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": alpha must be >= 0"));
  }
  if (attrs.unk_score_offset > 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unk_score_offset must be <= 0"));
  }
  return attrs;
}

}  // namespace

bool LanguageModel::Present(const std::string& model_dir) {
  std::error_code ec;
  return fs::is_directory(fs::path(model_dir) / "language_model", ec);
}

absl::StatusOr<std::shared_ptr<const LanguageModel>> LanguageModel::Load(
    const std::string& model_dir, const Vocab& vocab) {
  const fs::path dir = fs::path(model_dir) / "language_model";
  std::error_code ec;
  std::vector<fs::path> arpas, bins;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".arpa") arpas.push_back(e.path());
    if (e.path().extension() == ".bin") bins.push_back(e.path());
  }
  if (ec)
    return absl::NotFoundError(absl::StrCat("cannot list ", dir.string(), ": ", ec.message()));
  if (arpas.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir.string(), ": expected exactly one *.arpa n-gram model, found ", arpas.size(),
        bins.empty() ? "" : " (KenLM binary *.bin models are not read: export the ARPA text)"));
  }
  LACT_ASSIGN_OR_RETURN(NgramLm lm, NgramLm::LoadArpa(arpas[0].string()));
  LACT_ASSIGN_OR_RETURN(LanguageModelAttrs attrs, ReadAttrs((dir / "attrs.json").string()));

  std::vector<std::string> words;
  const fs::path unigrams = dir / "unigrams.txt";
  if (fs::exists(unigrams, ec)) {
    std::ifstream f(unigrams);
    if (!f) return absl::NotFoundError(absl::StrCat("cannot open ", unigrams.string()));
    for (std::string line; std::getline(f, line);) {
      absl::string_view w = absl::StripAsciiWhitespace(line);
      if (!w.empty()) words.emplace_back(w);
    }
  } else {
    for (int32_t id = 0; id < lm.num_words(); ++id) {
      if (id == lm.bos_id() || id == lm.eos_id() || id == lm.unk_id()) continue;
      words.push_back(lm.Word(id));
    }
  }
  auto lexicon = Lexicon::Build(words, vocab, lm);
  if (!lexicon.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(dir.string(), ": ", lexicon.status().message()));
  }
  std::shared_ptr<LanguageModel> out(new LanguageModel(std::move(lm), std::move(*lexicon)));
  out->attrs_ = attrs;
  out->arpa_path_ = arpas[0].string();
  return std::shared_ptr<const LanguageModel>(std::move(out));
}

std::string LanguageModel::Describe() const {
  std::string counts;
  for (int n = 1; n <= lm_.order(); ++n) {
    absl::StrAppend(&counts, n > 1 ? ", " : "", lm_.num_ngrams(n), " ", n, "-grams");
  }
  return absl::StrFormat(
      "%s (order %d: %s; lexicon %d words, %d skipped; alpha %g, beta %g, "
      "unk_score_offset %g)",
      arpa_path_, lm_.order(), counts, lexicon_.num_words(), lexicon_.num_skipped(), attrs_.alpha,
      attrs_.beta, attrs_.unk_score_offset);
}

}  // namespace lact
