// Where speech starts in an utterance's audio, so the time to the first interim result can be
// counted from the speech rather than from the stream's first byte (a partial cannot come before
// there is speech; corpora pad utterances with silence). The rule of tools/first_interim_onset.py:
// the first 10 ms frame whose RMS reaches 10% of the utterance's 95th-percentile frame RMS (20 dB
// below its loud speech). Noise above that level counts as onset, so the estimate errs early and
// the latency from onset errs high.
#pragma once

#include <vector>

namespace lact::eval {

// samples: mono audio at `sample_rate` Hz -> the onset in ms from the first sample; 0 for audio
// shorter than one frame or silent throughout.
double SpeechOnsetMs(const std::vector<float>& samples, int sample_rate);

}  // namespace lact::eval
