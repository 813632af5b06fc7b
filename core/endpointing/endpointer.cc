#include "core/endpointing/endpointer.h"

#include <algorithm>
#include <cmath>

namespace lact {
namespace {

// A window of `ms` in frames, at least one.
int64_t Frames(double ms, double frame_ms) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(ms / frame_ms)));
}

}  // namespace

Endpointer::Endpointer(const EndpointingConfig& config, double frame_ms)
    : config_(config),
      start_frames_(Frames(config.start_history_ms, frame_ms)),
      stop_frames_(Frames(config.stop_history_ms, frame_ms)),
      eou_frames_(Frames(config.stop_history_eou_ms, frame_ms)),
      max_frames_(config.max_utterance_seconds > 0
                      ? Frames(1000 * config.max_utterance_seconds, frame_ms)
                      : 0) {
  cumulative_.assign(std::max({start_frames_, stop_frames_, eou_frames_}) + 1, 0);
}

void Endpointer::Accept(const std::vector<bool>& speech, std::vector<EndpointEvent>* events) {
  for (bool s : speech) AcceptFrame(s, events);
}

int64_t Endpointer::SpeechIn(int64_t n) const {
  const int64_t size = static_cast<int64_t>(cumulative_.size());
  const int64_t last = frames_ - 1;  // the newest frame
  const int64_t total = cumulative_[last % size];
  const int64_t before = last - n >= 0 ? cumulative_[(last - n) % size] : 0;
  return total - before;
}

void Endpointer::AcceptFrame(bool speech, std::vector<EndpointEvent>* events) {
  const int64_t size = static_cast<int64_t>(cumulative_.size());
  const int64_t previous = frames_ > 0 ? cumulative_[(frames_ - 1) % size] : 0;
  cumulative_[frames_ % size] = previous + (speech ? 1 : 0);
  ++frames_;
  const int64_t in_state = frames_ - state_since_;  // frames since the state began
  if (speech) end_of_speech_ = false;
  if (!in_utterance_) {
    if (in_state < start_frames_) return;
    const int64_t voiced = SpeechIn(start_frames_);
    if (voiced < config_.start_threshold * start_frames_) return;
    // The first speech frame of the window that started the utterance.
    int64_t first = frames_ - start_frames_;
    while (SpeechIn(frames_ - first) == SpeechIn(frames_ - first - 1)) ++first;
    events->push_back({EndpointEvent::Kind::kStart, first});
    in_utterance_ = true;
    state_since_ = frames_;
    return;
  }
  if (max_frames_ > 0 && in_state >= max_frames_) {
    events->push_back({EndpointEvent::Kind::kEnd, frames_, /*forced=*/true});
    in_utterance_ = false;
    state_since_ = frames_;
    end_of_speech_ = false;
    return;
  }
  if (!end_of_speech_ && in_state >= eou_frames_ &&
      eou_frames_ - SpeechIn(eou_frames_) >= config_.stop_threshold_eou * eou_frames_) {
    end_of_speech_ = true;
    events->push_back({EndpointEvent::Kind::kEndOfSpeech, frames_});
  }
  if (in_state >= stop_frames_ &&
      stop_frames_ - SpeechIn(stop_frames_) >= config_.stop_threshold * stop_frames_) {
    events->push_back({EndpointEvent::Kind::kEnd, frames_});
    in_utterance_ = false;
    state_since_ = frames_;
    end_of_speech_ = false;
  }
}

}  // namespace lact
