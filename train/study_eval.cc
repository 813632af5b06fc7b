#include "train/study_eval.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/streaming/utterance_decoder.h"
#include "core/util/status_macros.h"

namespace lact::train {

StudyDecoder::StudyDecoder(std::shared_ptr<const AsrModel> model,
                           std::shared_ptr<const LactStack> lact, const StudyDecodeOptions& options)
    : model_(std::move(model)), lact_(std::move(lact)), options_(options) {}

absl::StatusOr<StudyDecodeResult> StudyDecoder::Decode(const torch::Tensor& states) const {
  const int64_t D = model_->encoder().config().hidden_size;
  if (states.dim() != 2 || states.size(1) != D) {
    return absl::InvalidArgumentError(
        absl::StrCat("study decode: states must be [T, ", D, "], got ", states.dim(), " dims"));
  }
  if (options_.step_frames < 1) return absl::InvalidArgumentError("step_frames must be >= 1");
  torch::InferenceMode guard;
  UtteranceOptions utterance;
  utterance.endpointing = options_.endpointing;
  UtteranceDecoder text(model_->vocab(), model_->language_model(), model_->frame_seconds(),
                        options_.beam, utterance);
  std::optional<LactState> state;
  if (lact_) state.emplace(lact_->NewState());
  bool reset_pending = false;
  const torch::Tensor x_all = states.to(model_->device(), torch::kFloat);  // [T, D]
  for (int64_t start = 0; start < x_all.size(0); start += options_.step_frames) {
    const int64_t n = std::min(options_.step_frames, x_all.size(0) - start);
    torch::Tensor x = x_all.narrow(0, start, n);  // [n, D]: one step's committed frames
    if (state) {
      if (reset_pending) state->Reset();  // LactScope::kUtterance: the utterance before ended
      reset_pending = false;
      LACT_ASSIGN_OR_RETURN(x, lact_->Forward(*state, x));
    }
    torch::Tensor logits = model_->encoder().Logits(x.unsqueeze(0))[0].to(torch::kCPU);  // [n, V]
    torch::Tensor ids = logits.argmax(-1);                                               // [n]
    const bool ended = text.Accept(ids, options_.beam ? logits : torch::Tensor());
    reset_pending = ended && options_.scope == LactScope::kUtterance;
  }
  text.Finish();
  StudyDecodeResult out;
  for (UtteranceResult& u : text.TakeUtterances()) {
    if (u.text.empty()) continue;
    ++out.utterances;
    absl::StrAppend(&out.text, out.text.empty() ? "" : " ", u.text);
    for (WordInfo& w : u.words) out.words.push_back(std::move(w));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const LactStack>> LoadLactWithoutUpdates(
    const std::string& model_dir, int64_t hidden_size) {
  LACT_ASSIGN_OR_RETURN(LactStack stack, LactStack::Load(model_dir, hidden_size));
  LactConfig config = stack.config();
  config.chunk_size = int64_t{1} << 30;  // never fills: no update ever runs
  LACT_ASSIGN_OR_RETURN(LactStack frozen, LactStack::FromTensors(config, stack.StateDict()));
  return std::make_shared<const LactStack>(std::move(frozen));
}

}  // namespace lact::train
