// The streaming recognizer (the shape of sherpa-onnx's OnlineRecognizer): holds the model on a
// device, creates streams, and decodes any set of ready streams with one batched model call.
//
//   auto rec = *OnlineRecognizer::Create(model, config);
//   auto s = rec->CreateStream();
//   s->AcceptWaveform(16000, pcm, n);          // as audio arrives
//   while (rec->IsReady(*s)) rec->DecodeStreams({s.get()});
//   s->InputFinished(); ... until s->is_final()
//   rec->GetResult(*s).text
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/streaming/asr_model.h"
#include "core/streaming/decoding_config.h"
#include "core/streaming/online_stream.h"
#include "core/streaming/streaming_config.h"

namespace lact {

// What one offline (whole-utterance) decode produces.
struct OfflineResult {
  CtcResult ctc;
  torch::Tensor hidden;  // [T, D] encoder last hidden state
  torch::Tensor lact;    // [T, D] LaCT stack output (== hidden without LaCT)
  torch::Tensor logits;  // [T, V]
  // The 2nd, 3rd, ... best transcripts (beam search; max_alternatives - 1 at most).
  std::vector<CtcResult> alternatives;
};

// Where the frames of one decode step come from, for one stream (all in stream frame indices).
struct StepPlan {
  int64_t window_start_frame = 0;  // first frame of the encoder window
  int64_t commit_end_frame = 0;    // frames [committed, commit_end) are committed this step
  int64_t window_end_frame = 0;    // frames [commit_end, window_end) are provisional
};

// One stream's share of a batched model step, waiting for its CTC decoder (greedy or beam
// search) and result: what OnlineRecognizer::RunModelStep hands to FinishStep.
// What one model step's encoder calls did (RunModelStep): a frame is one encoder output frame
// (20 ms) of one row of a call's batch.
struct EncoderStepStats {
  int calls = 0;               // encoder calls: one per distinct window length, or one if padded
  int64_t window_frames = 0;   // frames of the windows themselves
  int64_t padding_frames = 0;  // frames computed for padding (StreamingConfig::window_batching)
};

struct PendingStep {
  OnlineStream* stream = nullptr;
  torch::Tensor ids;      // [Nc + Np] int64 argmax ids of the step's frames (CPU)
  torch::Tensor logits;   // [Nc + Np, V] float logits (CPU)
  int64_t committed = 0;  // Nc: the first rows are committed frames, the other Np provisional
  bool finished = false;  // the stream's input had finished when the step began
};

class OnlineRecognizer {
 public:
  // `decoding` picks greedy or beam search (default "auto": beam search when the model folder
  // has a language model); an error when it asks for beam search and the model has none.
  static absl::StatusOr<std::unique_ptr<OnlineRecognizer>> Create(
      std::shared_ptr<const AsrModel> model, const StreamingConfig& config,
      const DecodingConfig& decoding = {});

  std::unique_ptr<OnlineStream> CreateStream(const StreamOptions& options = {}) const;

  // True when the stream has a full step of new audio beyond the lookahead, or its input has
  // finished and frames remain to commit, or (before its first step) an early partial is due:
  // StreamingConfig::first_partial_ms more audio since the last one.
  bool IsReady(const OnlineStream& stream) const;
  // True when the next decode commits frames (a full step beyond the lookahead, or the input has
  // finished): IsReady without early partials.
  bool HasFullStep(const OnlineStream& stream) const;

  // Decodes one step of every stream given (they should be ready; others are skipped), with
  // one encoder call per distinct window length (in steady state: one call), one batched LaCT
  // call and one lm_head call. Errors (e.g. device out of memory) leave the streams unchanged.
  absl::Status DecodeStreams(const std::vector<OnlineStream*>& streams) const;
  // DecodeStreams in two halves, so that decoding can run off the model's thread (the server's
  // --decode_threads): RunModelStep runs the model and advances every stream's frames and LaCT
  // state; FinishStep then runs one stream's CTC decoder and sets its result. FinishStep calls
  // for different streams may run at once on any threads; a stream is not ready again (and must
  // not be decoded or fed) until its FinishStep has returned. Same errors as DecodeStreams.
  // `stats` (if given): the step's encoder calls and frames.
  absl::StatusOr<std::vector<PendingStep>> RunModelStep(const std::vector<OnlineStream*>& streams,
                                                        EncoderStepStats* stats = nullptr) const;
  void FinishStep(const PendingStep& step) const;

  const RecognitionResult& GetResult(const OnlineStream& stream) const { return stream.result(); }

  // Whole-utterance decode (`samples` at the model's rate), as Hugging Face's pipeline does.
  // `max_alternatives`: transcripts wanted (beam search; the others go to `alternatives`).
  // `boost`: phrase boosting (beam search). Either picks the beam search as CreateStream does.
  absl::StatusOr<OfflineResult> DecodeOffline(
      const std::vector<float>& samples, bool enable_lact, int max_alternatives = 1,
      std::shared_ptr<const PhraseBoost> boost = nullptr) const;

  // Decodes whole-utterance CTC logits [T, V] with this recognizer's decoder (greedy or beam
  // search). InvalidArgument for another shape or a non-float tensor.
  absl::StatusOr<CtcResult> DecodeLogits(const torch::Tensor& logits,
                                         std::shared_ptr<const PhraseBoost> boost = nullptr) const;

  const AsrModel& model() const { return *model_; }
  const StreamingConfig& config() const { return config_; }
  // The beam-search options in use, or nullopt when decoding greedily.
  const std::optional<CtcBeamSearchOptions>& beam_search() const { return beam_; }
  // Whether a stream can have the beam search (phrase boosts, alternatives): the recognizer's
  // decoder is the beam search, or it decodes greedily only because the model has no LM
  // (decoder "auto": such streams get the lexicon-free beam search).
  bool BeamSearchAvailable() const { return beam_ || request_beam_; }
  // The beam-search options a stream gets (beam_search(), else the on-request ones), if any.
  const std::optional<CtcBeamSearchOptions>& beam_search_on_request() const {
    return beam_ ? beam_ : request_beam_;
  }
  // The map applied to word confidences (identity without the model's confidence.json section
  // for this decoder, or with DecodingConfig::calibrate_confidence false).
  const ConfidenceCalibration& confidence_calibration() const { return calibration_; }
  // The plan of the next decode of `stream` (exposed for tests and benchmarks).
  StepPlan PlanStep(const OnlineStream& stream) const;
  // The version of PlanStep's rule, for caches of what it computes (train/encoder_state_cache
  // keys on it, so states from an older rule are not served). 2: a stream's last window reaches
  // back to the steady length (2026-12-07).
  static constexpr int kWindowPlanVersion = 2;

 private:
  // Where a stream stands: input finished, frames whose samples have all arrived, and whether
  // the next decode commits (a full step beyond the lookahead, or the input has finished).
  struct Progress {
    bool finished = false;
    int64_t available = 0;
    bool full_step = false;
  };
  Progress ProgressOf(const OnlineStream& stream) const;
  // One ready stream in a DecodeStreams call, through its steps.
  struct StreamStep {
    OnlineStream* stream = nullptr;
    StepPlan plan;
    bool finished = false;       // its input had finished when the step began
    int64_t window_begin = 0;    // the window's first sample (stream sample index)
    int64_t window_samples = 0;  // S (0: no frames to encode)
    torch::Tensor window;        // [S] normalised samples, a row of the encoder's batch
    torch::Tensor hidden;        // [T_window, D] the encoder's output for the window
    torch::Tensor frames;        // [Tc + Tp, D] float32: the Tc frames this step commits, then
                                 // the Tp lookahead frames after them
    int64_t committed = 0;       // Tc
    torch::Tensor out;           // [Tc + Tp, D] after LaCT (states advanced by the Tc only)
  };
  // The steps of DecodeStreams, in order (TakeWindows, EncodeWindows, CopyWindow: window_batch.cc).
  absl::Status TakeWindows(const std::vector<OnlineStream*>& streams,
                           std::vector<StreamStep>* steps) const;
  absl::Status EncodeWindows(std::vector<StreamStep>& steps, EncoderStepStats* stats) const;
  // Copies a step's window from its stream's buffer into `out` [S], normalised.
  absl::Status CopyWindow(const StreamStep& step, float* out) const;
  void SplitCommitted(std::vector<StreamStep>& steps) const;
  absl::Status ApplyLact(std::vector<StreamStep>& steps) const;
  std::vector<PendingStep> RunLmHead(std::vector<StreamStep>& steps) const;
  // One stream's share of the batch's logits [N, V] (rows from `at`): its frames advance and the
  // audio no window needs any more goes; the decoder's rows are handed on in the PendingStep.
  PendingStep AdvanceStream(StreamStep& step, const torch::Tensor& logits, const torch::Tensor& ids,
                            const torch::Tensor& cpu_logits, int64_t at) const;
  // Frames of a steady window: left context + step + lookahead.
  int64_t SteadyWindowFrames() const;
  // Drops the audio no future window of `s` needs (the buffer is locked by the caller).
  void DropConsumedAudio(OnlineStream& s) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu_);

  OnlineRecognizer(std::shared_ptr<const AsrModel> model, const StreamingConfig& config,
                   std::optional<CtcBeamSearchOptions> beam, ConfidenceCalibration calibration);
  // The decoder for a request (wants_beam: it has a boost or asks for alternatives): beam_ and
  // calibration_, or the on-request beam search and its calibration.
  struct Decoder {
    const std::optional<CtcBeamSearchOptions>* beam;
    const ConfidenceCalibration* calibration;
  };
  Decoder DecoderFor(bool wants_beam) const;

  std::shared_ptr<const AsrModel> model_;
  StreamingConfig config_;
  std::optional<CtcBeamSearchOptions> beam_;
  ConfidenceCalibration calibration_;
  std::optional<CtcBeamSearchOptions> request_beam_;  // decoder auto, no LM: lexicon-free
  ConfidenceCalibration request_calibration_;
  int64_t samples_per_frame_;
  int64_t step_frames_, left_frames_, lookahead_frames_;
  int64_t first_partial_frames_;  // 0: no early partials
};

}  // namespace lact
