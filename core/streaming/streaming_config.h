// How a stream is cut into encoder windows. Wav2Vec2 attends in both directions, so each step
// runs the encoder on [left context | new audio | lookahead]: frames before the lookahead are
// committed (LaCT may update its fast weights, CTC output is final), lookahead frames are
// provisional (shown in interim results, recomputed next step). Once the input has ended, the
// last window reaches further left to the steady length (left + step + lookahead), so that it
// batches with steady windows (OnlineRecognizer::PlanStep).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace lact {

struct StreamingConfig {
  // Defaults chosen by measurement on the trained demo model with its LM (docs/benchmarks.md,
  // "Streaming window on the demo model", 2026-12-06): against 640/2560/640 the same long-form
  // WER at 36% less CPU per audio second; interims come every 960 ms.
  int step_ms = 960;           // new audio committed per step (and the interim cadence)
  int left_context_ms = 1920;  // already-committed audio the encoder sees again on the left
  int lookahead_ms = 640;      // audio to the right of the committed frames (provisional)
  // Early partials: until a stream's first step (step + lookahead of audio), a provisional-only
  // decode of the audio so far each time this much more has arrived, so the first interim result
  // comes within a few hundred ms instead of after step + lookahead; they commit nothing, so the
  // committed text is the same with or without them (the server feeds the smaller first pieces
  // within its feed_ms blocks, and the normaliser's history blocks are fixed; it skips a partial
  // while the next piece has already arrived, so a late model or a client ahead of real time
  // gets fewer, fresher ones). 0: off.
  int first_partial_ms = 200;
  // Windows of different lengths in one model step (early partials and first and last steps
  // beside the steady windows): "by_length" runs the encoder once per distinct length; "padded"
  // right-pads them to the longest and runs it once, each row masked so that its frames are
  // exactly those of its window alone (Wav2Vec2Model::Encode with lengths); "auto": padded on
  // CUDA (where each call's kernel launches cost more than a short window's frames), by_length
  // on the CPU (whose cost follows the frames, so padding only adds).
  std::string window_batching = "auto";
  // Once the input has ended, the last window reaches back to the steady length (more left
  // context for its frames, and it batches with steady windows). false: it starts left_context
  // before its first uncommitted frame like any other window, which saves re-encoding up to a
  // step of committed audio (Recognize's long windows: a 45 s clip in 20 s steps encodes 1.17x its
  // frames instead of 1.55x).
  bool last_window_reaches_back = true;

  absl::Status Validate() const;
  std::string ToString() const;
  // The sizes in encoder frames for a model with `frame_ms` per frame (20 ms).
  int64_t step_frames(double frame_ms) const;
  int64_t left_frames(double frame_ms) const;
  int64_t lookahead_frames(double frame_ms) const;
  int64_t first_partial_frames(double frame_ms) const;  // 0 when off
  // Whether window_batching pads windows into one encoder call on a model on CUDA or not.
  bool PadsWindows(bool cuda) const;
};

}  // namespace lact
