// lact_transcribe's two ways through a file: offline (the whole clip at once) or through the
// streaming window (the server's code, the file read a block at a time), with the flags'
// settings.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/streaming/online_recognizer.h"
#include "core/streaming/online_stream.h"

namespace lact {

struct Decoded {
  CtcResult ctc;
  torch::Tensor hidden, lact_out, logits;
  std::vector<UtteranceResult> utterances;  // streaming: as the endpointer cut them
};

struct TranscribeSettings {
  bool use_lact = false;
  bool streaming = false;           // --streaming, or implied by per-utterance output
  double max_offline_seconds = 60;  // longer inputs go through the streaming window
  bool dumping = false;             // --dump-*: keep the frames (inputs within the bound only)
  EndpointingConfig endpointing = EndpointingConfig::Off();
  LactScope lact_scope = LactScope::kStream;
  int max_alternatives = 1;
  std::shared_ptr<const PhraseBoost> boost;  // --boost (null: none)
};

// One file. Offline (not --streaming) when the header says it is at most `max_offline_seconds`
// long, read whole as before; otherwise (--streaming, a longer file, or a header that does not
// say) through the streaming window, read a block at a time. --dump-* only for files within the
// bound (`dumping`): the dumps would grow with the file.
absl::StatusOr<Decoded> TranscribeFile(const OnlineRecognizer& rec, const std::string& path,
                                       const TranscribeSettings& s);

}  // namespace lact
