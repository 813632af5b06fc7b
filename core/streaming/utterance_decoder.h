// The text side of one stream: the CTC decoder (greedy or beam search) over the committed frames,
// cut into utterances by the endpointer (EndpointingConfig). The recognizer's model step hands it
// each step's committed frames, so an endpoint lands on a defined frame whatever thread reads the
// text. At each end the decoder (and the LM beam) start a new utterance; the finished utterance
// waits in a queue until TakeUtterances(), so nothing here grows with the stream's length.
//
//   committed frames -> Accept(ids, logits)   (events, utterances ended inside them)
//   provisional      -> Open(ids, logits)     (the open utterance's interim text)
//   input end        -> Finish()              (the open utterance's final)
//
// Without endpointing (config.enabled false) the whole stream is one utterance, ended by Finish().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/decoding/calibration/confidence_calibration.h"
#include "core/decoding/ctc_beam_search.h"
#include "core/decoding/ctc_decoder.h"
#include "core/endpointing/endpointer.h"

namespace lact {

// One finished utterance. Frames are stream frame indices; times are seconds from the stream's
// start (frame * frame_seconds).
struct UtteranceResult {
  std::string text;
  std::vector<WordInfo> words;  // times from the stream's start
  double confidence = 0;        // of text, in [0, 1] (CtcResult::confidence)
  // The 2nd, 3rd, ... best transcripts (beam search, UtteranceOptions::max_alternatives - 1 at
  // most; ranked, distinct from text), times from the stream's start.
  std::vector<CtcResult> alternatives;
  int64_t start_frame = 0;          // first frame of its span (the previous utterance's end)
  int64_t end_frame = 0;            // first frame after it (the end decision's frame)
  int64_t speech_start_frame = -1;  // where the endpointer saw speech begin (-1: it did not)
  double start_s = 0;               // of the first word (of the span when there is none)
  double end_s = 0;                 // end_frame in seconds
  bool forced = false;              // ended by max_utterance_seconds, not by a pause
  bool at_input_end = false;        // ended by the end of the stream's input
};

// What the endpointer's rule is applied for: `endpointing` cuts the text into utterances;
// `speech_events` keeps the endpointer's events for TakeEvents() (voice-activity events) even
// without cutting.
struct UtteranceOptions {
  EndpointingConfig endpointing;  // the rule (used when enabled or speech_events)
  bool speech_events = false;
  // Transcripts per final (beam search; greedy decoding has one): the best and up to
  // max_alternatives - 1 others.
  int max_alternatives = 1;
  // Applied to every final's word confidences (the recognizer's choice for its decoder).
  ConfidenceCalibration calibration;
  // Phrase boosting for the beam search (null: none; greedy decoding ignores it).
  std::shared_ptr<const PhraseBoost> boost;
};

class UtteranceDecoder {
 public:
  // `vocab` (and the LM) outlive the decoder. `beam`: beam search, else greedy.
  UtteranceDecoder(const Vocab& vocab, std::shared_ptr<const LanguageModel> lm,
                   double frame_seconds, const std::optional<CtcBeamSearchOptions>& beam,
                   const UtteranceOptions& options);

  // The next committed frames: argmax ids [Tc] (int64, CPU) and logits [Tc, V] (CPU; needed by
  // the beam search; greedy decoding takes word confidences from them, and without them every
  // word's confidence is 1). Returns true when an utterance ended inside them.
  bool Accept(const torch::Tensor& ids, const torch::Tensor& logits);
  // The open utterance's text: committed words (will not change) and the text with the
  // provisional frames ids [Tp] / logits [Tp, V] after them; times from the stream's start.
  // `with_provisional` may be null: the provisional frames are then not decoded.
  void Open(const torch::Tensor& ids, const torch::Tensor& logits, CtcResult* committed,
            CtcResult* with_provisional);
  // The input ended after the committed frames: the open utterance gets its final when it has
  // text, or when the stream has had no final yet (a stream always ends with one). Returns it
  // (valid until TakeUtterances), or nullptr when it had none.
  const UtteranceResult* Finish();

  // Finished utterances / endpointer events since the last call, in order.
  std::vector<UtteranceResult> TakeUtterances();
  std::vector<EndpointEvent> TakeEvents();

  int64_t frames() const { return frames_; }                      // committed frames accepted
  int64_t utterance_start_frame() const { return start_frame_; }  // of the open utterance

  // Forgets everything: the next frame is frame 0 of a new stream.
  void Reset();

 private:
  // Feeds frames [from, to) of this Accept's ids/logits to the open utterance's decoder.
  void Feed(const torch::Tensor& ids, const torch::Tensor& logits, int64_t from, int64_t to);
  // Closes the open utterance at stream frame `end` and starts the next one there.
  void EndUtterance(int64_t end, bool forced, bool at_input_end);
  CtcResult FromStreamStart(CtcResult r) const;

  const Vocab* vocab_;
  double frame_seconds_;
  UtteranceOptions options_;
  CtcGreedyDecoder greedy_;
  std::optional<CtcBeamSearchDecoder> beam_;
  std::optional<Endpointer> endpointer_;
  int64_t frames_ = 0;               // committed frames accepted
  int64_t start_frame_ = 0;          // first frame of the open utterance
  int64_t speech_start_frame_ = -1;  // kStart inside the open utterance
  int64_t utterances_ = 0;
  std::vector<UtteranceResult> done_;
  std::vector<EndpointEvent> events_;
};

}  // namespace lact
