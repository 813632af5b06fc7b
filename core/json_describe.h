// A JSON value for an error message, safe for any input: scalars as they are (at most 64
// characters), arrays and objects only by size. nlohmann's dump() recurses once per nesting
// level, so a 30000-deep "[[[...]]]" in a config or vocab.json overflowed the stack while the
// error about it was being written (regression inputs regress-deep-nesting-* in
// tests/fuzz/corpus/fuzz_model_config and fuzz_vocab).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace lact {

inline std::string DescribeJson(const nlohmann::json& v) {
  if (v.is_array()) return absl::StrCat("an array of ", v.size(), " elements");
  if (v.is_object()) return absl::StrCat("an object of ", v.size(), " keys");
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 64) s = absl::StrCat(s.substr(0, 61), "...");
  return s;
}

}  // namespace lact
