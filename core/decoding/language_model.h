// A model folder's word language model for CTC beam search, in the layout of Hugging Face's
// Wav2Vec2ProcessorWithLM (pyctcdecode):
//
//   DIR/language_model/attrs.json    {"alpha": 0.5, "beta": 1.5, "unk_score_offset": -10.0}
//                                    (optional, each key too; other keys such as score_boundary
//                                    are ignored)
//   DIR/language_model/*.arpa        the n-gram model, ARPA text (exactly one; KenLM's binary
//                                    *.bin is not read: use the ARPA it was built from)
//   DIR/language_model/unigrams.txt  the lexicon, one word per line (optional; default: the
//                                    ARPA's unigrams without <s>, </s>, <unk>)
//
// alpha (LM weight) and beta (word insertion bonus) have pyctcdecode's meaning: every word adds
// alpha * ln P(word | history) + beta to a hypothesis' score. unk_score_offset (<= 0) prices a
// word outside the lexicon (core/streaming/decoding_config.h: the beam search's unk_penalty).
// Immutable once loaded; shared by every stream.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/decoding/lexicon.h"
#include "core/decoding/ngram_lm.h"
#include "core/decoding/vocab.h"

namespace lact {

struct LanguageModelAttrs {
  double alpha = 0.5;               // LM weight (pyctcdecode's default)
  double beta = 1.5;                // word insertion bonus (pyctcdecode's default)
  double unk_score_offset = -10.0;  // added to a word outside the lexicon (pyctcdecode's default)
};

class LanguageModel {
 public:
  // True when DIR/language_model/ exists.
  static bool Present(const std::string& model_dir);
  // Loads DIR/language_model/ for a model with `vocab`. Errors name the file.
  static absl::StatusOr<std::shared_ptr<const LanguageModel>> Load(const std::string& model_dir,
                                                                   const Vocab& vocab);

  const NgramLm& lm() const { return lm_; }
  const Lexicon& lexicon() const { return lexicon_; }
  const LanguageModelAttrs& attrs() const { return attrs_; }
  const std::string& arpa_path() const { return arpa_path_; }
  std::string Describe() const;  // one line for logs

 private:
  LanguageModel(NgramLm lm, Lexicon lexicon) : lm_(std::move(lm)), lexicon_(std::move(lexicon)) {}
  NgramLm lm_;
  Lexicon lexicon_;
  LanguageModelAttrs attrs_;
  std::string arpa_path_;
};

}  // namespace lact
