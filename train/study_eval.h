// The LaCT study's decoder (issue 20): what lact_server returns for a long stream, computed from
// the cached encoder states (train/encoder_state_cache) instead of the audio. The frozen encoder's
// committed frames do not depend on LaCT, so one cache entry per chapter serves every setting of
// the study (LaCT off, on, without updates, either scope, any trained stack): only the LaCT stack,
// lm_head and the decoder run, seconds per chapter instead of a server pass.
//
// The server's model step, reproduced frame for frame: the committed frames arrive in steps of
// step_frames (OnlineRecognizer commits exactly one step per decode while audio remains, so the
// step boundaries are multiples of step_frames whatever the client's packet sizes), each step goes
// through the LaCT state (LactStack::Forward), lm_head, argmax, and the UtteranceDecoder with the
// server's endpointing; with LactScope::kUtterance the state is reset before the step after an
// utterance ended, as OnlineRecognizer::ApplyLact does. tests/cli/lact_study_test.sh checks the
// words against lact_transcribe --segments on the same audio.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/decoding/ctc_beam_search.h"
#include "core/decoding/ctc_decoder.h"
#include "core/endpointing/endpointing_config.h"
#include "core/lact/lact_stack.h"
#include "core/streaming/asr_model.h"
#include "core/streaming/lact_scope.h"

namespace lact::train {

struct StudyDecodeOptions {
  int64_t step_frames = 32;                  // the window's step (step_ms / frame ms)
  std::optional<CtcBeamSearchOptions> beam;  // beam search (the model's LM), else greedy
  EndpointingConfig endpointing;             // the server's rule (enabled by default there)
  LactScope scope = LactScope::kStream;      // when the LaCT state starts again
};

// What one chapter decodes to: the utterances' words, times from the stream's start.
struct StudyDecodeResult {
  std::vector<WordInfo> words;
  int64_t utterances = 0;
  std::string text;  // the utterances' texts joined by single spaces
};

class StudyDecoder {
 public:
  // `model` gives lm_head, the vocabulary and the LM; `lact` the stack to run (nullptr: LaCT off).
  StudyDecoder(std::shared_ptr<const AsrModel> model, std::shared_ptr<const LactStack> lact,
               const StudyDecodeOptions& options);

  // states: [T, D] float32 committed encoder frames of one stream (EncoderStateCache::Get).
  absl::StatusOr<StudyDecodeResult> Decode(const torch::Tensor& states) const;

 private:
  std::shared_ptr<const AsrModel> model_;
  std::shared_ptr<const LactStack> lact_;
  StudyDecodeOptions options_;
};

// The stack of `model_dir` (lact_config.json + lact.safetensors) with updates switched off: the
// same slow weights, a chunk longer than any stream, so the fast weights keep their initial values
// (the study's "trained adapter without updates" control).
absl::StatusOr<std::shared_ptr<const LactStack>> LoadLactWithoutUpdates(
    const std::string& model_dir, int64_t hidden_size);

}  // namespace lact::train
