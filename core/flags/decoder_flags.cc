#include "core/flags/decoder_flags.h"

#include <cstdint>
#include <string>

#include "absl/flags/flag.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(std::string, decoder, lact::DecodingConfig{}.method,
          "auto|greedy|beam: CTC decoding (auto: lexicon beam search with the model folder's "
          "language_model/ when it has one, else greedy; beam without one: lexicon-free beam "
          "search; docs/language_model.md)");
ABSL_FLAG(int32_t, beam_size, lact::DecodingConfig{}.beam_size,
          "Beam search: hypotheses kept per frame (CPU time per stream grows with it)");
ABSL_FLAG(double, lm_weight, lact::DecodingConfig{}.lm_weight,
          "Beam search: LM weight alpha (nan: the model's language_model/attrs.json)");
ABSL_FLAG(double, word_score, lact::DecodingConfig{}.word_score,
          "Beam search: word insertion bonus beta (nan: the model's language_model/attrs.json)");
ABSL_FLAG(double, unk_penalty, lact::DecodingConfig{}.unk_penalty,
          "Beam search: subtracted (natural log) per character of a word outside the lexicon; "
          "inf: closed vocabulary (nan: pyctcdecode's price of an unknown word from the LM's "
          "<unk> and attrs.json's unk_score_offset, spread over 6 characters; "
          "docs/language_model.md)");
ABSL_FLAG(double, token_threshold, lact::DecodingConfig{}.token_threshold,
          "Beam search: tokens more than this (natural log) below a frame's best are not tried");
ABSL_FLAG(bool, calibrate_confidence, lact::DecodingConfig{}.calibrate_confidence,
          "Map word confidences with the model folder's confidence.json when it has one (false: "
          "the decoder's raw values, e.g. to fit a new map with lact_eval_client --fit_confidence)");
// clang-format on

namespace lact {

DecodingConfig GetDecoderFlags() {
  DecodingConfig c;
  c.method = absl::GetFlag(FLAGS_decoder);
  c.beam_size = absl::GetFlag(FLAGS_beam_size);
  c.lm_weight = absl::GetFlag(FLAGS_lm_weight);
  c.word_score = absl::GetFlag(FLAGS_word_score);
  c.unk_penalty = absl::GetFlag(FLAGS_unk_penalty);
  c.token_threshold = absl::GetFlag(FLAGS_token_threshold);
  c.calibrate_confidence = absl::GetFlag(FLAGS_calibrate_confidence);
  return c;
}

}  // namespace lact
