#include "core/streaming/online_stream.h"

#include "absl/strings/str_cat.h"
#include "core/streaming/asr_model.h"

namespace lact {

OnlineStream::OnlineStream(std::shared_ptr<const AsrModel> model, const StreamOptions& options,
                           const std::optional<CtcBeamSearchOptions>& beam,
                           const ConfidenceCalibration& calibration)
    : model_(std::move(model)),
      options_(options),
      normalizer_(kWaveformNormEpsilon, int64_t{kNormalizerHistorySeconds} * model_->sample_rate(),
                  int64_t{options.normalizer_block_ms} * model_->sample_rate() / 1000),
      text_(model_->vocab(), model_->language_model(), model_->frame_seconds(), beam,
            UtteranceOptions{options.endpointing, options.speech_events, options.max_alternatives,
                             calibration, options.boost}) {
  if (options_.enable_lact && model_->lact() != nullptr) lact_state_ = model_->lact()->NewState();
}

absl::Status OnlineStream::AcceptWaveform(int sample_rate, const float* samples, size_t n) {
  absl::MutexLock lock(&mu_);
  if (input_finished_) {
    return absl::FailedPreconditionError("audio after InputFinished()");
  }
  if (sample_rate < 1000 || sample_rate > 192000) {
    return absl::InvalidArgumentError(
        absl::StrCat("sample rate ", sample_rate, " Hz outside [1000, 192000]"));
  }
  if (input_rate_ == 0) {
    input_rate_ = sample_rate;
    if (sample_rate != model_->sample_rate()) {
      auto r = Resampler::Create(sample_rate, model_->sample_rate());
      if (!r.ok()) return r.status();
      resampler_.emplace(std::move(*r));
    }
  } else if (sample_rate != input_rate_) {
    return absl::InvalidArgumentError(absl::StrCat("sample rate changed from ", input_rate_, " to ",
                                                   sample_rate, " Hz within a stream"));
  }
  if (n == 0) return absl::OkStatus();
  if (resampler_) {
    std::vector<float> out = resampler_->Process(samples, n);
    normalizer_.Accumulate(out);
    buffer_.insert(buffer_.end(), out.begin(), out.end());
    total_samples_ += static_cast<int64_t>(out.size());
  } else {
    normalizer_.Accumulate(samples, n);
    buffer_.insert(buffer_.end(), samples, samples + n);
    total_samples_ += static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

void OnlineStream::InputFinished() {
  absl::MutexLock lock(&mu_);
  if (input_finished_) return;
  input_finished_ = true;
  if (resampler_) {
    std::vector<float> tail = resampler_->Flush();
    normalizer_.Accumulate(tail);
    buffer_.insert(buffer_.end(), tail.begin(), tail.end());
    total_samples_ += static_cast<int64_t>(tail.size());
  }
}

bool OnlineStream::input_finished() const {
  absl::MutexLock lock(&mu_);
  return input_finished_;
}

int64_t OnlineStream::lact_state_bytes() const { return lact_state_ ? lact_state_->ByteSize() : 0; }

int64_t OnlineStream::buffered_audio_bytes() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(buffer_.capacity() * sizeof(float));
}

double OnlineStream::received_seconds() const {
  absl::MutexLock lock(&mu_);
  return static_cast<double>(total_samples_) / model_->sample_rate();
}

void OnlineStream::Reset() {
  {
    absl::MutexLock lock(&mu_);
    input_rate_ = 0;
    resampler_.reset();
    normalizer_.Reset();
    buffer_.clear();
    buffer_.shrink_to_fit();
    buffer_start_ = 0;
    total_samples_ = 0;
    input_finished_ = false;
  }
  committed_frames_ = 0;
  early_partial_frames_ = 0;
  if (lact_state_ && !options_.keep_lact_state) lact_state_->Reset();
  text_.Reset();
  lact_reset_pending_ = false;
  last_lact_reset_frame_ = -1;
  result_ = RecognitionResult{};
  captured_hidden_.clear();
  captured_lact_.clear();
  captured_logits_.clear();
  captured_windows_.clear();
}

static torch::Tensor CatOrEmpty(const std::vector<torch::Tensor>& parts, int64_t width) {
  if (parts.empty()) return torch::zeros({0, width});
  return torch::cat(parts, 0);
}

torch::Tensor OnlineStream::captured_hidden() const {
  return CatOrEmpty(captured_hidden_, model_->encoder().config().hidden_size);
}
torch::Tensor OnlineStream::captured_lact() const {
  return CatOrEmpty(captured_lact_, model_->encoder().config().hidden_size);
}
torch::Tensor OnlineStream::captured_logits() const {
  return CatOrEmpty(captured_logits_, model_->encoder().config().vocab_size);
}

}  // namespace lact
