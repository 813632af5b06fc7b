// How CTC output becomes text: greedy (best path) or lexicon beam search with the model
// folder's word language model (core/decoding/ctc_beam_search.h). Validated at the edge (flags),
// resolved against a loaded model by the recognizer.
#pragma once

#include <limits>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/decoding/ctc_beam_search.h"

namespace lact {

class AsrModel;

// pyctcdecode's AVG_TOKEN_LEN: the characters of an average word.
inline constexpr double kAverageWordTokens = 6.0;

struct DecodingConfig {
  // "auto": beam search when the model folder has a language_model/, greedy otherwise;
  // "greedy": always greedy; "beam": beam search (lexicon-free, without an LM, when the folder
  // has no language_model/).
  std::string method = "auto";
  int beam_size = 100;  // pyctcdecode's default beam width
  double token_threshold = 8.0;
  // NaN: the language model's attrs.json value (alpha, beta), else pyctcdecode's defaults.
  double lm_weight = std::numeric_limits<double>::quiet_NaN();
  double word_score = std::numeric_limits<double>::quiet_NaN();
  // Subtracted per character (token) of a word outside the lexicon (>= 0; inf: closed
  // vocabulary). NaN: pyctcdecode's price of an unknown word, lm_weight * (ln p(<unk>) +
  // ln(10) * unk_score_offset) with attrs.json's offset (-10 when it has none), spread over
  // kAverageWordTokens: per token -lm_weight * (ln p(<unk>) + ln(10) * offset) / 6.
  double unk_penalty = std::numeric_limits<double>::quiet_NaN();
  // Map word confidences with the model folder's confidence.json (its section for the decoder in
  // use; core/decoding/calibration/confidence_calibration.h); false: the decoders' raw values.
  bool calibrate_confidence = true;

  absl::Status Validate() const;
  std::string ToString() const;
  // The beam-search options for `model`, or nullopt for greedy decoding. Without a language
  // model the beam search has no LM: word_score defaults to 0 there.
  absl::StatusOr<std::optional<CtcBeamSearchOptions>> Resolve(const AsrModel& model) const;
};

}  // namespace lact
