#include "core/flags/boost_flag.h"

#include <cmath>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

// clang-format off
ABSL_FLAG(std::vector<std::string>, boost, {}, "Phrase boosting (needs the beam search): "
          "comma-separated PHRASE:BOOST items, e.g. --boost \"kubernetes:8,new york:4\"; BOOST is "
          "natural log, negative to avoid a phrase, 10 when left out; words outside the lexicon "
          "become possible");
ABSL_FLAG(std::string, boost_file, "", "Phrase boosting from a file: one PHRASE:BOOST (or PHRASE) "
          "per line, '#' comments (with --boost: both lists)");
// clang-format on

namespace lact {

absl::StatusOr<std::pair<std::string, double>> ParseBoostItem(absl::string_view item) {
  item = absl::StripAsciiWhitespace(item);
  double boost = kDefaultPhraseBoost;
  const size_t colon = item.rfind(':');
  if (colon != absl::string_view::npos) {
    const absl::string_view number = absl::StripAsciiWhitespace(item.substr(colon + 1));
    if (!absl::SimpleAtod(number, &boost) || !std::isfinite(boost)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", item, "': the boost after ':' must be a finite number"));
    }
    item = absl::StripAsciiWhitespace(item.substr(0, colon));
  }
  if (item.empty()) return absl::InvalidArgumentError("an empty phrase");
  return std::make_pair(std::string(item), boost);
}

absl::StatusOr<BoostList> ReadBoostFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  BoostList out;
  int line_number = 0;
  for (std::string line; std::getline(f, line);) {
    ++line_number;
    const absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    auto item = ParseBoostItem(l);
    if (!item.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": ", item.status().message()));
    }
    out.push_back(*std::move(item));
  }
  return out;
}

absl::StatusOr<BoostList> GetBoostFlags() {
  BoostList out;
  for (const std::string& item : absl::GetFlag(FLAGS_boost)) {
    auto parsed = ParseBoostItem(item);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--boost: ", parsed.status().message()));
    }
    out.push_back(*std::move(parsed));
  }
  const std::string file = absl::GetFlag(FLAGS_boost_file);
  if (!file.empty()) {
    auto list = ReadBoostFile(file);
    if (!list.ok()) {
      return absl::Status(list.status().code(),
                          absl::StrCat("--boost_file: ", list.status().message()));
    }
    out.insert(out.end(), list->begin(), list->end());
  }
  return out;
}

}  // namespace lact
