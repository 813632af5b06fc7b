#include "client/confidence_fit.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace lact::eval {

absl::StatusOr<ConfidenceFit> FitWordConfidence(const CalibrationTally& tally) {
  absl::StatusOr<ConfidenceMap> map = FitConfidenceMap(tally.confidences(), tally.correct());
  if (!map.ok()) return map.status();
  ConfidenceFit fit;
  fit.map = *map;
  fit.before = tally.Summary();
  CalibrationTally mapped;
  for (size_t i = 0; i < tally.confidences().size(); ++i) {
    mapped.Add(map->Apply(tally.confidences()[i]), tally.correct()[i]);
  }
  fit.after = mapped.Summary();
  return fit;
}

absl::Status WriteConfidenceFit(const std::string& path, const std::string& decoder,
                                const ConfidenceMap& map) {
  if (decoder != "beam" && decoder != "greedy") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown decoder '", decoder, "' (want beam or greedy)"));
  }
  ConfidenceCalibrationFile file;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    absl::StatusOr<ConfidenceCalibrationFile> old = ConfidenceCalibrationFile::LoadFile(path);
    if (!old.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          old.status().message(), " (not overwritten: remove it or pick another path)"));
    }
    file = *old;
  }
  ConfidenceCalibration calibration;
  calibration.word = map;
  (decoder == "beam" ? file.beam : file.greedy) = calibration;
  return file.Write(path);
}

}  // namespace lact::eval
