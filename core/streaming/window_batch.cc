// OnlineRecognizer's model step, its first half: each ready stream's window is planned
// (TakeWindows), normalised from its buffer into a row of the encoder's batch (CopyWindow), and
// encoded (EncodeWindows): one encoder call per distinct window length, or one call for every
// window right-padded to the longest (StreamingConfig::window_batching). The rest of the step
// (LaCT, lm_head, the decoders) is in online_recognizer.cc.
#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/streaming/online_recognizer.h"
#include "core/util/status_macros.h"

namespace lact {

// Each ready stream's plan and where its window's samples are (EncodeWindows copies them).
absl::Status OnlineRecognizer::TakeWindows(const std::vector<OnlineStream*>& streams,
                                           std::vector<StreamStep>* steps) const {
  const int64_t rf = model_->encoder().config().ReceptiveField();
  for (OnlineStream* s : streams) {
    if (s == nullptr || !IsReady(*s)) continue;
    StreamStep w;
    w.stream = s;
    w.plan = PlanStep(*s);
    absl::MutexLock lock(&s->mu_);
    w.finished = s->input_finished_;
    const int64_t n_frames = w.plan.window_end_frame - w.plan.window_start_frame;
    if (n_frames > 0) {
      const int64_t begin = w.plan.window_start_frame * samples_per_frame_;
      const int64_t length = (n_frames - 1) * samples_per_frame_ + rf;
      const int64_t offset = begin - s->buffer_start_;
      if (offset < 0 || offset + length > static_cast<int64_t>(s->buffer_.size())) {
        return absl::InternalError(
            absl::StrCat("stream window [", begin, ", ", begin + length, ") outside its buffer"));
      }
      w.window_begin = begin;
      w.window_samples = length;
    }
    steps->push_back(std::move(w));
  }
  return absl::OkStatus();
}

// One encoder call per distinct window length (steady state: all streams share one), or, when
// StreamingConfig::PadsWindows, one call for every window, right-padded to the longest (each row
// exact: Wav2Vec2Model::Encode with lengths). Each window is normalised straight from its stream's
// buffer into its row of the batch, which is pinned host memory when the model is on CUDA (a
// faster copy to the device).
absl::Status OnlineRecognizer::EncodeWindows(std::vector<StreamStep>& steps,
                                             EncoderStepStats* stats) const {
  std::map<int64_t, std::vector<size_t>> by_length;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].window_samples > 0) by_length[steps[i].window_samples].push_back(i);
  }
  const bool padded = by_length.size() > 1 && config_.PadsWindows(model_->device().is_cuda());
  if (padded) {  // one group: the longest length, every window
    std::vector<size_t> all;
    for (const auto& [length, members] : by_length)
      all.insert(all.end(), members.begin(), members.end());
    const int64_t longest = by_length.rbegin()->first;
    by_length.clear();
    by_length[longest] = std::move(all);
  }
  stats->calls = static_cast<int>(by_length.size());
  const Wav2Vec2Config& ec = model_->encoder().config();
  const auto options =
      torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(model_->device().is_cuda());
  for (const auto& [length, members] : by_length) {
    const int64_t B = static_cast<int64_t>(members.size());
    // [B, S]: padding zeroed (masked out of every valid frame; zeros keep it finite).
    torch::Tensor batch =
        padded ? torch::zeros({B, length}, options) : torch::empty({B, length}, options);
    std::vector<int64_t> lengths(static_cast<size_t>(B));  // [B] valid samples
    for (int64_t j = 0; j < B; ++j) {
      LACT_RETURN_IF_ERROR(CopyWindow(steps[members[j]], batch.data_ptr<float>() + j * length));
      steps[members[j]].window = batch[j].narrow(0, 0, steps[members[j]].window_samples);
      lengths[static_cast<size_t>(j)] = steps[members[j]].window_samples;
      stats->window_frames += ec.NumFrames(steps[members[j]].window_samples);
    }
    stats->padding_frames += B * ec.NumFrames(length);  // all computed: the windows' taken below
    // [B, T, D] float32 (Encode converts the batch to lm_head's and LaCT's dtype). A padded
    // row's frames after its own are padding (SplitCommitted takes only the window's frames).
    const torch::Tensor hidden = padded ? model_->encoder().Encode(batch, torch::tensor(lengths))
                                        : model_->encoder().Encode(batch);
    for (int64_t j = 0; j < B; ++j) steps[members[j]].hidden = hidden[j];
  }
  stats->padding_frames -= stats->window_frames;
  return absl::OkStatus();
}

absl::Status OnlineRecognizer::CopyWindow(const StreamStep& w, float* out) const {
  OnlineStream& s = *w.stream;
  absl::MutexLock lock(&s.mu_);
  const int64_t offset = w.window_begin - s.buffer_start_;
  if (offset < 0 || offset + w.window_samples > static_cast<int64_t>(s.buffer_.size())) {
    return absl::InternalError(absl::StrCat("stream window [", w.window_begin, ", ",
                                            w.window_begin + w.window_samples,
                                            ") left its buffer while the step ran"));
  }
  const float* in = s.buffer_.data() + offset;
  if (model_->preprocessor().do_normalize) {
    s.normalizer_.NormalizeFloat32(in, w.window_samples, out);
  } else {
    std::copy(in, in + w.window_samples, out);
  }
  return absl::OkStatus();
}

}  // namespace lact
