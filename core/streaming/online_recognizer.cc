#include "core/streaming/online_recognizer.h"

#include <algorithm>
#include <exception>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/model_errors.h"
#include "core/util/status_macros.h"

namespace lact {

OnlineRecognizer::OnlineRecognizer(std::shared_ptr<const AsrModel> model,
                                   const StreamingConfig& config,
                                   std::optional<CtcBeamSearchOptions> beam,
                                   ConfidenceCalibration calibration)
    : model_(std::move(model)), config_(config), beam_(std::move(beam)), calibration_(calibration) {
  samples_per_frame_ = model_->encoder().config().SamplesPerFrame();
  const double frame_ms = model_->frame_seconds() * 1000.0;
  step_frames_ = config_.step_frames(frame_ms);
  left_frames_ = config_.left_frames(frame_ms);
  lookahead_frames_ = config_.lookahead_frames(frame_ms);
  first_partial_frames_ = config_.first_partial_frames(frame_ms);
}

absl::StatusOr<std::unique_ptr<OnlineRecognizer>> OnlineRecognizer::Create(
    std::shared_ptr<const AsrModel> model, const StreamingConfig& config,
    const DecodingConfig& decoding) {
  if (model == nullptr) return absl::InvalidArgumentError("no model");
  LACT_RETURN_IF_ERROR(config.Validate());
  LACT_ASSIGN_OR_RETURN(std::optional<CtcBeamSearchOptions> beam, decoding.Resolve(*model));
  const ConfidenceCalibrationFile& file = model->confidence_calibration();
  auto calibration_for = [&](bool beam_search) {
    if (!decoding.calibrate_confidence) return ConfidenceCalibration{};
    return (beam_search ? file.beam : file.greedy).value_or(ConfidenceCalibration{});
  };
  std::optional<CtcBeamSearchOptions> request_beam;
  if (!beam && decoding.method == "auto") {  // greedy for want of an LM: beam search on request
    DecodingConfig lexicon_free = decoding;
    lexicon_free.method = "beam";
    LACT_ASSIGN_OR_RETURN(request_beam, lexicon_free.Resolve(*model));
  }
  auto rec = std::unique_ptr<OnlineRecognizer>(
      new OnlineRecognizer(std::move(model), config, beam, calibration_for(beam.has_value())));
  rec->request_beam_ = std::move(request_beam);
  rec->request_calibration_ = calibration_for(true);
  return rec;
}

OnlineRecognizer::Decoder OnlineRecognizer::DecoderFor(bool wants_beam) const {
  if (!beam_ && wants_beam && request_beam_) return {&request_beam_, &request_calibration_};
  return {&beam_, &calibration_};
}

std::unique_ptr<OnlineStream> OnlineRecognizer::CreateStream(const StreamOptions& options) const {
  StreamOptions o = options;
  if (o.normalizer_block_ms <= 0) o.normalizer_block_ms = config_.step_ms;
  const Decoder d = DecoderFor(o.boost != nullptr || o.max_alternatives > 1);
  return std::unique_ptr<OnlineStream>(new OnlineStream(model_, o, *d.beam, *d.calibration));
}

StepPlan OnlineRecognizer::PlanStep(const OnlineStream& stream) const {
  const Progress p = ProgressOf(stream);
  const bool finished = p.finished;
  const int64_t available = p.available;  // frames whose samples have all arrived
  StepPlan plan;
  const int64_t committed = stream.committed_frames_;
  plan.window_start_frame = std::max<int64_t>(0, committed - left_frames_);
  if (!p.full_step) {
    // Not a full step yet (an early partial): every frame so far provisional, none committed.
    plan.commit_end_frame = committed;
    plan.window_end_frame = available;
    return plan;
  }
  // Commit at most one step per decode so the window (and its memory) stays bounded even when
  // audio arrives faster than real time; IsReady stays true while a backlog remains.
  int64_t commit_end = finished ? available : available - lookahead_frames_;
  commit_end = std::min(commit_end, committed + step_frames_);
  plan.commit_end_frame = std::max(commit_end, committed);
  plan.window_end_frame = std::min(available, plan.commit_end_frame + lookahead_frames_);
  if (finished) {
    if (plan.window_end_frame <= committed) {  // nothing left to decode: no encoder call
      plan.window_start_frame = plan.window_end_frame;
      return plan;
    }
    if (!config_.last_window_reaches_back) return plan;
    // The last window, shorter than a steady one (less than step + lookahead left), reaches
    // further back so that it is the steady length: it joins the steady windows' encoder call
    // (one call per distinct length) and its frames see more context. DropConsumedAudio keeps
    // the audio for it.
    plan.window_start_frame = std::max<int64_t>(
        0, std::min(plan.window_start_frame, plan.window_end_frame - SteadyWindowFrames()));
  }
  return plan;
}

int64_t OnlineRecognizer::SteadyWindowFrames() const {
  return left_frames_ + step_frames_ + lookahead_frames_;
}

OnlineRecognizer::Progress OnlineRecognizer::ProgressOf(const OnlineStream& stream) const {
  Progress p;
  {
    absl::MutexLock lock(&stream.mu_);
    p.finished = stream.input_finished_;
    p.available = model_->encoder().config().NumFrames(stream.total_samples_);
  }
  p.full_step =
      p.finished || p.available - lookahead_frames_ - stream.committed_frames_ >= step_frames_;
  return p;
}

bool OnlineRecognizer::HasFullStep(const OnlineStream& stream) const {
  return !stream.result_.is_final && ProgressOf(stream).full_step;
}

bool OnlineRecognizer::IsReady(const OnlineStream& stream) const {
  if (stream.result_.is_final) return false;
  const Progress p = ProgressOf(stream);
  if (p.full_step) return true;  // a step to commit (or, finished, the rest and the final flag)
  // An early partial is due before the first step, each first_partial_frames_ of new audio.
  return first_partial_frames_ > 0 && stream.committed_frames_ == 0 &&
         p.available >= stream.early_partial_frames_ + first_partial_frames_;
}

absl::Status OnlineRecognizer::DecodeStreams(const std::vector<OnlineStream*>& streams) const {
  LACT_ASSIGN_OR_RETURN(std::vector<PendingStep> pending, RunModelStep(streams));
  for (const PendingStep& p : pending) FinishStep(p);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PendingStep>> OnlineRecognizer::RunModelStep(
    const std::vector<OnlineStream*>& streams, EncoderStepStats* stats) const {
  EncoderStepStats unused;
  if (stats == nullptr) stats = &unused;
  *stats = EncoderStepStats();
  torch::InferenceMode guard;
  std::vector<StreamStep> steps;
  LACT_RETURN_IF_ERROR(TakeWindows(streams, &steps));
  if (steps.empty()) return std::vector<PendingStep>();
  try {
    LACT_RETURN_IF_ERROR(EncodeWindows(steps, stats));
    SplitCommitted(steps);
    LACT_RETURN_IF_ERROR(ApplyLact(steps));
    return RunLmHead(steps);
  } catch (...) {  // out of memory, or a kernel's error: a status, classified once
    return ModelCallStatus(std::current_exception(), "model step failed");
  }
}

// Each window's frames from the first uncommitted one: Tc committed, then Tp provisional.
void OnlineRecognizer::SplitCommitted(std::vector<StreamStep>& steps) const {
  const int64_t D = model_->encoder().config().hidden_size;
  for (StreamStep& w : steps) {
    const int64_t c0 = w.stream->committed_frames_ - w.plan.window_start_frame;
    const int64_t c1 = w.plan.commit_end_frame - w.plan.window_start_frame;
    const int64_t p1 = w.plan.window_end_frame - w.plan.window_start_frame;
    if (!w.hidden.defined()) {
      w.frames = torch::zeros({0, D}, torch::TensorOptions().device(model_->device()));
      w.committed = 0;
    } else {
      w.frames = w.hidden.narrow(0, c0, p1 - c0);  // [Tc + Tp, D]
      w.committed = c1 - c0;
    }
    w.out = w.frames;
  }
}

// LaCT: one batched step over the streams that use it: their committed frames advance their
// states, the provisional ones after them are peeked at (LactStack::Step).
absl::Status OnlineRecognizer::ApplyLact(std::vector<StreamStep>& steps) const {
  if (model_->lact() == nullptr) return absl::OkStatus();
  std::vector<StreamStep*> with_lact;
  std::vector<LactState*> states;
  std::vector<torch::Tensor> xs;
  std::vector<int64_t> committed;
  for (StreamStep& w : steps) {
    if (!w.stream->lact_state_) continue;
    if (w.stream->lact_reset_pending_) {  // LactScope::kUtterance: the utterance before ended
      w.stream->lact_state_->Reset();
      w.stream->last_lact_reset_frame_ = w.stream->committed_frames_;
      w.stream->lact_reset_pending_ = false;
    }
    with_lact.push_back(&w);
    states.push_back(&*w.stream->lact_state_);
    xs.push_back(w.frames);
    committed.push_back(w.committed);
  }
  if (with_lact.empty()) return absl::OkStatus();
  LACT_ASSIGN_OR_RETURN(std::vector<torch::Tensor> ys, model_->lact()->Step(states, xs, committed));
  for (size_t j = 0; j < with_lact.size(); ++j) with_lact[j]->out = ys[j];
  return absl::OkStatus();
}

// lm_head once over every frame of every stream, then each stream's frames advance.
std::vector<PendingStep> OnlineRecognizer::RunLmHead(std::vector<StreamStep>& steps) const {
  std::vector<torch::Tensor> all;
  for (const StreamStep& w : steps) all.push_back(w.out);
  torch::Tensor logits = model_->encoder().Logits(torch::cat(all, 0).unsqueeze(0))[0];  // [N, V]
  // Every stream needs the argmax ids (the endpointer, greedy decoding) and the logits on the
  // CPU (the beam search; greedy decoding's word confidences).
  torch::Tensor ids = logits.argmax(-1).to(torch::kCPU);  // [N]
  torch::Tensor cpu_logits = logits.to(torch::kCPU);      // [N, V]
  std::vector<PendingStep> pending;
  int64_t at = 0;
  for (StreamStep& w : steps) {
    pending.push_back(AdvanceStream(w, logits, ids, cpu_logits, at));
    at += w.out.size(0);
  }
  return pending;
}

PendingStep OnlineRecognizer::AdvanceStream(StreamStep& w, const torch::Tensor& logits,
                                            const torch::Tensor& ids,
                                            const torch::Tensor& cpu_logits, int64_t at) const {
  OnlineStream& s = *w.stream;
  const int64_t nc = w.committed, np = w.out.size(0) - nc;
  if (s.options_.capture && nc > 0) {
    s.captured_hidden_.push_back(w.frames.narrow(0, 0, nc).to(torch::kCPU).clone());
    s.captured_lact_.push_back(w.out.narrow(0, 0, nc).to(torch::kCPU).clone());
    s.captured_logits_.push_back(logits.narrow(0, at, nc).to(torch::kCPU).clone());
  }
  if (s.options_.capture_windows && nc > 0) {
    const int64_t start = w.plan.window_start_frame;
    s.captured_windows_.push_back({w.window.to(torch::kCPU).clone(), s.committed_frames_ - start,
                                   s.committed_frames_ - start + nc});
  }
  if (nc == 0 && !w.finished) s.early_partial_frames_ = w.plan.window_end_frame;
  s.committed_frames_ = w.plan.commit_end_frame;
  {
    absl::MutexLock lock(&s.mu_);
    DropConsumedAudio(s);
  }
  PendingStep p;
  p.stream = &s;
  p.ids = ids.narrow(0, at, nc + np);
  if (cpu_logits.defined()) p.logits = cpu_logits.narrow(0, at, nc + np);
  p.committed = nc;
  p.finished = w.finished;
  return p;
}

void OnlineRecognizer::FinishStep(const PendingStep& p) const {
  torch::InferenceMode guard;  // per thread: FinishStep may run on a decode pool's thread
  OnlineStream& s = *p.stream;
  const int64_t nc = p.committed, np = p.ids.size(0) - nc;
  bool is_final;
  {
    absl::MutexLock lock(&s.mu_);
    is_final =
        p.finished && s.committed_frames_ >= model_->encoder().config().NumFrames(s.total_samples_);
  }
  // Committed frames: endpoints, finished utterances; a LaCT reset at the next step's first frame.
  const auto rows = [](const torch::Tensor& t, int64_t from, int64_t n) {
    return t.defined() ? t.narrow(0, from, n) : t;
  };
  if (s.text_.Accept(rows(p.ids, 0, nc), rows(p.logits, 0, nc)) &&
      s.options_.lact_scope == LactScope::kUtterance) {
    s.lact_reset_pending_ = true;
  }
  RecognitionResult& r = s.result_;
  if (is_final) {
    // The texts become the last utterance's final (without endpointing: the stream's).
    const UtteranceResult* last = s.text_.Finish();
    r.committed_text = last ? last->text : std::string();
    r.text = r.committed_text;
    r.committed_words = last ? last->words : std::vector<WordInfo>();
    r.words = r.committed_words;
  } else {
    CtcResult committed, with_prov;
    const bool provisional = s.options_.provisional_text;
    s.text_.Open(rows(p.ids, nc, np), rows(p.logits, nc, np), &committed,
                 provisional ? &with_prov : nullptr);
    r.committed_text = std::move(committed.text);
    r.committed_words = std::move(committed.words);
    r.text = provisional ? std::move(with_prov.text) : r.committed_text;
    r.words = provisional ? std::move(with_prov.words) : r.committed_words;
  }
  r.committed_frames = s.committed_frames_;
  r.utterance_start_frame = s.text_.utterance_start_frame();
  absl::MutexLock lock(&s.mu_);
  r.audio_seconds = static_cast<double>(s.total_samples_) / model_->sample_rate();
  r.is_final = is_final;
}

void OnlineRecognizer::DropConsumedAudio(OnlineStream& s) const {
  // The next window starts left_frames_ before the committed frames, and the last one (PlanStep)
  // a steady window's length before the stream's end, which is at least its audio so far (kept
  // whether or not the last window reaches back: at most one window of audio).
  const int64_t available = model_->encoder().config().NumFrames(s.total_samples_);
  const int64_t keep_from_frame =
      std::min(s.committed_frames_ - left_frames_, available - SteadyWindowFrames());
  const int64_t keep_from = std::max<int64_t>(0, keep_from_frame) * samples_per_frame_;
  const int64_t drop =
      std::min<int64_t>(keep_from - s.buffer_start_, static_cast<int64_t>(s.buffer_.size()));
  if (drop > 0) {
    s.buffer_.erase(s.buffer_.begin(), s.buffer_.begin() + drop);
    s.buffer_start_ += drop;
  }
}

absl::StatusOr<OfflineResult> OnlineRecognizer::DecodeOffline(
    const std::vector<float>& samples, bool enable_lact, int max_alternatives,
    std::shared_ptr<const PhraseBoost> boost) const {
  torch::InferenceMode guard;
  const auto& cfg = model_->encoder().config();
  if (cfg.NumFrames(static_cast<int64_t>(samples.size())) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("audio too short: ", samples.size(),
                                                   " samples, the model needs at least ",
                                                   cfg.ReceptiveField()));
  }
  std::vector<float> x = samples;
  if (model_->preprocessor().do_normalize) NormalizeWaveform(x);
  OfflineResult out;
  try {
    torch::Tensor wave =
        torch::from_blob(x.data(), {1, static_cast<int64_t>(x.size())}, torch::kFloat32);
    out.hidden = model_->encoder().Encode(wave)[0];  // [T, D]
    out.lact = out.hidden;
    if (enable_lact && model_->lact() != nullptr) {
      LACT_ASSIGN_OR_RETURN(out.lact, model_->lact()->ForwardSequence(out.hidden));
    }
    out.logits = model_->encoder().Logits(out.lact.unsqueeze(0))[0];  // [T, V]
  } catch (...) {  // out of memory, or a kernel's error: a status, classified once
    return ModelCallStatus(std::current_exception(), "model step failed");
  }
  const Decoder d = DecoderFor(boost != nullptr || max_alternatives > 1);
  if (*d.beam && max_alternatives > 1) {
    CtcBeamSearchDecoder decoder(model_->language_model(), model_->vocab(), model_->frame_seconds(),
                                 **d.beam, boost);
    decoder.Accept(out.logits);
    std::vector<CtcResult> all = decoder.FinalAlternatives(max_alternatives);
    out.ctc = std::move(all.front());
    for (CtcResult& a : all) d.calibration->Apply(&a, /*greedy=*/false);
    out.alternatives.assign(std::make_move_iterator(all.begin() + 1),
                            std::make_move_iterator(all.end()));
  } else {
    LACT_ASSIGN_OR_RETURN(out.ctc, DecodeLogits(out.logits, boost));
  }
  out.hidden = out.hidden.to(torch::kCPU);
  out.lact = out.lact.to(torch::kCPU);
  out.logits = out.logits.to(torch::kCPU);
  return out;
}

absl::StatusOr<CtcResult> OnlineRecognizer::DecodeLogits(
    const torch::Tensor& logits, std::shared_ptr<const PhraseBoost> boost) const {
  if (logits.dim() != 2 || logits.size(1) != model_->vocab().size() ||
      !logits.is_floating_point()) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits must be float [frames, ", model_->vocab().size(), "], got ",
                     c10::str(logits.sizes()), " ", c10::toString(logits.scalar_type())));
  }
  torch::InferenceMode guard;
  const Decoder d = DecoderFor(boost != nullptr);
  CtcResult r = *d.beam ? BeamSearchDecode(logits, model_->language_model(), model_->vocab(),
                                           model_->frame_seconds(), **d.beam, boost)
                        : GreedyDecode(logits, model_->vocab(), model_->frame_seconds());
  d.calibration->Apply(&r, /*greedy=*/!*d.beam);
  return r;
}

}  // namespace lact
