#include "core/streaming/asr_model.h"

#include <cstdio>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/model/model_errors.h"
#include "core/util/status_macros.h"

namespace lact {

absl::Status AsrModelOptions::Validate() const {
  if (!(warmup_seconds >= 0 && warmup_seconds <= 60)) {
    return absl::InvalidArgumentError(
        absl::StrCat("warmup_seconds must be in [0, 60], got ", warmup_seconds));
  }
  LACT_ASSIGN_OR_RETURN(torch::Device parsed, ParseDevice(device));
  return ResolvePrecision(dtype, parsed).status();
}

absl::StatusOr<torch::Device> ParseDevice(const std::string& device) {
  if (device == "cpu") return torch::Device(torch::kCPU);
  if (device == "cuda" || absl::StartsWith(device, "cuda:")) {
    int index = 0;
    if (device.size() > 5 && !absl::SimpleAtoi(device.substr(5), &index)) {
      return absl::InvalidArgumentError(absl::StrCat("bad device '", device, "'"));
    }
    if (!torch::cuda::is_available()) {
      return absl::FailedPreconditionError(
          absl::StrCat("device '", device, "' asked for, but this LibTorch has no CUDA device"));
    }
    if (index < 0 || index >= static_cast<int>(torch::cuda::device_count())) {
      return absl::InvalidArgumentError(absl::StrCat("no CUDA device ", index));
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("device must be 'cpu', 'cuda' or 'cuda:N', got '", device, "'"));
}

bool AsrModel::HasLactFiles(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / "lact_config.json", ec) ||
         std::filesystem::exists(std::filesystem::path(dir) / "lact.safetensors", ec);
}

absl::StatusOr<std::shared_ptr<const AsrModel>> AsrModel::Load(const std::string& dir,
                                                               const AsrModelOptions& options) {
  LACT_RETURN_IF_ERROR(options.Validate());
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("model folder '", dir, "' does not exist"));
  }
  for (const char* required : {"config.json", "model.safetensors", "vocab.json"}) {
    if (!fs::exists(fs::path(dir) / required, ec)) {
      return absl::NotFoundError(absl::StrCat("model folder '", dir, "' has no ", required,
                                              " (expected a Hugging Face Wav2Vec2ForCTC folder)"));
    }
  }
  LACT_ASSIGN_OR_RETURN(torch::Device device, ParseDevice(options.device));
  LACT_ASSIGN_OR_RETURN(Precision precision, ResolvePrecision(options.dtype, device));
  LACT_ASSIGN_OR_RETURN(Wav2Vec2Model encoder, Wav2Vec2Model::Load(dir, device, precision));

  VocabOptions vocab_options;
  vocab_options.pad_token_id = encoder.config().pad_token_id;
  LACT_ASSIGN_OR_RETURN(Vocab vocab, Vocab::FromJsonFile(dir + "/vocab.json", vocab_options));
  if (vocab.size() != encoder.config().vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(dir, "/vocab.json has ", vocab.size(),
                                                   " tokens but config.json's vocab_size is ",
                                                   encoder.config().vocab_size));
  }
  std::shared_ptr<AsrModel> model(new AsrModel(std::move(encoder), std::move(vocab)));
  model->dir_ = dir;
  const std::string preprocessor = dir + "/preprocessor_config.json";
  if (fs::exists(preprocessor, ec)) {
    LACT_ASSIGN_OR_RETURN(model->preprocessor_,
                          Wav2Vec2PreprocessorConfig::FromJsonFile(preprocessor));
  }
  model->has_lact_files_ = HasLactFiles(dir);
  if (options.load_lact) {
    LACT_ASSIGN_OR_RETURN(LactStack stack,
                          LactStack::Load(dir, model->encoder_.config().hidden_size, device));
    stack.set_tf32_products(LactProductsInTf32(precision, device));
    stack.set_bf16_projections(LactProjectionsInBf16(precision, device, stack.config().use_muon));
    model->lact_.emplace(std::move(stack));
  }
  if (options.load_language_model && LanguageModel::Present(dir)) {
    LACT_ASSIGN_OR_RETURN(model->language_model_, LanguageModel::Load(dir, model->vocab_));
  }
  if (ConfidenceCalibrationFile::Present(dir)) {
    LACT_ASSIGN_OR_RETURN(model->confidence_, ConfidenceCalibrationFile::Load(dir));
  }
  if (device.is_cuda() && options.warmup_seconds > 0) {
    LACT_RETURN_IF_ERROR(model->WarmUp(options.warmup_seconds));
  }
  return std::shared_ptr<const AsrModel>(std::move(model));
}

absl::Status AsrModel::WarmUp(double seconds) const {
  torch::InferenceMode guard;
  try {
    const int64_t n = static_cast<int64_t>(seconds * sample_rate());
    torch::Tensor hidden = encoder_.Encode(torch::zeros({1, n}));  // [1, T, D]
    if (lact_) {
      LactState state = lact_->NewState();
      std::vector<LactState*> states = {&state};
      LACT_RETURN_IF_ERROR(lact_->Forward(states, {hidden[0]}).status());
    }
    (void)encoder_.Logits(hidden).argmax(-1).to(torch::kCPU);  // waits for the device
  } catch (...) {
    return ModelCallStatus(std::current_exception(),
                           absl::StrCat("warm-up pass on ", encoder_.device().str(), " failed"));
  }
  return absl::OkStatus();
}

}  // namespace lact
