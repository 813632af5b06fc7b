// When an utterance starts and ends in a stream, judged on the CTC output of its committed frames
// (the shape of Riva's EndpointingConfig). A frame is a speech frame when its most likely token
// is a character (not the CTC blank, not the word delimiter); the rules look at the share of
// speech frames in a window of the most recent frames:
//   start:  not in an utterance, and speech frames >= start_threshold of the last start_history;
//   end:    in an utterance, and non-speech frames >= stop_threshold of the last stop_history;
//   first-pass end of utterance (an early signal, the utterance goes on): non-speech frames
//           >= stop_threshold_eou of the last stop_history_eou;
//   forced end: the utterance has lasted max_utterance_seconds (speech that never pauses).
// Times are milliseconds of audio; shares are in [0, 1]. See docs/server.md, "Endpointing".
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace lact {

struct EndpointingConfig {
  bool enabled = true;                // false: one utterance per stream, ended by the input's end
  int start_history_ms = 300;         // window of the start rule
  double start_threshold = 0.2;       // share of speech frames that starts an utterance
  int stop_history_ms = 800;          // window of the end rule
  double stop_threshold = 0.98;       // share of non-speech frames that ends it
  int stop_history_eou_ms = 240;      // window of the first-pass end-of-utterance signal
  double stop_threshold_eou = 0.98;   // share of non-speech frames that raises it
  double max_utterance_seconds = 30;  // forced end of an utterance this long (0: no limit)

  // InvalidArgument naming the field: histories in [20, 10000] ms (the eou window at most the
  // stop window), thresholds in (0, 1], max_utterance_seconds 0 or in [1, 3600].
  absl::Status Validate() const;
  // The defaults with enabled = false.
  static EndpointingConfig Off() {
    EndpointingConfig c;
    c.enabled = false;
    return c;
  }
  std::string ToString() const;
};

}  // namespace lact
