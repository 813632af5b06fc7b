// How a stream is cut into encoder windows. Wav2Vec2 attends in both directions, so each step
// runs the encoder on [left context | new audio | lookahead]: frames before the lookahead are
// committed (LaCT may update its fast weights, CTC output is final), lookahead frames are
// provisional (shown in interim results, recomputed next step).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace lact {

struct StreamingConfig {
  // Defaults chosen by measurement: see docs/benchmarks.md ("Streaming window").
  int step_ms = 640;           // new audio committed per step (and the interim cadence)
  int left_context_ms = 2560;  // already-committed audio the encoder sees again on the left
  int lookahead_ms = 640;      // audio to the right of the committed frames (provisional)

  absl::Status Validate() const;
  std::string ToString() const;
  // The sizes in encoder frames for a model with `frame_ms` per frame (20 ms).
  int64_t step_frames(double frame_ms) const;
  int64_t left_frames(double frame_ms) const;
  int64_t lookahead_frames(double frame_ms) const;
};

}  // namespace lact
