// One recognition stream as the server sees it: the core OnlineStream (audio window, LaCT fast
// weights, text) plus the audio received but not yet handed to it, the latest result for the
// RPC writer, and the stream's place in the scheduler.
//
// Threads: the RPC side calls AddAudio / FinishInput / Abort and takes updates with
// WaitForUpdate (the calls, which hold no thread, poll it with a past deadline when their
// listener says something changed); the scheduler's model worker calls
// BeginDecode / EndDecode. One mutex guards it all; the lock order is session -> scheduler (the
// scheduler never calls into a session while holding its own lock), and the listener is called
// without the session's lock.
//
// Feeding (see docs/server.md, "Determinism"): audio is handed to the OnlineStream in pieces of
// feed_ms, and only while the stream is not ready, exactly as `lact_transcribe --streaming` does
// (one step-sized piece, then decode while ready). The waveform normaliser's running statistics
// then see the same audio at every decode whatever the network timing, so the transcript is a
// function of the audio alone.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/decoding/phrase_boost.h"
#include "core/endpointing/endpointer.h"
#include "core/endpointing/endpointing_config.h"
#include "core/streaming/lact_scope.h"

namespace lact {
class OnlineRecognizer;
class OnlineStream;
struct UtteranceResult;
}  // namespace lact

namespace lact::server {

class Scheduler;
class ServerMetrics;

struct WordTime {
  std::string word;
  double start_s = 0;  // from the start of the stream's audio
  double end_s = 0;
  double confidence = 0;  // final results: in [0, 1]
};

// One result: the open utterance as of the last decode (interim), or a finished one (final).
struct ResultSnapshot {
  uint64_t version = 0;         // interim: grows with every change of text
  std::string text;             // committed + provisional (final: the utterance's transcript)
  std::string committed_text;   // will not change
  std::vector<WordTime> words;  // of `text`, when word times or confidences were asked for
  double confidence = 0;        // final: of text, in [0, 1]; interim: 0
  // Final: the other transcripts, ranked (SessionOptions::max_alternatives - 1 at most).
  struct Alternative {
    std::string text;
    std::vector<WordTime> words;
    double confidence = 0;
  };
  std::vector<Alternative> alternatives;
  bool is_final = false;
  bool at_input_end = false;  // final: ended by the end of the input (the half-close)
  // Interim: the audio (model rate) the decode had; final: the utterance's end (the end decision's
  // frame), or all the audio at the input's end.
  double end_seconds = 0;
  absl::Time newest_audio_arrival = absl::InfinitePast();  // when the newest audio decoded arrived
};

// StreamingRecognizeResponse.speech_event_type.
enum class SpeechEvent {
  kNone,
  kEndOfSingleUtterance,
  kActivityBegin,
  kActivityEnd,
  kActivityTimeout,
};

// One message for the RPC's writer, in stream order: a speech event, or a final result.
struct SessionMessage {
  SpeechEvent event = SpeechEvent::kNone;  // kNone: `result` is a final
  double event_offset_s = 0;               // the event's time in the stream's audio
  ResultSnapshot result;
};

// What WaitForUpdate hands the writer.
struct SessionUpdate {
  std::vector<SessionMessage> messages;  // since the last update, in order (each sent once)
  ResultSnapshot interim;                // the open utterance as of the last decode
  bool ended = false;                    // the stream is over: nothing follows `messages`
};

struct SessionOptions {
  bool enable_lact = true;
  // StreamingRecognitionConfig.interim_results: false (and Recognize) skips decoding the
  // lookahead into interim text (StreamOptions::provisional_text) and the early partials.
  bool interim_results = true;
  bool word_times = false;                   // words (with times) in results
  bool word_confidence = false;              // words (with confidences) in final results
  int max_alternatives = 1;                  // transcripts per final (beam search)
  std::shared_ptr<const PhraseBoost> boost;  // RecognitionConfig.speech_contexts (null: none)
  int feed_ms = 640;                         // piece size handed to the recognizer
  int first_partial_ms = 0;        // until the first commit: pieces of this size (0: feed_ms)
  double max_audio_seconds = 600;  // OUT_OF_RANGE past it
  // Backpressure: AddAudio waits while more than this much audio received is not yet handed to
  // the recognizer (a client sending faster than the model decodes), so the RPC reader stops
  // reading and HTTP/2 flow control holds the client back. The message being added is always
  // taken whole (a Recognize clip is one message), so the buffer stays under this plus one message.
  double max_pending_seconds = 10;
  // Utterances: the endpointing rule (enabled: a final per utterance; off, as here by default:
  // one at the input's end; the server sets it from --endpointing*) and what the fast weights
  // span.
  EndpointingConfig endpointing = EndpointingConfig::Off();
  LactScope lact_scope = LactScope::kStream;
  bool speech_events = false;     // SPEECH_ACTIVITY_BEGIN / END messages
  bool single_utterance = false;  // END_OF_SINGLE_UTTERANCE and the end after the first final
  // SPEECH_ACTIVITY_TIMEOUT (judged on the audio's content, in committed frames): no speech
  // within speech_start_timeout_s of the stream's start, or none within speech_end_timeout_s of
  // the last SPEECH_ACTIVITY_END. 0: off. The stream then ends (OK), later audio is ignored.
  double speech_start_timeout_s = 0;
  double speech_end_timeout_s = 0;
  // Backpressure on the writer: the stream is not decoded further while this many messages wait
  // to be sent (a client that does not read its responses); 0: no bound (Recognize, which reads
  // them only at the end).
  size_t max_outbox = 64;
};

class StreamSession : public std::enable_shared_from_this<StreamSession> {
 public:
  // `recognizer`, `scheduler` and `metrics` outlive the session.
  static std::shared_ptr<StreamSession> Create(uint64_t id, const OnlineRecognizer& recognizer,
                                               Scheduler* scheduler, ServerMetrics* metrics,
                                               const SessionOptions& options);
  ~StreamSession();
  StreamSession(const StreamSession&) = delete;
  StreamSession& operator=(const StreamSession&) = delete;

  uint64_t id() const { return id_; }
  // The recognizer that decodes this stream (the scheduler batches streams of one recognizer).
  const OnlineRecognizer& recognizer() const { return recognizer_; }

  // --- RPC side --------------------------------------------------------------------------
  // Appends mono samples ([n]) at `sample_rate` that arrived at `arrival`. OUT_OF_RANGE past
  // the duration limit; the stream's error when it has already ended with one. With
  // `wait_for_room`, waits first while more than max_pending_seconds of audio are waiting for the
  // recognizer (until the model worker has taken enough, or the stream ends); without, takes the
  // audio at once (a caller that must not block, which checks has_room() before reading more).
  absl::Status AddAudio(int sample_rate, const std::vector<float>& samples, absl::Time arrival,
                        bool wait_for_room = true);
  // No more audio (client half-close at `when`): the rest is decoded and the final follows.
  void FinishInput(absl::Time when);
  // Ends the stream with `status` (cancel, deadline, bad audio, shutdown): the OnlineStream and
  // its fast weights are freed at once, or as soon as a decode running now returns.
  void Abort(const absl::Status& status);
  // Waits until a message waits, the interim's version exceeds `after_version`, the stream ends,
  // or `deadline`. Hands `out` the waiting messages (taken: each is handed out once) and the
  // latest interim; returns the stream's error (non-OK once it failed or was aborted), OK
  // otherwise. `out->ended` marks the last update.
  absl::Status WaitForUpdate(uint64_t after_version, absl::Time deadline, SessionUpdate* out);
  // Called after every change the RPC side may be waiting for (a decode published its result,
  // audio left the buffer, the stream ended or was aborted), from EndDecode and Abort, without
  // the session's lock held. Set once, before the first AddAudio.
  void SetListener(std::function<void()> listener);
  // False while AddAudio would wait for room (more than max_pending_seconds of audio buffered
  // and the stream live): the caller that must not block reads no more audio until it is true.
  bool has_room() const;
  // True once the server ended the stream on its own (single_utterance, a voice-activity
  // timeout): later audio is ignored, and the reader may stop reading.
  bool ended_by_server() const;
  absl::Time half_close_time() const;
  double received_seconds() const;
  // Encoder frames committed so far: grows while the stream's backlog is being decoded.
  int64_t committed_frames() const;

  // --- scheduler side --------------------------------------------------------------------
  // Marks the stream as being decoded and returns it; nullptr when it was aborted meanwhile.
  OnlineStream* BeginDecode();
  // After DecodeStreams: publishes the result, then feeds more audio (re-queueing the stream
  // when it is ready again) or frees the stream once final.
  void EndDecode(const absl::Status& status);

  // Sessions alive in this process (for the leak check at exit).
  static int64_t live_count();

 private:
  enum class State { kIdle, kQueued, kDecoding };

  StreamSession(uint64_t id, const OnlineRecognizer& recognizer, Scheduler* scheduler,
                ServerMetrics* metrics, const SessionOptions& options);
  // Hands pending audio to the stream while it is not ready; queues it once ready.
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasRoomLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // lact_pending_audio_seconds follows pending_ (called by every public method that changes it).
  void CountPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndDecodeLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseStreamLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After a decode: the stream's events and finished utterances into the outbox (in frame
  // order), the voice-activity timeouts, then the interim snapshot.
  void PublishLocked(OnlineStream& stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishEventLocked(const EndpointEvent& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishFinalLocked(const UtteranceResult& u, double audio_seconds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckTimeoutsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The server ends the stream on its own (after `last` is queued).
  void EndByServerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint64_t id_;
  const OnlineRecognizer& recognizer_;
  Scheduler* const scheduler_;
  ServerMetrics* const metrics_;
  const SessionOptions options_;
  const double frame_seconds_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::function<void()> listener_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<OnlineStream> stream_ ABSL_GUARDED_BY(mu_);
  State state_ ABSL_GUARDED_BY(mu_) = State::kIdle;
  absl::Status error_ ABSL_GUARDED_BY(mu_);  // non-OK once failed / aborted
  bool done_ ABSL_GUARDED_BY(mu_) = false;   // final published or failed

  // Audio received, not yet handed to the stream ([n] at input_rate_).
  int input_rate_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t feed_samples_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t early_feed_samples_ ABSL_GUARDED_BY(mu_) = 0;  // 0: no early partials
  std::vector<float> pending_ ABSL_GUARDED_BY(mu_);
  size_t pending_pos_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t received_samples_ ABSL_GUARDED_BY(mu_) = 0;  // at input_rate_
  int64_t fed_samples_ ABSL_GUARDED_BY(mu_) = 0;
  double pending_counted_s_ ABSL_GUARDED_BY(mu_) = 0;  // in lact_pending_audio_seconds
  // (end sample index, arrival time) of each message, for the interim latency.
  std::deque<std::pair<int64_t, absl::Time>> arrivals_ ABSL_GUARDED_BY(mu_);
  absl::Time fed_arrival_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool input_done_ ABSL_GUARDED_BY(mu_) = false;       // client half-closed
  bool stream_finished_ ABSL_GUARDED_BY(mu_) = false;  // InputFinished() given to the stream
  absl::Time half_close_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  // Decode bookkeeping.
  absl::Time ready_since_ ABSL_GUARDED_BY(mu_);
  absl::Time decode_audio_arrival_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  double decode_end_seconds_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t committed_frames_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t state_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // counted in lact_fast_weight_state_bytes
  ResultSnapshot snapshot_ ABSL_GUARDED_BY(mu_);  // the open utterance's interim
  std::deque<SessionMessage> outbox_ ABSL_GUARDED_BY(mu_);
  bool ended_by_server_ ABSL_GUARDED_BY(mu_) = false;
  // Voice activity, in committed frames.
  bool speech_seen_ ABSL_GUARDED_BY(mu_) = false;
  bool in_speech_ ABSL_GUARDED_BY(mu_) = false;
  int64_t activity_end_frame_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace lact::server
