#include "server/stream_session.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "core/streaming/online_recognizer.h"
#include "core/streaming/online_stream.h"
#include "server/metrics.h"
#include "server/scheduler.h"

namespace lact::server {
namespace {

std::atomic<int64_t> g_live_sessions{0};

std::vector<WordTime> CopyWords(const std::vector<WordInfo>& words) {
  std::vector<WordTime> out;
  out.reserve(words.size());
  for (const auto& w : words) out.push_back({w.word, w.start_s, w.end_s, w.confidence});
  return out;
}

}  // namespace

int64_t StreamSession::live_count() { return g_live_sessions.load(); }

std::shared_ptr<StreamSession> StreamSession::Create(uint64_t id,
                                                     const OnlineRecognizer& recognizer,
                                                     Scheduler* scheduler, ServerMetrics* metrics,
                                                     const SessionOptions& options) {
  return std::shared_ptr<StreamSession>(
      new StreamSession(id, recognizer, scheduler, metrics, options));
}

StreamSession::StreamSession(uint64_t id, const OnlineRecognizer& recognizer, Scheduler* scheduler,
                             ServerMetrics* metrics, const SessionOptions& options)
    : id_(id),
      recognizer_(recognizer),
      scheduler_(scheduler),
      metrics_(metrics),
      options_(options),
      frame_seconds_(recognizer.model().frame_seconds()) {
  StreamOptions stream_options;
  stream_options.enable_lact = options.enable_lact;
  stream_options.endpointing = options.endpointing;
  stream_options.lact_scope = options.lact_scope;
  stream_options.max_alternatives = options.max_alternatives;
  stream_options.boost = options.boost;
  stream_options.provisional_text = options.interim_results;
  stream_options.normalizer_block_ms = options.feed_ms;  // blocks = the pieces fed after the start
  // The timeouts need the endpointer's view of speech even when the text is not cut.
  stream_options.speech_events = options.speech_events || options.speech_start_timeout_s > 0 ||
                                 options.speech_end_timeout_s > 0 || options.single_utterance;
  stream_ = recognizer_.CreateStream(stream_options);
  state_bytes_ = stream_->lact_state_bytes();
  if (metrics_ != nullptr)
    metrics_->fast_weight_state_bytes().Increment(static_cast<double>(state_bytes_));
  ++g_live_sessions;
}

StreamSession::~StreamSession() {
  absl::MutexLock lock(&mu_);
  ReleaseStreamLocked();
  pending_.clear();
  pending_pos_ = 0;
  CountPendingLocked();
  --g_live_sessions;
}

void StreamSession::CountPendingLocked() {
  const double now =
      input_rate_ > 0 ? static_cast<double>(pending_.size() - pending_pos_) / input_rate_ : 0.0;
  if (metrics_ != nullptr && now != pending_counted_s_)
    metrics_->pending_audio_seconds().Increment(now - pending_counted_s_);
  pending_counted_s_ = now;
}

void StreamSession::ReleaseStreamLocked() {
  if (stream_ == nullptr) return;
  stream_.reset();
  if (metrics_ != nullptr)
    metrics_->fast_weight_state_bytes().Decrement(static_cast<double>(state_bytes_));
  state_bytes_ = 0;
  pending_.clear();
  pending_.shrink_to_fit();
  pending_pos_ = 0;
  arrivals_.clear();
}

absl::Status StreamSession::AddAudio(int sample_rate, const std::vector<float>& samples,
                                     absl::Time arrival, bool wait_for_room) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  if (ended_by_server_) return absl::OkStatus();  // single_utterance / timeout: ignored
  if (done_ || input_done_) return absl::FailedPreconditionError("audio after the end of input");
  if (samples.empty()) return absl::OkStatus();
  if (input_rate_ == 0) {
    input_rate_ = sample_rate;
    feed_samples_ =
        std::max<int64_t>(1, static_cast<int64_t>(sample_rate) * options_.feed_ms / 1000);
    early_feed_samples_ = std::min<int64_t>(
        feed_samples_, static_cast<int64_t>(sample_rate) * options_.first_partial_ms / 1000);
  } else if (sample_rate != input_rate_) {
    return absl::InvalidArgumentError(absl::StrCat("sample rate changed from ", input_rate_, " to ",
                                                   sample_rate, " Hz within the stream"));
  }
  // Backpressure: wait while the recognizer is far behind (EndDecode signals after feeding).
  while (wait_for_room && !HasRoomLocked()) cv_.Wait(&mu_);
  if (!error_.ok()) return error_;
  if (ended_by_server_) return absl::OkStatus();
  if (done_) return absl::FailedPreconditionError("audio after the end of the stream");
  received_samples_ += static_cast<int64_t>(samples.size());
  const double seconds = static_cast<double>(received_samples_) / input_rate_;
  if (seconds > options_.max_audio_seconds) {
    return absl::OutOfRangeError(absl::StrCat("the stream exceeds the maximum duration of ",
                                              options_.max_audio_seconds,
                                              " s of audio (--max_stream_seconds)"));
  }
  if (pending_pos_ > 0 && pending_pos_ >= pending_.size() / 2) {  // compact the consumed prefix
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_pos_));
    pending_pos_ = 0;
  }
  pending_.insert(pending_.end(), samples.begin(), samples.end());
  arrivals_.emplace_back(received_samples_, arrival);
  PumpLocked();
  CountPendingLocked();
  return error_;
}

bool StreamSession::HasRoomLocked() const {
  if (!error_.ok() || done_ || input_rate_ == 0) return true;
  const size_t max_pending =
      static_cast<size_t>(std::max(0.0, options_.max_pending_seconds) * input_rate_);
  return pending_.size() - pending_pos_ <= max_pending;
}

bool StreamSession::has_room() const {
  absl::MutexLock lock(&mu_);
  return HasRoomLocked();
}

void StreamSession::SetListener(std::function<void()> listener) {
  absl::MutexLock lock(&mu_);
  listener_ = std::move(listener);
}

void StreamSession::FinishInput(absl::Time when) {
  absl::MutexLock lock(&mu_);
  if (input_done_) return;
  input_done_ = true;
  half_close_ = when;
  PumpLocked();
  CountPendingLocked();
}

void StreamSession::Abort(const absl::Status& status) {
  bool remove = false;
  std::function<void()> listener;
  {
    absl::MutexLock lock(&mu_);
    if (done_ && stream_ == nullptr) return;
    if (error_.ok() && !done_) error_ = status.ok() ? absl::CancelledError("aborted") : status;
    done_ = true;
    remove = state_ == State::kQueued;
    // A decode running now still uses the stream: EndDecode frees it.
    if (state_ != State::kDecoding) ReleaseStreamLocked();
    CountPendingLocked();
    cv_.SignalAll();
    listener = listener_;
  }
  if (remove) scheduler_->Remove(this);
  if (listener) listener();
}

absl::Status StreamSession::WaitForUpdate(uint64_t after_version, absl::Time deadline,
                                          SessionUpdate* out) {
  absl::MutexLock lock(&mu_);
  while (error_.ok() && !done_ && outbox_.empty() && snapshot_.version <= after_version) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) break;
  }
  out->messages.assign(std::make_move_iterator(outbox_.begin()),
                       std::make_move_iterator(outbox_.end()));
  const bool was_full = options_.max_outbox > 0 && outbox_.size() >= options_.max_outbox;
  outbox_.clear();
  out->interim = snapshot_;
  out->ended = done_;
  if (was_full && error_.ok()) PumpLocked();  // the writer caught up: decode on
  CountPendingLocked();
  return error_;
}

bool StreamSession::ended_by_server() const {
  absl::MutexLock lock(&mu_);
  return ended_by_server_;
}

absl::Time StreamSession::half_close_time() const {
  absl::MutexLock lock(&mu_);
  return half_close_;
}

int64_t StreamSession::committed_frames() const {
  absl::MutexLock lock(&mu_);
  return committed_frames_;
}

double StreamSession::received_seconds() const {
  absl::MutexLock lock(&mu_);
  return input_rate_ > 0 ? static_cast<double>(received_samples_) / input_rate_ : 0.0;
}

void StreamSession::PumpLocked() {
  if (state_ != State::kIdle || done_ || stream_ == nullptr) return;
  if (options_.max_outbox > 0 && outbox_.size() >= options_.max_outbox) return;  // writer behind
  // The next piece to feed: before the first commit, early-partial pieces
  // (StreamingConfig::first_partial_ms) that never cross a feed_ms boundary, so the audio fed at
  // each boundary is what plain feeding gives.
  const auto next_piece = [&]() -> int64_t {
    if (early_feed_samples_ > 0 && committed_frames_ == 0) {
      return std::min(early_feed_samples_, feed_samples_ - fed_samples_ % feed_samples_);
    }
    return feed_samples_;
  };
  const auto whole_piece_waits = [&] {
    const int64_t piece = next_piece();
    return piece > 0 && pending_.size() - pending_pos_ >= static_cast<size_t>(piece);
  };
  // Ready, except that a decode that would commit waits for the end of the feed_ms piece that
  // early-partial pieces are filling (commits then see the audio plain feeding gives them), and
  // that an early partial is skipped while the next piece is already here: it would be stale
  // before it was shown (a client ahead of real time, or a model behind it), so the partial shows
  // the newest audio and a late model is not asked for partials nobody will see.
  const auto ready = [&] {
    if (!recognizer_.IsReady(*stream_)) return false;
    if (!recognizer_.HasFullStep(*stream_)) return !whole_piece_waits();  // an early partial
    return feed_samples_ <= 0 || fed_samples_ % feed_samples_ == 0 || stream_finished_;
  };
  while (!ready()) {
    const size_t available = pending_.size() - pending_pos_;
    size_t n = 0;
    const int64_t piece = next_piece();
    if (piece > 0 && available >= static_cast<size_t>(piece)) {
      n = static_cast<size_t>(piece);
    } else if (input_done_ && !stream_finished_) {
      n = available;
    } else {
      return;  // wait for more audio
    }
    if (n > 0) {
      absl::Status s = stream_->AcceptWaveform(input_rate_, pending_.data() + pending_pos_, n);
      if (!s.ok()) {
        FailLocked(absl::InvalidArgumentError(absl::StrCat("audio rejected: ", s.message())));
        return;
      }
      pending_pos_ += n;
      fed_samples_ += static_cast<int64_t>(n);
      // The newest audio fed: the last message whose samples reached the stream (in part).
      int64_t popped_end = 0;
      while (!arrivals_.empty() && arrivals_.front().first <= fed_samples_) {
        fed_arrival_ = arrivals_.front().second;
        popped_end = arrivals_.front().first;
        arrivals_.pop_front();
      }
      if (!arrivals_.empty() && fed_samples_ > popped_end) fed_arrival_ = arrivals_.front().second;
    }
    if (input_done_ && !stream_finished_ && pending_pos_ == pending_.size()) {
      stream_->InputFinished();
      stream_finished_ = true;
    }
  }
  state_ = State::kQueued;
  ready_since_ = absl::Now();
  scheduler_->Enqueue(shared_from_this(), ready_since_);
}

void StreamSession::FailLocked(const absl::Status& status) {
  if (error_.ok()) error_ = status;
  done_ = true;
  if (state_ != State::kDecoding) ReleaseStreamLocked();
  cv_.SignalAll();
}

OnlineStream* StreamSession::BeginDecode() {
  absl::MutexLock lock(&mu_);
  if (done_ || stream_ == nullptr || state_ != State::kQueued) return nullptr;
  state_ = State::kDecoding;
  decode_audio_arrival_ = fed_arrival_;
  decode_end_seconds_ = stream_->received_seconds();
  return stream_.get();
}

void StreamSession::EndDecode(const absl::Status& status) {
  std::function<void()> listener;
  {
    absl::MutexLock lock(&mu_);
    EndDecodeLocked(status);
    CountPendingLocked();
    listener = listener_;
  }
  if (listener) listener();
}

void StreamSession::EndDecodeLocked(const absl::Status& status) {
  state_ = State::kIdle;
  if (done_) {  // aborted during the decode
    ReleaseStreamLocked();
    return;
  }
  if (!status.ok()) {
    FailLocked(status.code() == absl::StatusCode::kResourceExhausted
                   ? status
                   : absl::InternalError(absl::StrCat("model step failed: ", status.message())));
    return;
  }
  const RecognitionResult& r = stream_->result();
  if (metrics_ != nullptr) {
    if (r.committed_frames > committed_frames_) {
      metrics_->audio_seconds().Increment(
          static_cast<double>(r.committed_frames - committed_frames_) * frame_seconds_);
    }
    const int64_t bytes = stream_->lact_state_bytes();
    if (bytes != state_bytes_) {
      metrics_->fast_weight_state_bytes().Increment(static_cast<double>(bytes - state_bytes_));
      state_bytes_ = bytes;
    }
  }
  committed_frames_ = r.committed_frames;
  PublishLocked(*stream_);
  if (r.is_final || done_) {
    done_ = true;
    ReleaseStreamLocked();  // the fast weights go as soon as the final is known
  } else {
    PumpLocked();
  }
  cv_.SignalAll();
}

void StreamSession::PublishLocked(OnlineStream& stream) {
  const RecognitionResult& r = stream.result();
  // Events before the finals that end at or after their frame (an END comes before its final).
  const std::vector<EndpointEvent> events = stream.TakeEvents();
  const std::vector<UtteranceResult> finals = stream.TakeUtterances();
  size_t e = 0;
  for (const UtteranceResult& u : finals) {
    for (; e < events.size() && events[e].frame <= u.end_frame && !ended_by_server_; ++e)
      PublishEventLocked(events[e]);
    if (ended_by_server_) return;
    PublishFinalLocked(u, r.audio_seconds);
  }
  for (; e < events.size() && !ended_by_server_; ++e) PublishEventLocked(events[e]);
  if (!ended_by_server_ && !r.is_final) CheckTimeoutsLocked();
  if (ended_by_server_ || r.is_final) return;
  if (r.text != snapshot_.text || r.committed_text != snapshot_.committed_text) {
    ++snapshot_.version;
    snapshot_.text = r.text;
    snapshot_.committed_text = r.committed_text;
    if (options_.word_times || options_.word_confidence) snapshot_.words = CopyWords(r.words);
    snapshot_.end_seconds = decode_end_seconds_;
    snapshot_.newest_audio_arrival = decode_audio_arrival_;
  }
}

void StreamSession::PublishEventLocked(const EndpointEvent& e) {
  SessionMessage m;
  m.event_offset_s = static_cast<double>(e.frame) * frame_seconds_;
  if (e.kind == EndpointEvent::Kind::kStart) {
    speech_seen_ = in_speech_ = true;
    m.event = SpeechEvent::kActivityBegin;
  } else if (e.kind == EndpointEvent::Kind::kEnd) {
    in_speech_ = false;
    activity_end_frame_ = e.frame;
    m.event = SpeechEvent::kActivityEnd;
  } else {
    return;  // kEndOfSpeech: not an API event
  }
  if (options_.speech_events) outbox_.push_back(std::move(m));
}

void StreamSession::PublishFinalLocked(const UtteranceResult& u, double audio_seconds) {
  SessionMessage m;
  ResultSnapshot& f = m.result;
  f.text = u.text;
  f.committed_text = u.text;
  const bool words = options_.word_times || options_.word_confidence;
  if (words) f.words = CopyWords(u.words);
  f.confidence = u.confidence;
  for (const CtcResult& a : u.alternatives) {
    f.alternatives.push_back(
        {a.text, words ? CopyWords(a.words) : std::vector<WordTime>(), a.confidence});
  }
  f.is_final = true;
  f.at_input_end = u.at_input_end;
  f.end_seconds = u.at_input_end ? audio_seconds : u.end_s;
  f.newest_audio_arrival = decode_audio_arrival_;
  if (options_.single_utterance && !u.at_input_end) {
    SessionMessage end;
    end.event = SpeechEvent::kEndOfSingleUtterance;
    end.event_offset_s = u.end_s;
    outbox_.push_back(std::move(end));
    outbox_.push_back(std::move(m));
    EndByServerLocked();
    return;
  }
  outbox_.push_back(std::move(m));
}

void StreamSession::CheckTimeoutsLocked() {
  const double now_s = static_cast<double>(committed_frames_) * frame_seconds_;
  double timeout_at = -1;
  if (!speech_seen_ && options_.speech_start_timeout_s > 0 &&
      now_s >= options_.speech_start_timeout_s) {
    timeout_at = options_.speech_start_timeout_s;
  } else if (speech_seen_ && !in_speech_ && options_.speech_end_timeout_s > 0) {
    const double end_s = static_cast<double>(activity_end_frame_) * frame_seconds_;
    if (now_s - end_s >= options_.speech_end_timeout_s)
      timeout_at = end_s + options_.speech_end_timeout_s;
  }
  if (timeout_at < 0) return;
  SessionMessage m;
  m.event = SpeechEvent::kActivityTimeout;
  m.event_offset_s = timeout_at;
  outbox_.push_back(std::move(m));
  EndByServerLocked();
}

void StreamSession::EndByServerLocked() {
  ended_by_server_ = true;
  done_ = true;
  pending_.clear();
  pending_.shrink_to_fit();
  pending_pos_ = 0;
  arrivals_.clear();
}

}  // namespace lact::server
