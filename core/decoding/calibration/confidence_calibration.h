// Calibrated confidences: the decoders' raw word confidences (WordInfo::confidence: the beam
// search's posterior of the word at that time, greedy decoding's mean frame posterior) are
// ranked well but over-confident; a model folder may carry a map from raw to calibrated values,
// fitted on dev speech (lact_eval_client --fit_confidence, docs/language_model.md "Calibration").
//
//   DIR/confidence.json   (optional; one section per decoder, each optional)
//   {
//     "beam":   {"word": {"a": 0.52, "b": -0.31}},
//     "greedy": {"word": {"a": 0.80, "b": 0.10}}
//   }
//
// The map is Platt scaling on the logit of the raw value:
//   calibrated = sigmoid(a * logit(clamp(raw, eps, 1 - eps)) + b),   eps = 1e-6, a > 0,
// so it keeps the order of the raw values and lands in (0, 1). A decoder without a section keeps
// its raw values. The transcript's confidence is not mapped (beam search: the transcript's
// posterior among the beam's; greedy: the mean of its calibrated word confidences).
//
// No LibTorch here: lact_eval_client fits and writes maps (target lact_confidence).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact {

inline constexpr char kConfidenceFile[] = "confidence.json";

// calibrated = sigmoid(a * logit(raw) + b); the default (a = 1, b = 0) is the identity.
struct ConfidenceMap {
  double a = 1;
  double b = 0;

  bool identity() const { return a == 1 && b == 0; }
  // In [0, 1] for raw in [0, 1] (NaN counts as 0); exactly raw for the identity.
  double Apply(double raw) const;
  // a finite in (0, 100], b finite in [-100, 100].
  absl::Status Validate() const;
};

// What one decoder's results are mapped with.
struct ConfidenceCalibration {
  ConfidenceMap word;

  bool identity() const { return word.identity(); }
  // Maps every word's confidence of `result` (a CtcResult, core/decoding/ctc_decoder.h); a greedy
  // transcript's confidence (`greedy`) becomes the mean of its mapped words (1 without words), a
  // beam transcript's is kept.
  template <typename Result>
  void Apply(Result* result, bool greedy) const {
    if (identity()) return;
    double sum = 0;
    for (auto& w : result->words) {
      w.confidence = word.Apply(w.confidence);
      sum += w.confidence;
    }
    if (greedy) {
      result->confidence =
          result->words.empty() ? 1.0 : sum / static_cast<double>(result->words.size());
    }
  }
};

// DIR/confidence.json.
struct ConfidenceCalibrationFile {
  std::optional<ConfidenceCalibration> beam;
  std::optional<ConfidenceCalibration> greedy;

  static bool Present(const std::string& model_dir);
  // Reads DIR/confidence.json strictly (unknown keys, bad numbers: InvalidArgument naming the
  // file and key). NotFound when the folder has none.
  static absl::StatusOr<ConfidenceCalibrationFile> Load(const std::string& model_dir);
  // The same for a confidence.json at `path` (NotFound when it cannot be opened).
  static absl::StatusOr<ConfidenceCalibrationFile> LoadFile(const std::string& path);
  // Parses the file's text; `source` names it in errors.
  static absl::StatusOr<ConfidenceCalibrationFile> Parse(const std::string& text,
                                                         const std::string& source);
  std::string ToJson() const;
  // Writes ToJson() to `path` (a file, not a folder).
  absl::Status Write(const std::string& path) const;
};

// Fits a ConfidenceMap to raw confidences and whether each word was right: the maximum-
// likelihood a, b of P(right) = sigmoid(a * logit(raw) + b) (logistic regression on the logit,
// Newton's method with a tiny ridge so a set of only right or only wrong words stays finite).
// InvalidArgument with fewer than 20 words, sizes that differ, or values outside [0, 1];
// FailedPrecondition when the fit decreases with the raw value (a <= 0: the raw values carry no
// ranking to keep).
absl::StatusOr<ConfidenceMap> FitConfidenceMap(const std::vector<double>& raw,
                                               const std::vector<bool>& correct);

}  // namespace lact
