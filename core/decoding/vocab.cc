#include "core/decoding/vocab.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/util/status_macros.h"
#include "core/util/strict_json.h"

namespace lact {

absl::Status VocabOptions::Validate() const {
  const std::pair<const char*, const std::string*> names[] = {
      {"pad_token", &pad_token},
      {"word_delimiter_token", &word_delimiter_token},
      {"unk_token", &unk_token},
      {"bos_token", &bos_token},
      {"eos_token", &eos_token}};
  std::set<std::string> seen;
  for (const auto& [field, value] : names) {
    if (value->empty())
      return absl::InvalidArgumentError(absl::StrCat("vocab: ", field, " is empty"));
    if (!seen.insert(*value).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocab: ", field, " '", *value, "' is also used for another role"));
    }
  }
  return absl::OkStatus();
}

int64_t Vocab::id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

absl::StatusOr<Vocab> Vocab::FromTokens(std::vector<std::string> tokens,
                                        const VocabOptions& options) {
  LACT_RETURN_IF_ERROR(options.Validate());
  if (tokens.empty()) return absl::InvalidArgumentError("vocab: empty vocabulary");
  Vocab v;
  v.tokens_ = std::move(tokens);
  for (size_t i = 0; i < v.tokens_.size(); ++i) {
    if (!v.ids_.emplace(v.tokens_[i], static_cast<int64_t>(i)).second) {
      return absl::InvalidArgumentError(absl::StrCat("vocab: token '", v.tokens_[i],
                                                     "' appears twice (ids ", v.ids_[v.tokens_[i]],
                                                     " and ", i, ")"));
    }
  }
  if (options.pad_token_id >= 0) {
    if (options.pad_token_id >= v.size()) {
      return absl::InvalidArgumentError(absl::StrCat("vocab: pad_token_id ", options.pad_token_id,
                                                     " is outside the vocabulary of size ",
                                                     v.size()));
    }
    v.blank_id_ = options.pad_token_id;
  } else {
    v.blank_id_ = v.id(options.pad_token);
    if (v.blank_id_ < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocab: no pad token '", options.pad_token,
                       "' (the CTC blank); pass its id with pad_token_id"));
    }
  }
  v.delimiter_id_ = v.id(options.word_delimiter_token);
  v.unk_id_ = v.id(options.unk_token);
  if (v.delimiter_id_ == v.blank_id_) v.delimiter_id_ = -1;  // blank wins

  v.kinds_.assign(v.tokens_.size(), Kind::kText);
  for (const std::string* special : {&options.unk_token, &options.bos_token, &options.eos_token}) {
    const int64_t id = v.id(*special);
    if (id >= 0) v.kinds_[static_cast<size_t>(id)] = Kind::kSpecial;
  }
  if (v.delimiter_id_ >= 0) v.kinds_[static_cast<size_t>(v.delimiter_id_)] = Kind::kDelimiter;
  v.kinds_[static_cast<size_t>(v.blank_id_)] = Kind::kBlank;
  return v;
}

absl::StatusOr<Vocab> Vocab::FromJsonString(const std::string& json, const VocabOptions& options,
                                            const std::string& source) {
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("vocab '", source, "': ", what));
  };
  // nlohmann keeps the last of two equal keys silently: catch duplicate tokens while parsing.
  std::string duplicate_token;
  std::set<std::string> keys;
  nlohmann::json::parser_callback_t on_event = [&](int depth, nlohmann::json::parse_event_t event,
                                                   nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!keys.insert(key).second && duplicate_token.empty()) duplicate_token = key;
    }
    return true;
  };
  nlohmann::json doc = nlohmann::json::parse(json, on_event, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return error("not valid JSON");
  if (!duplicate_token.empty()) {
    return error(absl::StrCat("token '", duplicate_token, "' appears twice"));
  }
  if (!doc.is_object()) return error("expected a JSON object {token: id}");
  if (doc.empty()) return error("empty vocabulary");

  std::vector<std::string> tokens(doc.size());
  std::vector<bool> filled(doc.size(), false);
  for (const auto& [token, value] : doc.items()) {
    if (value.is_object()) {
      return error(absl::StrCat("value of '", token,
                                "' is an object: multi-language (nested) vocabularies are not "
                                "supported"));
    }
    if (!value.is_number_integer()) {
      return error(
          absl::StrCat("id of token '", token, "' is not an integer: ", DescribeJson(value)));
    }
    const int64_t id = value.get<int64_t>();
    if (id < 0) return error(absl::StrCat("id of token '", token, "' is negative: ", id));
    if (id >= static_cast<int64_t>(tokens.size())) {
      return error(absl::StrCat("ids must be 0..", tokens.size() - 1, " without gaps, but token '",
                                token, "' has id ", id));
    }
    if (filled[static_cast<size_t>(id)]) {
      return error(absl::StrCat("duplicate id ", id, " (tokens '", tokens[static_cast<size_t>(id)],
                                "' and '", token, "')"));
    }
    tokens[static_cast<size_t>(id)] = token;
    filled[static_cast<size_t>(id)] = true;
  }
  // N distinct ids, each in [0, N): every slot is filled, so there is no gap.
  absl::StatusOr<Vocab> vocab = FromTokens(std::move(tokens), options);
  if (!vocab.ok()) {
    return error(std::string(absl::StripPrefix(vocab.status().message(), "vocab: ")));
  }
  return vocab;
}

absl::StatusOr<Vocab> Vocab::FromJsonFile(const std::string& path, const VocabOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("vocab file not found: '", path, "'"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot open vocab file '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return FromJsonString(buffer.str(), options, path);
}

}  // namespace lact
