#include "core/util/strict_json.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lact {
namespace {

absl::Status WrongType(const std::string& source, const char* key, const nlohmann::json& v,
                       const char* want) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": key '", key, "' must be ", want, ", got ", DescribeJson(v)));
}

template <typename T>
bool ToInteger(const nlohmann::json& v, T* out) {
  static_assert(std::is_integral_v<T> && std::is_signed_v<T>);
  constexpr int64_t kMin = std::numeric_limits<T>::min();
  constexpr int64_t kMax = std::numeric_limits<T>::max();
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(kMax)) return false;
    *out = static_cast<T>(u);
    return true;
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i < kMin || i > kMax) return false;
    *out = static_cast<T>(i);
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15 ||
        d < static_cast<double>(kMin) || d > static_cast<double>(kMax)) {
      return false;
    }
    *out = static_cast<T>(d);
    return true;
  }
  return false;
}

// j[key], or nullptr when absent or null.
const nlohmann::json* Find(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

template <typename T>
absl::Status GetInteger(const nlohmann::json& j, const std::string& source, const char* key,
                        T* out) {
  const nlohmann::json* v = Find(j, key);
  if (v != nullptr && !ToInteger(*v, out)) return WrongType(source, key, *v, "an integer");
  return absl::OkStatus();
}

// A field whose JSON value must satisfy `is_type` (described as `expected` in the error).
template <typename T>
absl::Status GetTyped(const nlohmann::json& j, const std::string& source, const char* key,
                      bool (nlohmann::json::*is_type)() const noexcept, const char* expected,
                      T* out) {
  const nlohmann::json* v = Find(j, key);
  if (v == nullptr) return absl::OkStatus();
  if (!(v->*is_type)()) return WrongType(source, key, *v, expected);
  *out = v->get<T>();
  return absl::OkStatus();
}

}  // namespace

std::string DescribeJson(const nlohmann::json& v) {
  if (v.is_array()) return absl::StrCat("an array of ", v.size(), " elements");
  if (v.is_object()) return absl::StrCat("an object of ", v.size(), " keys");
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 64) s = absl::StrCat(s.substr(0, 61), "...");
  return s;
}

absl::StatusOr<nlohmann::json> ParseJsonObject(const std::string& text, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  }
  return j;
}

absl::StatusOr<nlohmann::json> ReadJsonObjectFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseJsonObject(ss.str(), path);
}

absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          int* out) {
  return GetInteger(j, source, key, out);
}

absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          int64_t* out) {
  return GetInteger(j, source, key, out);
}

absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          double* out) {
  return GetTyped(j, source, key, &nlohmann::json::is_number, "a number", out);
}

absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          bool* out) {
  return GetTyped(j, source, key, &nlohmann::json::is_boolean, "true or false", out);
}

absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          std::string* out) {
  return GetTyped(j, source, key, &nlohmann::json::is_string, "a string", out);
}

absl::Status GetJsonField(const nlohmann::json& j, const std::string& source, const char* key,
                          std::vector<int64_t>* out) {
  const nlohmann::json* v = Find(j, key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_array()) return WrongType(source, key, *v, "an array of integers");
  std::vector<int64_t> values(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    if (!ToInteger((*v)[i], &values[i])) return WrongType(source, key, *v, "an array of integers");
  }
  *out = std::move(values);
  return absl::OkStatus();
}

}  // namespace lact
