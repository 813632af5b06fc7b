#include "server/streaming_call.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "server/log.h"
#include "server/metrics.h"
#include "server/recognition_results.h"
#include "server/session_sink.h"
#include "server/status_mapping.h"

namespace lact::server {

namespace pb = lact::asr::v1;

namespace {

// Finals and events waiting for the writer before the stream's decoding pauses (a client that
// does not read its responses holds its own stream back, not the server's memory).
constexpr size_t kMaxOutbox = 64;

int64_t NowStamp() { return std::max<int64_t>(1, absl::GetCurrentTimeNanos()); }

}  // namespace

StreamReactor* StreamingCall::Start(const ServiceContext& service, std::shared_ptr<Call> call,
                                    grpc::CallbackServerContext* context) {
  std::shared_ptr<StreamingCall> reactor(new StreamingCall(service, std::move(call), context));
  reactor->self_ = reactor;
  {
    // The watchdog's and the shutdown's Abort: the call then finishes with their status.
    absl::MutexLock lock(&reactor->call_->mu);
    reactor->call_->on_abort = [weak = reactor->weak_from_this()] {
      if (std::shared_ptr<StreamingCall> self = weak.lock()) self->Kick();
    };
  }
  reactor->Kick();  // the first Read (gRPC holds it until the reactor is bound)
  return reactor.get();
}

StreamingCall::StreamingCall(const ServiceContext& service, std::shared_ptr<Call> call,
                             grpc::CallbackServerContext* context)
    : service_(service),
      call_(std::move(call)),
      context_(context),
      // The request sequence (config, audio, half-close) is the handler's; the session it
      // starts is kept here for the writer.
      handler_(RequestSettingsFor(service.options),
               [this](const pb::StreamingRecognitionConfig& config)
                   -> absl::StatusOr<std::unique_ptr<AudioSink>> {
                 auto started =
                     service_.StartSession(*call_, config, service_.recognizer, kMaxOutbox);
                 if (!started.ok()) return started.status();
                 session_ = *started;
                 return std::make_unique<SessionSink>(session_);
               }) {}

void StreamingCall::OnReadDone(bool ok) {
  {
    absl::MutexLock lock(&events_mu_);
    events_.read_done = true;
    events_.read_ok = ok;
  }
  Kick();
}

void StreamingCall::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&events_mu_);
    events_.write_done = true;
    events_.write_ok = ok;
  }
  Kick();
}

void StreamingCall::OnCancel() {
  {
    absl::MutexLock lock(&events_mu_);
    events_.cancelled = true;
  }
  Kick();
}

void StreamingCall::OnDone() {
  // Settled again now that gRPC knows whether the call was cancelled; counted and logged.
  service_.registry->Finish(*call_, final_status_);
  std::shared_ptr<StreamingCall> self = std::move(self_);  // may be the last reference
}

void StreamingCall::Kick() {
  std::shared_ptr<StreamingCall> keep = weak_from_this().lock();  // null once done
  if (keep == nullptr) return;
  steps_.Kick([this] { Step(); });
}

void StreamingCall::Step() {
  if (finished_) return;
  Events events;
  {
    absl::MutexLock lock(&events_mu_);
    std::swap(events, events_);
  }
  if (events.cancelled) ReaderFailed(absl::CancelledError("cancelled by the client"));
  if (absl::Status aborted = call_->aborted(); !aborted.ok()) ReaderFailed(aborted);
  if (events.read_done) OnRead(events.read_ok);
  if (events.write_done) AfterWrite(events.write_ok);
  ContinueMessage();
  MaybeStartRead();
  TakeUpdate();
  MaybeStartWrite();
  MaybeFinish();
}

// --- reading ------------------------------------------------------------------------------

void StreamingCall::OnRead(bool ok) {
  read_pending_ = false;
  call_->read_started_ns.store(0);
  if (!reader_status_.ok()) return;  // cancelled meanwhile
  if (!ok) {  // the half-close, or a call that gRPC failed or the client cancelled
    reader_done_ = true;
    if (context_->IsCancelled())
      return ReaderFailed(absl::CancelledError("cancelled by the client"));
    // "no config", or e.g. "ends inside a sample frame" (CallRegistry::Settle turns it into
    // CANCELLED when gRPC failed the call, e.g. on an oversize message).
    if (absl::Status s = handler_.OnHalfClose(absl::Now()); !s.ok()) ReaderFailed(s);
    return;
  }
  if (!handler_.started()) return OnConfig();
  if (absl::Status s = handler_.BeginMessage(request_, absl::Now()); !s.ok()) ReaderFailed(s);
}

void StreamingCall::OnConfig() {
  call_->config_received.store(true);
  if (absl::Status s = handler_.BeginMessage(request_, absl::Now()); !s.ok()) {
    return ReaderFailed(s);
  }
  interim_ = handler_.streaming_config().interim_results();
  word_times_ = handler_.streaming_config().config().enable_word_time_offsets();
  word_confidence_ = handler_.streaming_config().config().enable_word_confidence();
  session_->SetListener([weak = weak_from_this()] {
    if (std::shared_ptr<StreamingCall> call = weak.lock()) call->Kick();
  });
  LogStart();
}

void StreamingCall::LogStart() const {
  const pb::RecognitionConfig& config = handler_.streaming_config().config();
  Log("stream ", call_->id, " start: StreamingRecognize peer=", context_->peer(), " ",
      handler_.format().ToString(),
      " lact=", config.has_enable_lact() ? (config.enable_lact() ? "on" : "off") : "default",
      " interim=", interim_ ? "on" : "off", " words=", word_times_ ? "on" : "off");
}

// An audio message is decoded a slice at a time while the session has room; the rest waits for
// the session's listener (a decode took audio from the buffer).
void StreamingCall::ContinueMessage() {
  while (reader_status_.ok() && handler_.message_open() && session_->has_room()) {
    absl::StatusOr<bool> done = handler_.ContinueMessage();
    if (!done.ok()) return ReaderFailed(done.status());
  }
  // single_utterance / a voice-activity timeout ended the stream: the call ends OK once its
  // results are written (what the client sends from now on is not read).
  if (session_ != nullptr && !handler_.message_open() && session_->ended_by_server())
    reader_done_ = true;
}

void StreamingCall::MaybeStartRead() {
  if (reader_done_ || read_pending_ || !reader_status_.ok() || handler_.message_open()) return;
  if (session_ != nullptr && !session_->has_room()) return;  // backpressure
  read_pending_ = true;
  call_->read_started_ns.store(NowStamp());  // the watchdog's idle clock
  StartRead(&request_);
}

void StreamingCall::ReaderFailed(absl::Status status) {
  reader_done_ = true;
  if (!reader_status_.ok()) return;
  reader_status_ = std::move(status);
  if (session_ != nullptr) session_->Abort(reader_status_);  // its listener kicks Step again
}

// --- writing ------------------------------------------------------------------------------

void StreamingCall::AfterWrite(bool ok) {
  write_pending_ = false;
  call_->write_started_ns.store(0);
  if (!ok) {
    writer_done_ = true;
    if (writer_status_.ok()) writer_status_ = absl::CancelledError("the client stopped reading");
    return;
  }
  ObserveLatency(writing_);
}

// The session's news (finals and events in order, then the open utterance's interim when it
// changed), once everything taken before was written.
void StreamingCall::TakeUpdate() {
  if (session_ == nullptr || writer_done_ || session_ended_ || !outbox_.empty()) return;
  SessionUpdate update;
  if (absl::Status s = session_->WaitForUpdate(version_, absl::InfinitePast(), &update); !s.ok()) {
    writer_done_ = true;
    writer_status_ = s;
    return;
  }
  for (SessionMessage& m : update.messages) {
    if (m.event == SpeechEvent::kNone) last_queued_.clear();
    outbox_.push_back(std::move(m));
  }
  const ResultSnapshot& interim = update.interim;
  if (!update.ended && interim_ && interim.version > version_ && interim.text != last_queued_) {
    SessionMessage m;
    m.result = interim;
    last_queued_ = interim.text;
    outbox_.push_back(std::move(m));
  }
  version_ = std::max(version_, interim.version);
  session_ended_ = update.ended;
}

void StreamingCall::MaybeStartWrite() {
  if (write_pending_ || writer_done_ || !reader_status_.ok()) return;
  if (outbox_.empty()) {
    if (session_ended_) writer_done_ = true;  // everything was written
    return;
  }
  writing_ = std::move(outbox_.front());
  outbox_.pop_front();
  response_ = StreamingResponse(writing_, WordFields{word_times_, word_confidence_},
                                session_->received_seconds());
  write_pending_ = true;
  call_->write_started_ns.store(NowStamp());  // the watchdog's stall clock
  StartWrite(&response_);
}

void StreamingCall::ObserveLatency(const SessionMessage& m) const {
  ServerMetrics* metrics = service_.metrics;
  if (metrics == nullptr || m.event != SpeechEvent::kNone) return;
  const absl::Time sent = absl::Now();
  const ResultSnapshot& r = m.result;
  if (r.is_final && r.at_input_end) {
    metrics->final_latency_seconds().Observe(
        absl::ToDoubleSeconds(sent - session_->half_close_time()));
  } else if (r.newest_audio_arrival != absl::InfinitePast()) {
    (r.is_final ? metrics->final_latency_seconds() : metrics->interim_latency_seconds())
        .Observe(absl::ToDoubleSeconds(sent - r.newest_audio_arrival));
  }
}

// --- the end ------------------------------------------------------------------------------

// The reader's error, else the writer's status once it wrote everything; never with a Write in
// flight (a Read in flight is fine: gRPC completes it with ok=false).
void StreamingCall::MaybeFinish() {
  if (finished_ || write_pending_) return;
  if (!reader_status_.ok()) {
    final_status_ = ToGrpcStatus(reader_status_);
  } else if (writer_done_) {
    final_status_ = ToGrpcStatus(writer_status_);
  } else {
    return;
  }
  finished_ = true;
  service_.registry->Release(*call_);  // the slot is free before the client learns the status
  Finish(CallRegistry::Settle(*call_, final_status_));
}

}  // namespace lact::server
