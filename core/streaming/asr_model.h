// A model folder loaded as a whole: the Wav2Vec2 CTC model, its vocabulary and preprocessor
// settings, and the LaCT adapter stack (lact_config.json / lact.safetensors, optional).
//
//   DIR/config.json              Hugging Face Wav2Vec2Config        (required)
//   DIR/model.safetensors        Wav2Vec2ForCTC weights              (required)
//   DIR/vocab.json               CTC vocabulary                      (required)
//   DIR/preprocessor_config.json do_normalize, sampling_rate         (optional)
//   DIR/lact_config.json         LaCT settings                       (optional)
//   DIR/lact.safetensors         LaCT weights                        (optional; absent = identity)
//   DIR/language_model/          word n-gram LM for beam search      (optional;
//   core/decoding/language_model.h)
//   DIR/confidence.json          word confidence calibration         (optional;
//   core/decoding/calibration/confidence_calibration.h)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/decoding/calibration/confidence_calibration.h"
#include "core/decoding/language_model.h"
#include "core/decoding/vocab.h"
#include "core/lact/lact_stack.h"
#include "core/model/wav2vec2_config.h"
#include "core/model/wav2vec2_model.h"

namespace lact {

struct AsrModelOptions {
  std::string device = "cpu";       // "cpu", "cuda", "cuda:N"
  std::string dtype = "float32";    // encoder precision (core/model/precision.h), e.g. "auto"
  bool load_lact = true;            // build the LaCT stack (identity when no weights are present)
  bool load_language_model = true;  // load DIR/language_model/ when present
  // CUDA only: one forward pass (encoder, LaCT, lm_head) over this much silence at load, so the
  // first stream does not pay for cuBLAS handles and kernel loading. 0 disables; ignored on CPU.
  double warmup_seconds = 1.0;

  absl::Status Validate() const;
};

// Parses "cpu" / "cuda" / "cuda:1"; an error when CUDA is asked for and not available.
absl::StatusOr<torch::Device> ParseDevice(const std::string& device);

class AsrModel {
 public:
  static absl::StatusOr<std::shared_ptr<const AsrModel>> Load(const std::string& dir,
                                                              const AsrModelOptions& options = {});

  const Wav2Vec2Model& encoder() const { return encoder_; }
  const Vocab& vocab() const { return vocab_; }
  const Wav2Vec2PreprocessorConfig& preprocessor() const { return preprocessor_; }
  // The LaCT stack, or nullptr when not loaded.
  const LactStack* lact() const { return lact_ ? &*lact_ : nullptr; }
  // True when the folder has LaCT files (lact_config.json or lact.safetensors).
  bool has_lact_files() const { return has_lact_files_; }
  static bool HasLactFiles(const std::string& dir);
  // The folder's language model (DIR/language_model/), or nullptr.
  std::shared_ptr<const LanguageModel> language_model() const { return language_model_; }
  // The folder's confidence.json (both sections empty when it has none).
  const ConfidenceCalibrationFile& confidence_calibration() const { return confidence_; }
  int sample_rate() const { return preprocessor_.sampling_rate; }
  double frame_seconds() const { return encoder_.FrameSeconds(preprocessor_.sampling_rate); }
  torch::Device device() const { return encoder_.device(); }
  const std::string& dir() const { return dir_; }

 private:
  AsrModel(Wav2Vec2Model encoder, Vocab vocab)
      : encoder_(std::move(encoder)), vocab_(std::move(vocab)) {}
  // The warm-up pass of AsrModelOptions::warmup_seconds; a device error becomes a Status.
  absl::Status WarmUp(double seconds) const;

  std::string dir_;
  Wav2Vec2Model encoder_;
  Vocab vocab_;
  Wav2Vec2PreprocessorConfig preprocessor_;
  std::optional<LactStack> lact_;
  bool has_lact_files_ = false;
  std::shared_ptr<const LanguageModel> language_model_;
  ConfidenceCalibrationFile confidence_;
};

}  // namespace lact
