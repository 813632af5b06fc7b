// lact_bench --profile_steps N: where a streaming step's time goes (issue 22). One stream of the
// test signal is decoded step by step through the recognizer (the real step, full windows only),
// and the parts of such a step are timed alone on the same window, N times each (medians):
//   normalise    the waveform normaliser over the window (models with do_normalize)
//   conv         the convolutional feature encoder, feature projection and positional
//                convolution (Wav2Vec2Model::EncodeBelow(window, 0))
//   transformer  the transformer layers (Encode minus conv)
//   lact         the LaCT stack over the committed frames (states advance), when on
//   lm_head      the CTC head over the committed and lookahead frames
//   decode       the CTC decoder (the recognizer's: greedy or LM beam search) over the committed
//                frames, then the provisional text over the lookahead ones
//   other        the real step minus the parts: window assembly, copies, bookkeeping
#pragma once

#include <nlohmann/json.hpp>

#include "core/streaming/online_recognizer.h"

namespace lact::bench {

// Prints the profile (a line per part, ms and share of the step); returns it as a JSON row.
nlohmann::json ProfileStep(const OnlineRecognizer& rec, bool use_lact, int repeats);

}  // namespace lact::bench
