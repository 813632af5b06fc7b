// lact_bench --profile_ops N: which operators a batched streaming step spends its time in, on any
// device, without an external profiler (issue 23: profile the encoder on the GPU, where Nsight
// Systems may be absent). B streams (--profile_batch) of the test signal, staggered within a
// step, are decoded until their windows are full; then N model steps
// (OnlineRecognizer::RunModelStep: encoder, LaCT, lm_head; not the CTC decoder, which runs on the
// decode threads) run under a RecordFunction observer on this thread:
//   - only top-level operators are timed (those the recognizer calls, not the ones they call
//     inside); on CUDA each is bracketed by device synchronisations, so its time is its kernels'
//     time plus one launch. The timed steps are slower than untimed ones: the table's shares are
//     what it is for, the untimed step time is printed beside it;
//   - operators are grouped by name and input shapes (the shapes tell the encoder's convolution
//     from LaCT's products);
//   - the operators per step are counted at batch 1 and at B: a + b * streams dispatches per step,
//     where b (each a kernel launch or a view) is the model thread's host work per stream.
#pragma once

#include <nlohmann/json.hpp>

#include "core/streaming/online_recognizer.h"

namespace lact::bench {

struct OpProfileOptions {
  int batch = 16;  // streams decoded together in each profiled step
  int steps = 5;   // profiled steps
  bool use_lact = true;
  int max_rows = 25;  // operator groups printed (the JSON holds up to 100)
};

// Prints the table (a line per operator group, by total time); returns it as a JSON object.
nlohmann::json ProfileOps(const OnlineRecognizer& rec, const OpProfileOptions& options);

}  // namespace lact::bench
