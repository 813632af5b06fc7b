// One phase of lact_eval_client: every corpus item sent once with one LaCT setting, by
// `parallel` worker threads, as a StreamingRecognize call (paced by the send options) or, with
// `offline`, as one Recognize call holding the whole item (riva_asr_client's offline mode).
// Each item's result is scored here; failures are collected with their item.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/audio_encoder.h"
#include "client/eval_summary.h"
#include "client/progress.h"
#include "client/stream_client.h"
#include "core/corpus/librispeech.h"

namespace lact::eval {

struct EvalSettings {
  std::string server;
  EncoderOptions encoder;
  StreamConfig stream;
  double timeout_s = 0;  // per call; 0: 60 s + 4x the item's audio
  int parallel = 1;      // calls open at the same time
  bool offline = false;  // Recognize (one message per item) instead of StreamingRecognize
};

// Sends every item once with `lact` ("on", "off" or "auto": enable_lact left to the server),
// appending the results in corpus order and the failures as they come.
void RunPhase(const std::vector<CorpusItem>& items, const std::string& lact,
              const EvalSettings& settings, const StreamClient& client, ProgressReporter* progress,
              std::chrono::steady_clock::time_point run_start,
              std::vector<UtteranceResult>* results, std::vector<FailedStream>* failures);

}  // namespace lact::eval
