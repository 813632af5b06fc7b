#include "core/endpointing/endpointing_config.h"

#include "absl/strings/str_cat.h"

namespace lact {
namespace {

constexpr int kMinHistoryMs = 20;     // one frame of a 20 ms model
constexpr int kMaxHistoryMs = 10000;  // a pause longer than this is not a pause to wait for

absl::Status CheckHistory(const char* name, int ms) {
  if (ms >= kMinHistoryMs && ms <= kMaxHistoryMs) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("endpointing: ", name, " must be in [",
                                                 kMinHistoryMs, ", ", kMaxHistoryMs, "] ms, got ",
                                                 ms));
}

absl::Status CheckShare(const char* name, double share) {
  if (share > 0 && share <= 1) return absl::OkStatus();  // also rejects NaN
  return absl::InvalidArgumentError(
      absl::StrCat("endpointing: ", name, " must be in (0, 1], got ", share));
}

}  // namespace

absl::Status EndpointingConfig::Validate() const {
  for (const auto& [name, ms] :
       {std::pair{"start_history", start_history_ms}, std::pair{"stop_history", stop_history_ms},
        std::pair{"stop_history_eou", stop_history_eou_ms}}) {
    if (absl::Status s = CheckHistory(name, ms); !s.ok()) return s;
  }
  for (const auto& [name, share] :
       {std::pair{"start_threshold", start_threshold}, std::pair{"stop_threshold", stop_threshold},
        std::pair{"stop_threshold_eou", stop_threshold_eou}}) {
    if (absl::Status s = CheckShare(name, share); !s.ok()) return s;
  }
  if (stop_history_eou_ms > stop_history_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpointing: stop_history_eou (", stop_history_eou_ms,
                     " ms) must not exceed stop_history (", stop_history_ms, " ms)"));
  }
  if (!(max_utterance_seconds == 0 ||
        (max_utterance_seconds >= 1 && max_utterance_seconds <= 3600))) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpointing: max_utterance_seconds must be 0 (no limit) or in [1, 3600], "
                     "got ",
                     max_utterance_seconds));
  }
  return absl::OkStatus();
}

std::string EndpointingConfig::ToString() const {
  if (!enabled) return "EndpointingConfig(off)";
  return absl::StrCat("EndpointingConfig(start ", start_threshold, " of ", start_history_ms,
                      " ms, stop ", stop_threshold, " of ", stop_history_ms, " ms, eou ",
                      stop_threshold_eou, " of ", stop_history_eou_ms, " ms, max utterance ",
                      max_utterance_seconds, " s)");
}

}  // namespace lact
