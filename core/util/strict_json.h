// Strict reading of the small JSON files of a model folder (config.json, lact_config.json,
// preprocessor_config.json, vocab.json, language_model/attrs.json): one parser entry and one set
// of typed field readers, so that every file rejects the same bad input with the same kind of
// error, naming the file and the key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact {

// A JSON value for an error message, safe for any input: scalars as they are (at most 64
// characters), arrays and objects only by size. nlohmann's dump() recurses once per nesting
// level, so a 30000-deep "[[[...]]]" in a config or vocab.json overflowed the stack while the
// error about it was being written (regression inputs regress-deep-nesting-* in
// tests/fuzz/corpus/fuzz_model_config and fuzz_vocab).
std::string DescribeJson(const nlohmann::json& v);

// `text` parsed as a JSON object; otherwise InvalidArgument "SOURCE: not a JSON object".
absl::StatusOr<nlohmann::json> ParseJsonObject(const std::string& text, const std::string& source);
// The file at `path` parsed as a JSON object; NotFound when it cannot be opened.
absl::StatusOr<nlohmann::json> ReadJsonObjectFile(const std::string& path);

// Reads j[key] into *out when the key is present and not null (otherwise *out is kept). A value
// of the wrong type is InvalidArgument "SOURCE: key 'KEY' must be WHAT, got VALUE". Integers are
// strict: a JSON integer in the type's range, or a float with an integral value in it (512.0;
// some writers emit every number as a float). nlohmann's own get<T>() would convert 1e300 to an
// integer (undefined behaviour; tests/fuzz/corpus/fuzz_model_config/regress-*), wrap 2^32 to 0
// for an int and truncate 1.5 to 1: those are errors here. Numbers are not booleans and
// booleans are not numbers.
absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          int* out);
absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          int64_t* out);
absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          double* out);
absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          bool* out);
absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          std::string* out);
absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          std::vector<int64_t>* out);

}  // namespace lact
