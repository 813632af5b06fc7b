#include "core/decoding/calibration/confidence_calibration.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"
#include "core/util/strict_json.h"

namespace lact {
namespace {

constexpr double kEps = 1e-6;
constexpr double kRidge = 1e-3;  // toward the identity map (a = 1, b = 0)
constexpr size_t kMinWords = 20;

double Logit(double p) {
  p = std::clamp(std::isnan(p) ? 0.0 : p, kEps, 1 - kEps);
  return std::log(p / (1 - p));
}

double Sigmoid(double z) {
  return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z));
}

// Negative log-likelihood of the labels under (a, b), plus the ridge.
double Loss(const std::vector<double>& x, const std::vector<bool>& y, double a, double b) {
  double loss = 0.5 * kRidge * ((a - 1) * (a - 1) + b * b);
  for (size_t i = 0; i < x.size(); ++i) {
    const double z = a * x[i] + b;
    // log(1 + exp(-z)) for a right word, log(1 + exp(z)) for a wrong one, overflow-free.
    const double s = y[i] ? -z : z;
    loss += s > 0 ? s + std::log1p(std::exp(-s)) : std::log1p(std::exp(s));
  }
  return loss;
}

absl::StatusOr<ConfidenceMap> ParseMap(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": must be an object with a, b"));
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "a" && key != "b") {
      return absl::InvalidArgumentError(absl::StrCat(source, ": unknown key '", key, "'"));
    }
  }
  ConfidenceMap m;
  if (!j.contains("a") || !j.contains("b")) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": needs both 'a' and 'b'"));
  }
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "a", &m.a));
  LACT_RETURN_IF_ERROR(GetJsonField(j, source, "b", &m.b));
  const absl::Status valid = m.Validate();
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", valid.message()));
  return m;
}

absl::StatusOr<ConfidenceCalibration> ParseSection(const nlohmann::json& j,
                                                   const std::string& source) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": must be an object"));
  }
  ConfidenceCalibration c;
  for (const auto& [key, value] : j.items()) {
    if (key != "word") {
      return absl::InvalidArgumentError(absl::StrCat(source, ": unknown key '", key, "'"));
    }
    LACT_ASSIGN_OR_RETURN(c.word, ParseMap(value, absl::StrCat(source, ".word")));
  }
  return c;
}

nlohmann::json SectionJson(const ConfidenceCalibration& c) {
  return {{"word", {{"a", c.word.a}, {"b", c.word.b}}}};
}

// The parsed confidence.json object; `source` names it in errors.
absl::StatusOr<ConfidenceCalibrationFile> FromJson(const nlohmann::json& j,
                                                   const std::string& source) {
  ConfidenceCalibrationFile file;
  for (const auto& [key, value] : j.items()) {
    if (key == "beam") {
      LACT_ASSIGN_OR_RETURN(file.beam, ParseSection(value, absl::StrCat(source, ": beam")));
    } else if (key == "greedy") {
      LACT_ASSIGN_OR_RETURN(file.greedy, ParseSection(value, absl::StrCat(source, ": greedy")));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": unknown key '", key, "' (a decoder: \"beam\" or \"greedy\")"));
    }
  }
  return file;
}

}  // namespace

double ConfidenceMap::Apply(double raw) const {
  if (std::isnan(raw)) raw = 0;
  raw = std::clamp(raw, 0.0, 1.0);
  if (identity()) return raw;
  return Sigmoid(a * Logit(raw) + b);
}

absl::Status ConfidenceMap::Validate() const {
  if (!std::isfinite(a) || a <= 0 || a > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("a must be in (0, 100] (a map keeps the order of confidences), got ", a));
  }
  if (!std::isfinite(b) || b < -100 || b > 100) {
    return absl::InvalidArgumentError(absl::StrCat("b must be in [-100, 100], got ", b));
  }
  return absl::OkStatus();
}

bool ConfidenceCalibrationFile::Present(const std::string& model_dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(model_dir) / kConfidenceFile, ec);
}

absl::StatusOr<ConfidenceCalibrationFile> ConfidenceCalibrationFile::Load(
    const std::string& model_dir) {
  return LoadFile((std::filesystem::path(model_dir) / kConfidenceFile).string());
}

absl::StatusOr<ConfidenceCalibrationFile> ConfidenceCalibrationFile::LoadFile(
    const std::string& path) {
  LACT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonObjectFile(path));
  return FromJson(j, path);
}

absl::StatusOr<ConfidenceCalibrationFile> ConfidenceCalibrationFile::Parse(
    const std::string& text, const std::string& source) {
  LACT_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonObject(text, source));
  return FromJson(j, source);
}

std::string ConfidenceCalibrationFile::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  if (beam) j["beam"] = SectionJson(*beam);
  if (greedy) j["greedy"] = SectionJson(*greedy);
  return j.dump(2) + "\n";
}

absl::Status ConfidenceCalibrationFile::Write(const std::string& path) const {
  std::ofstream f(path, std::ios::trunc);
  f << ToJson();
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<ConfidenceMap> FitConfidenceMap(const std::vector<double>& raw,
                                               const std::vector<bool>& correct) {
  if (raw.size() != correct.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(raw.size(), " confidences for ", correct.size(), " right/wrong labels"));
  }
  if (raw.size() < kMinWords) {
    return absl::InvalidArgumentError(
        absl::StrCat("a confidence map needs at least ", kMinWords, " words, got ", raw.size()));
  }
  std::vector<double> x(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!(raw[i] >= 0 && raw[i] <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat("confidence ", raw[i], " outside [0, 1]"));
    }
    x[i] = Logit(raw[i]);
  }
  double a = 1, b = 0;
  double loss = Loss(x, correct, a, b);
  for (int iter = 0; iter < 200; ++iter) {
    // Gradient g and Hessian H of the loss in (a, b).
    double ga = kRidge * (a - 1), gb = kRidge * b;
    double haa = kRidge, hab = 0, hbb = kRidge;
    for (size_t i = 0; i < x.size(); ++i) {
      const double p = Sigmoid(a * x[i] + b);
      const double r = p - (correct[i] ? 1.0 : 0.0);
      const double w = p * (1 - p);
      ga += r * x[i];
      gb += r;
      haa += w * x[i] * x[i];
      hab += w * x[i];
      hbb += w;
    }
    const double det = haa * hbb - hab * hab;
    double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    double step = 1;  // halved until the loss does not rise (Newton can overshoot when w ~ 0)
    while (step > 1e-8 && Loss(x, correct, a - step * da, b - step * db) > loss) step /= 2;
    a -= step * da;
    b -= step * db;
    const double next = Loss(x, correct, a, b);
    const bool converged = std::abs(step * da) < 1e-10 && std::abs(step * db) < 1e-10;
    loss = next;
    if (converged) break;
  }
  if (!(a > 0)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the words' correctness falls as their confidence rises (fitted a = ", a,
                     "): these confidences carry no ranking a calibration could keep"));
  }
  ConfidenceMap m{std::min(a, 100.0), std::clamp(b, -100.0, 100.0)};
  return m;
}

}  // namespace lact
