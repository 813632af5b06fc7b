// lact_eval_client --fit_confidence: the word-confidence map of the server's decoder fitted on an
// evaluation's words (Platt scaling, core/decoding/calibration/confidence_calibration.h) and
// written into a model folder's confidence.json (docs/language_model.md, "Calibration").
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/calibration.h"
#include "core/decoding/calibration/confidence_calibration.h"

namespace lact::eval {

struct ConfidenceFit {
  ConfidenceMap map;
  CalibrationSummary before;  // the fitted words with their raw confidences
  CalibrationSummary after;   // the same words mapped
};

// Fits a map to the words of `tally` (their raw confidences and whether each was right). Errors
// from FitConfidenceMap (too few words, a map that would invert the ranking).
absl::StatusOr<ConfidenceFit> FitWordConfidence(const CalibrationTally& tally);

// Sets the word map of `decoder` ("beam" or "greedy", GetRecognitionConfigResponse.decoder) in the
// confidence.json at `path`: the file is created, or its other section is kept. An existing file
// that does not parse is an error (it is not overwritten).
absl::Status WriteConfidenceFit(const std::string& path, const std::string& decoder,
                                const ConfidenceMap& map);

}  // namespace lact::eval
