#include "core/streaming/streaming_config.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace lact {

absl::Status StreamingConfig::Validate() const {
  if (step_ms < 20 || step_ms > 60000) {
    return absl::InvalidArgumentError(
        absl::StrCat("step_ms must be in [20, 60000], got ", step_ms));
  }
  if (left_context_ms < 0 || left_context_ms > 120000) {
    return absl::InvalidArgumentError(
        absl::StrCat("left_context_ms must be in [0, 120000], got ", left_context_ms));
  }
  if (lookahead_ms < 0 || lookahead_ms > 60000) {
    return absl::InvalidArgumentError(
        absl::StrCat("lookahead_ms must be in [0, 60000], got ", lookahead_ms));
  }
  if (first_partial_ms < 0 || first_partial_ms > 60000) {
    return absl::InvalidArgumentError(
        absl::StrCat("first_partial_ms must be in [0, 60000] (0: off), got ", first_partial_ms));
  }
  if (window_batching != "auto" && window_batching != "padded" && window_batching != "by_length") {
    return absl::InvalidArgumentError(absl::StrCat(
        "window_batching must be auto, padded or by_length, got \"", window_batching, "\""));
  }
  return absl::OkStatus();
}

bool StreamingConfig::PadsWindows(bool cuda) const {
  return window_batching == "padded" || (window_batching == "auto" && cuda);
}

std::string StreamingConfig::ToString() const {
  return absl::StrCat("StreamingConfig(step_ms=", step_ms, ", left_context_ms=", left_context_ms,
                      ", lookahead_ms=", lookahead_ms, ", first_partial_ms=", first_partial_ms,
                      ", window_batching=", window_batching,
                      last_window_reaches_back ? "" : ", last window not reaching back", ")");
}

static int64_t Frames(int ms, double frame_ms) {
  return static_cast<int64_t>(std::ceil(ms / frame_ms - 1e-9));
}
int64_t StreamingConfig::step_frames(double frame_ms) const {
  int64_t f = Frames(step_ms, frame_ms);
  return f < 1 ? 1 : f;
}
int64_t StreamingConfig::left_frames(double frame_ms) const {
  return Frames(left_context_ms, frame_ms);
}
int64_t StreamingConfig::lookahead_frames(double frame_ms) const {
  return Frames(lookahead_ms, frame_ms);
}
int64_t StreamingConfig::first_partial_frames(double frame_ms) const {
  return first_partial_ms > 0 ? std::max<int64_t>(1, Frames(first_partial_ms, frame_ms)) : 0;
}

}  // namespace lact
