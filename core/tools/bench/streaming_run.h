// lact_bench (b)+(d): S real-time streams against the real recognizer with a max-batch policy:
// step latency percentiles, whether real time held, memory per stream. The JSON row's keys are
// what docs/benchmarks.md and tools/gpu_bench.sh read.
#pragma once

#include <nlohmann/json.hpp>

#include "core/streaming/online_recognizer.h"

namespace lact::bench {

// S streams of `seconds` of audio each, staggered over one step, decoded on this thread in
// batches of at most max_batch ready streams (oldest first); prints two lines, returns the row.
nlohmann::json Streaming(const OnlineRecognizer& rec, bool use_lact, int S, double seconds,
                         int max_batch);

}  // namespace lact::bench
