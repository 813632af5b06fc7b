// Warm-up of a streaming recognizer before it serves (issue 22): the first pass through a fresh
// process pays for the CPU's kernel selection and primitive caches (oneDNN), allocator growth and
// the language model's first pages, per tensor shape; on the CPU that made a first LibriSpeech
// pass 13x slower than the second. WarmUpRecognizer runs streams of generated audio through the
// recognizer as the server's model worker does: every window length a stream's life produces (the
// first windows growing to the full left context, the steady window, the final flush), for batch
// sizes 1, 2, 4, ... up to max_batch, with the streams' LaCT and decoder, within a time budget.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/streaming/online_recognizer.h"

namespace lact {

struct WarmUpOptions {
  int max_batch = 8;  // the server's --max_batch
  // Batch size 1 always runs (0: nothing runs); a larger size starts only within the budget.
  absl::Duration budget = absl::Seconds(10);
  StreamOptions stream;  // as the server creates streams (LaCT, endpointing)

  absl::Status Validate() const;
};

struct WarmUpReport {
  std::vector<int> batch_sizes;  // warmed, in order
  int64_t decodes = 0;           // DecodeStreams calls
  double seconds = 0;
  bool complete = false;  // every batch size up to max_batch ran within the budget
  std::string ToString() const;
};

// The batch sizes warmed: 1, 2, 4, ... below max_batch, then max_batch.
std::vector<int> WarmUpBatchSizes(int max_batch);

// Runs the warm-up; an error only when a decode fails (e.g. the device is out of memory).
absl::StatusOr<WarmUpReport> WarmUpRecognizer(const OnlineRecognizer& recognizer,
                                              const WarmUpOptions& options);

}  // namespace lact
