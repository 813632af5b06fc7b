// The endpointing rule over a stream's committed frames (EndpointingConfig): feed it one flag
// per committed frame (speech or not, from the frame's best CTC token) in order, and it reports
// where utterances start and end, in stream frame indices. No LibTorch: the recognizer derives
// the flags where the committed frames' posteriors are produced (its model step), so an
// endpoint lands on a defined frame whatever thread decodes text.
//
//   Endpointer ep(config, /*frame_ms=*/20);
//   std::vector<EndpointEvent> events;
//   ep.Accept(speech_flags, &events);   // each committed step
//
// An utterance's text is that of the frames [end of the previous utterance, its end): the
// decoder starts a new utterance at each kEnd event's frame.
#pragma once

#include <cstdint>
#include <vector>

#include "core/endpointing/endpointing_config.h"

namespace lact {

struct EndpointEvent {
  enum class Kind {
    kStart,        // speech began: `frame` is the first speech frame of the start window
    kEndOfSpeech,  // first-pass end of utterance (stop_*_eou): speech paused at `frame`; the
                   // utterance may still go on
    kEnd,          // the utterance ended: `frame` is the first frame after it (the decision frame)
  };
  Kind kind;
  int64_t frame;        // stream frame index
  bool forced = false;  // kEnd: by max_utterance_seconds, not by a pause
};

class Endpointer {
 public:
  // frame_ms: milliseconds of audio per frame (20 for wav2vec2). The config must be valid.
  Endpointer(const EndpointingConfig& config, double frame_ms);

  // The next committed frames, in order: speech[i] for frame frames() + i. Appends the events
  // they cause to *events, in frame order.
  void Accept(const std::vector<bool>& speech, std::vector<EndpointEvent>* events);

  int64_t frames() const { return frames_; }  // frames accepted so far
  bool in_utterance() const { return in_utterance_; }

 private:
  void AcceptFrame(bool speech, std::vector<EndpointEvent>* events);
  // Speech frames among the last n frames (n <= frames since the current state began).
  int64_t SpeechIn(int64_t n) const;

  EndpointingConfig config_;
  int64_t start_frames_, stop_frames_, eou_frames_, max_frames_;  // the config in frames
  std::vector<int64_t> cumulative_;  // ring: speech frames in [0, f] at index f % size
  int64_t frames_ = 0;
  bool in_utterance_ = false;
  int64_t state_since_ = 0;     // frame where the current state (in or out of speech) began
  bool end_of_speech_ = false;  // kEndOfSpeech raised since the last speech frame
};

}  // namespace lact
