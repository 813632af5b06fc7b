// The progress line printed on stderr while the evaluation runs:
//   [eval] 12/40 streams (0 failed) | WER off 6.21% on 5.87% | elapsed 0:14 | ETA 0:33
// On a terminal it is rewritten in place ('\r'); otherwise one line is printed per completed
// stream at most every `min_interval_s` (plus the last), so logs stay readable.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "core/corpus/scoring.h"

namespace lact::eval {

struct ProgressSnapshot {
  int64_t done = 0;   // streams finished, failed ones included
  int64_t total = 0;  // streams the run will make
  int64_t failed = 0;
  std::map<std::string, CorpusScore> by_lact;  // running scores of completed streams
  double elapsed_s = 0;
};

// "0:07", "12:34", "1:02:03".
std::string FormatDuration(double seconds);
// The line's text (no '\r' or newline). ETA = elapsed / done * (total - done).
std::string FormatProgress(const ProgressSnapshot& snapshot);

class ProgressReporter {
 public:
  // `out` may be null (silent). `total` streams are expected.
  ProgressReporter(FILE* out, int64_t total, double min_interval_s = 2.0);
  // Thread-safe: one call per finished stream (`score` null for a failed one).
  void StreamDone(const std::string& lact, const UtteranceScore* score, double elapsed_s);
  // Ends the line (on a terminal) after the last update.
  void Finish();

 private:
  FILE* out_;
  bool tty_;
  double min_interval_s_;
  absl::Mutex mu_;
  ProgressSnapshot snapshot_ ABSL_GUARDED_BY(mu_);
  double last_print_s_ ABSL_GUARDED_BY(mu_) = -1e9;
};

}  // namespace lact::eval
