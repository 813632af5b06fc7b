#include "core/flags/endpointing_flags.h"

#include <cstdint>

#include "absl/flags/flag.h"
#include "core/flags/endpointing_mode_flag.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(int32_t, endpointing_start_history_ms, lact::EndpointingConfig{}.start_history_ms,
          "Endpointing: window of the start rule (ms)");
ABSL_FLAG(double, endpointing_start_threshold, lact::EndpointingConfig{}.start_threshold,
          "Endpointing: share of speech frames in the start window that starts an utterance");
ABSL_FLAG(int32_t, endpointing_stop_history_ms, lact::EndpointingConfig{}.stop_history_ms,
          "Endpointing: window of the end rule (ms): the pause that ends an utterance");
ABSL_FLAG(double, endpointing_stop_threshold, lact::EndpointingConfig{}.stop_threshold,
          "Endpointing: share of non-speech frames in the stop window that ends an utterance");
ABSL_FLAG(int32_t, endpointing_stop_history_eou_ms, lact::EndpointingConfig{}.stop_history_eou_ms,
          "Endpointing: window of the first-pass end-of-utterance signal (ms)");
ABSL_FLAG(double, endpointing_stop_threshold_eou, lact::EndpointingConfig{}.stop_threshold_eou,
          "Endpointing: share of non-speech frames that raises the first-pass signal");
ABSL_FLAG(double, max_utterance_seconds, lact::EndpointingConfig{}.max_utterance_seconds,
          "An utterance this long gets its final even in speech that never pauses (0: no limit)");
// clang-format on

namespace lact {

absl::StatusOr<EndpointingConfig> GetEndpointingFlags(bool enabled_default) {
  EndpointingConfig c;
  auto mode = GetEndpointingModeFlag();
  if (!mode.ok()) return mode.status();
  c.enabled = mode->value_or(enabled_default);
  c.start_history_ms = absl::GetFlag(FLAGS_endpointing_start_history_ms);
  c.start_threshold = absl::GetFlag(FLAGS_endpointing_start_threshold);
  c.stop_history_ms = absl::GetFlag(FLAGS_endpointing_stop_history_ms);
  c.stop_threshold = absl::GetFlag(FLAGS_endpointing_stop_threshold);
  c.stop_history_eou_ms = absl::GetFlag(FLAGS_endpointing_stop_history_eou_ms);
  c.stop_threshold_eou = absl::GetFlag(FLAGS_endpointing_stop_threshold_eou);
  c.max_utterance_seconds = absl::GetFlag(FLAGS_max_utterance_seconds);
  if (absl::Status s = c.Validate(); !s.ok()) return s;
  return c;
}

}  // namespace lact
