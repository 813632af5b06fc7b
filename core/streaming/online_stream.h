// One audio stream of an OnlineRecognizer (the shape of sherpa-onnx's OnlineStream): the audio it
// has received but not yet committed, its running waveform statistics, its LaCT fast-weight
// state, and its decoded text. Created by OnlineRecognizer::CreateStream.
//
// Threading: AcceptWaveform / InputFinished may be called from one thread while the recognizer
// decodes the stream on another (the audio buffer is guarded); a stream must be in at most one
// DecodeStreams call at a time, and GetResult/Reset must not race with a decode of it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "core/audio/resampler.h"
#include "core/decoding/ctc_beam_search.h"
#include "core/decoding/ctc_decoder.h"
#include "core/endpointing/endpointing_config.h"
#include "core/lact/lact_stack.h"
#include "core/model/waveform_normalizer.h"
#include "core/streaming/lact_scope.h"
#include "core/streaming/utterance_decoder.h"

namespace lact {

class AsrModel;

// The open utterance as of the last decode (with endpointing off: the whole stream so far). Word
// times are from the stream's start. Finished utterances: OnlineStream::TakeUtterances().
struct RecognitionResult {
  std::string committed_text;             // final part: only grows while the utterance runs
                                          // (beam search: the words no hypothesis can change)
  std::string text;                       // committed + provisional (what an interim shows)
  std::vector<WordInfo> committed_words;  // words of committed_text, with times
  std::vector<WordInfo> words;            // words of text (the last ones may still change)
  bool is_final = false;                  // input finished and every frame committed; the
                                          // texts are then the last utterance's final
  int64_t committed_frames = 0;
  int64_t utterance_start_frame = 0;  // first frame of the open utterance
  double audio_seconds = 0;           // audio received so far
};

// Waveform normalisation (models with do_normalize) uses the statistics of the stream's last
// 60 s (RunningNormalizer's history): a long stream follows its changes of level, and an
// utterance up to 60 s long (every LibriSpeech one) is normalised exactly as before, so it still
// matches offline decoding once it has been heard whole.
inline constexpr int kNormalizerHistorySeconds = 60;

struct StreamOptions {
  bool enable_lact = true;       // run the LaCT stack (when the recognizer has one)
  bool keep_lact_state = false;  // session mode: Reset() keeps the fast weights
  bool capture = false;          // keep committed hidden/LaCT frames (for --dump-*; tests)
  bool capture_windows = false;  // keep each step's encoder window (training the top layers)
  // Blocks of the normaliser's history (RunningNormalizer block_samples), counted from the
  // stream's start whatever the sizes of the pieces fed: the server's --feed_ms. 0: the
  // recognizer's step_ms (what lact_transcribe --streaming feeds).
  int normalizer_block_ms = 0;
  // Endpointing: off here (one utterance per stream, as offline tools expect); the server turns
  // it on by default (--endpointing).
  EndpointingConfig endpointing = EndpointingConfig::Off();
  bool speech_events = false;  // keep the endpointer's events (TakeEvents) even without cutting
  // Decode the lookahead frames after the committed ones into result().text / words (what an
  // interim shows). false: result().text is the committed text, and a caller that never shows
  // interims (the server's Recognize, or interim_results off) skips the decoder's second pass
  // over every step's lookahead (with the LM beam search, about half its work). Finals are the
  // same either way.
  bool provisional_text = true;
  LactScope lact_scope = LactScope::kStream;
  // Transcripts per final (UtteranceOptions::max_alternatives; beam search only).
  int max_alternatives = 1;
  // The stream's phrase boosts (RecognitionConfig.speech_contexts), for the beam search. A
  // recognizer that decodes greedily only because its model has no LM (decoder "auto") gives a
  // stream with a boost or max_alternatives > 1 the lexicon-free beam search instead
  // (OnlineRecognizer::BeamSearchAvailable); with decoder "greedy" the boost is ignored.
  std::shared_ptr<const PhraseBoost> boost;
};

// One decode step's encoder window (StreamOptions::capture_windows): the normalised samples the
// encoder ran on and the frames of its output [commit_begin, commit_end) that the step committed.
struct CapturedWindow {
  torch::Tensor samples;  // [S] float32, CPU
  int64_t commit_begin = 0, commit_end = 0;
};

class OnlineStream {
 public:
  OnlineStream(const OnlineStream&) = delete;
  OnlineStream& operator=(const OnlineStream&) = delete;

  // Appends samples (mono float, nominally in [-1, 1]) at `sample_rate`; resampled to the
  // model's rate. The rate must stay the same for the life of the stream.
  absl::Status AcceptWaveform(int sample_rate, const float* samples, size_t n);
  // No more audio: the next decodes commit everything, including the lookahead.
  void InputFinished();
  bool input_finished() const;

  // The result as of the last decode.
  const RecognitionResult& result() const { return result_; }
  bool is_final() const { return result_.is_final; }
  // Bytes of LaCT fast-weight state held by this stream (0 without LaCT).
  int64_t lact_state_bytes() const;
  // Bytes of audio held for the encoder window.
  int64_t buffered_audio_bytes() const;
  double received_seconds() const;
  bool lact_enabled() const { return lact_state_.has_value(); }

  // Utterances finished since the last call (the last one when the stream is final), in order;
  // and the endpointer's events (with endpointing or speech_events). Call between decodes.
  std::vector<UtteranceResult> TakeUtterances() { return text_.TakeUtterances(); }
  std::vector<EndpointEvent> TakeEvents() { return text_.TakeEvents(); }
  // LactScope::kUtterance: the committed frame where the fast weights were last reset (-1: never).
  int64_t last_lact_reset_frame() const { return last_lact_reset_frame_; }

  // Starts a new utterance on the same stream: audio, statistics and text are cleared; the LaCT
  // state is reset too unless the stream was created with keep_lact_state (session mode).
  void Reset();

  // Captured committed frames (StreamOptions::capture), float32: hidden [T, D] as fed to LaCT, LaCT
  // output [T, D] (equal to hidden without LaCT), logits [T, V].
  torch::Tensor captured_hidden() const;
  torch::Tensor captured_lact() const;
  torch::Tensor captured_logits() const;
  // The windows of the steps that committed frames, in order (StreamOptions::capture_windows).
  const std::vector<CapturedWindow>& captured_windows() const { return captured_windows_; }

 private:
  friend class OnlineRecognizer;
  OnlineStream(std::shared_ptr<const AsrModel> model, const StreamOptions& options,
               const std::optional<CtcBeamSearchOptions>& beam,
               const ConfidenceCalibration& calibration);

  std::shared_ptr<const AsrModel> model_;
  StreamOptions options_;

  mutable absl::Mutex mu_;
  int input_rate_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<Resampler> resampler_ ABSL_GUARDED_BY(mu_);
  RunningNormalizer normalizer_ ABSL_GUARDED_BY(mu_);
  std::vector<float> buffer_ ABSL_GUARDED_BY(mu_);  // raw samples from buffer_start_ on
  int64_t buffer_start_ ABSL_GUARDED_BY(mu_) = 0;   // stream sample index of buffer_[0]
  int64_t total_samples_ ABSL_GUARDED_BY(mu_) = 0;  // samples received (model rate)
  bool input_finished_ ABSL_GUARDED_BY(mu_) = false;

  // Touched only by the decoding thread.
  int64_t committed_frames_ = 0;
  int64_t early_partial_frames_ = 0;  // available frames at the last early partial decode
  std::optional<LactState> lact_state_;
  UtteranceDecoder text_;            // CTC decoding, cut into utterances
  bool lact_reset_pending_ = false;  // kUtterance: an utterance ended in the last step
  int64_t last_lact_reset_frame_ = -1;
  RecognitionResult result_;
  std::vector<torch::Tensor> captured_hidden_, captured_lact_, captured_logits_;
  std::vector<CapturedWindow> captured_windows_;
};

}  // namespace lact
