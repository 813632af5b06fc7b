// --boost and --boost_file: phrase boosting lists for lact_transcribe and lact_eval_client (no
// LibTorch). A list item is "PHRASE:BOOST" (BOOST a number, natural log, may be negative) or
// "PHRASE" alone (boost kDefaultPhraseBoost); docs/language_model.md, "Phrase boosting".
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lact {

inline constexpr double kDefaultPhraseBoost = 10.0;

// (phrase, boost) pairs.
using BoostList = std::vector<std::pair<std::string, double>>;

// One "PHRASE[:BOOST]" item; InvalidArgument for an empty phrase or a BOOST that is not a
// finite number.
absl::StatusOr<std::pair<std::string, double>> ParseBoostItem(absl::string_view item);
// A file of items, one per line; blank lines and lines starting with '#' are skipped. Errors name
// the file and line.
absl::StatusOr<BoostList> ReadBoostFile(const std::string& path);
// --boost (comma-separated items) then --boost_file's lines. Errors name the flag.
absl::StatusOr<BoostList> GetBoostFlags();

}  // namespace lact
