#include "core/streaming/decoding_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/streaming/asr_model.h"

namespace lact {

absl::Status DecodingConfig::Validate() const {
  if (method != "auto" && method != "greedy" && method != "beam") {
    return absl::InvalidArgumentError(
        absl::StrCat("decoder must be auto, greedy or beam, got '", method, "'"));
  }
  CtcBeamSearchOptions o;
  o.beam_size = beam_size;
  o.token_threshold = token_threshold;
  if (!std::isnan(lm_weight)) o.lm_weight = lm_weight;
  if (!std::isnan(word_score)) o.word_score = word_score;
  if (!std::isnan(unk_penalty)) o.unk_penalty = unk_penalty;
  return o.Validate();
}

std::string DecodingConfig::ToString() const {
  auto value = [](double v) { return std::isnan(v) ? std::string("model") : absl::StrCat(v); };
  return absl::StrCat("DecodingConfig(method=", method, ", beam_size=", beam_size,
                      ", token_threshold=", token_threshold, ", lm_weight=", value(lm_weight),
                      ", word_score=", value(word_score), ", unk_penalty=", value(unk_penalty),
                      ", calibrate_confidence=", calibrate_confidence ? "true" : "false", ")");
}

absl::StatusOr<std::optional<CtcBeamSearchOptions>> DecodingConfig::Resolve(
    const AsrModel& model) const {
  if (absl::Status s = Validate(); !s.ok()) return s;
  const auto& lm = model.language_model();
  if (method == "greedy" || (method == "auto" && lm == nullptr)) {
    return std::optional<CtcBeamSearchOptions>();
  }
  CtcBeamSearchOptions o;
  o.beam_size = beam_size;
  o.token_threshold = token_threshold;
  const LanguageModelAttrs attrs = lm ? lm->attrs() : LanguageModelAttrs{};
  o.lm_weight = std::isnan(lm_weight) ? attrs.alpha : lm_weight;
  o.word_score = std::isnan(word_score) ? (lm ? attrs.beta : 0.0) : word_score;
  o.unk_penalty = unk_penalty;
  if (std::isnan(unk_penalty)) {
    // pyctcdecode's price of an unknown word, spread over an average word's tokens (no LM: no
    // lexicon, no unknown words).
    o.unk_penalty = lm ? -o.lm_weight *
                             (lm->lm().UnigramScore(-1) + std::log(10.0) * attrs.unk_score_offset) /
                             kAverageWordTokens
                       : std::numeric_limits<double>::infinity();
  }
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  return std::optional<CtcBeamSearchOptions>(o);
}

}  // namespace lact
