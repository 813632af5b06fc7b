#include "core/flags/streaming_flags.h"

#include <cstdint>
#include <string>

#include "absl/flags/flag.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(int32_t, step_ms, lact::StreamingConfig{}.step_ms, "Streaming step: new audio committed "
          "per model call and the interim cadence (ms)");
ABSL_FLAG(int32_t, left_context_ms, lact::StreamingConfig{}.left_context_ms,
          "Streaming left context: audio before the step the encoder sees again (ms)");
ABSL_FLAG(int32_t, lookahead_ms, lact::StreamingConfig{}.lookahead_ms,
          "Streaming lookahead: audio after the step the encoder sees before committing it (ms)");
ABSL_FLAG(int32_t, first_partial_ms, lact::StreamingConfig{}.first_partial_ms,
          "Until a stream's first step: a provisional decode each time this much more audio has "
          "arrived, for a fast first interim result (commits nothing; 0: off) (ms)");
ABSL_FLAG(std::string, window_batching, lact::StreamingConfig{}.window_batching,
          "Windows of different lengths in one model step (early partials, first and last steps): "
          "padded (right-padded into one encoder call, each row exact), by_length (one call per "
          "length), or auto (padded on CUDA, by_length on the CPU)");
ABSL_FLAG(int32_t, max_batch, 8, "Most streams decoded together in one model call");
// clang-format on

namespace lact {

StreamingConfig GetStreamingFlags() {
  StreamingConfig c;
  c.step_ms = absl::GetFlag(FLAGS_step_ms);
  c.left_context_ms = absl::GetFlag(FLAGS_left_context_ms);
  c.lookahead_ms = absl::GetFlag(FLAGS_lookahead_ms);
  c.first_partial_ms = absl::GetFlag(FLAGS_first_partial_ms);
  c.window_batching = absl::GetFlag(FLAGS_window_batching);
  return c;
}

int GetMaxBatchFlag() { return absl::GetFlag(FLAGS_max_batch); }

}  // namespace lact
