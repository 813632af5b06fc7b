#include "server/streaming_call.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/log.h"
#include "server/metrics.h"
#include "server/recognition_results.h"
#include "server/status_mapping.h"
#include "server/stream_session.h"

namespace lact::server {

namespace pb = lact::asr::v1;

namespace {

// How long a finished reader waits for its writer before cancelling the call (a client that
// does not read its responses can block the writer in flow control).
constexpr absl::Duration kWriterJoinTimeout = absl::Seconds(10);

// Finals and events waiting for the writer before the stream's decoding pauses (a client that
// does not read its responses holds its own stream back, not the server's memory).
constexpr size_t kMaxOutbox = 64;

// After a Read that returned false: a real half-close, or a call gRPC failed (e.g. an oversize
// message) or the client cancelled, which ServerContext::IsCancelled() may report only a moment
// later. Waits up to kCancelSettle for that; true when the call turned out cancelled. Only used
// when the half-close would end the call with an error, so a good stream never waits.
constexpr absl::Duration kCancelSettle = absl::Milliseconds(250);
bool CancelledAfterFailedRead(grpc::ServerContext* context) {
  const absl::Time until = absl::Now() + kCancelSettle;
  while (!context->IsCancelled()) {
    if (absl::Now() >= until) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// The call's StreamSession as the StreamRequestHandler's sink.
class SessionSink final : public AudioSink {
 public:
  explicit SessionSink(std::shared_ptr<StreamSession> session) : session_(std::move(session)) {}
  absl::Status AddAudio(int sample_rate, const std::vector<float>& samples,
                        absl::Time arrival) override {
    return session_->AddAudio(sample_rate, samples, arrival);
  }
  void FinishInput(absl::Time when) override { session_->FinishInput(when); }

 private:
  std::shared_ptr<StreamSession> session_;
};

StreamRequestSettings RequestSettings(const AsrServiceOptions& options) {
  StreamRequestSettings settings;
  settings.model_sample_rate = options.model_sample_rate;
  settings.max_stream_seconds = options.max_stream_seconds;
  return settings;
}

}  // namespace

StreamingCall::StreamingCall(const ServiceContext& service, std::shared_ptr<Call> call,
                             grpc::ServerContext* context, Stream* stream)
    : service_(service),
      call_(call),
      context_(context),
      stream_(stream),
      guard_(service.registry, std::move(call)),
      // The request sequence (config, audio, half-close) is the handler's; the session it
      // starts is kept here for the writer.
      handler_(RequestSettings(service.options),
               [this](const pb::StreamingRecognitionConfig& config)
                   -> absl::StatusOr<std::unique_ptr<AudioSink>> {
                 auto started = service_.StartSession(*call_, config, kMaxOutbox);
                 if (!started.ok()) return started.status();
                 session_ = *started;
                 return std::make_unique<SessionSink>(session_);
               }) {}

grpc::Status StreamingCall::Run() {
  if (std::optional<grpc::Status> ended = ReadConfig()) return guard_.Finish(*ended);
  LogStart();
  std::thread writer([this] { WriterLoop(); });
  const absl::Status read_status = ReadAudio();
  if (!read_status.ok()) session_->Abort(read_status);
  AwaitWriter();
  writer.join();
  if (!read_status.ok()) return guard_.Finish(ToGrpcStatus(read_status));
  return guard_.Finish(ToGrpcStatus(writer_status_));
}

bool StreamingCall::Read(pb::StreamingRecognizeRequest* request) {
  call_->read_started_ns.store(std::max<int64_t>(1, absl::GetCurrentTimeNanos()));
  const bool got = stream_->Read(request);
  call_->read_started_ns.store(0);
  return got;
}

std::optional<grpc::Status> StreamingCall::ReadConfig() {
  pb::StreamingRecognizeRequest request;
  if (!Read(&request)) {
    if (context_->IsCancelled() || CancelledAfterFailedRead(context_))
      return grpc::Status::CANCELLED;
    return ToGrpcStatus(handler_.OnHalfClose(absl::Now()));  // "no config"
  }
  call_->config_received.store(true);
  if (absl::Status s = handler_.OnMessage(request, absl::Now()); !s.ok()) return ToGrpcStatus(s);
  interim_ = handler_.streaming_config().interim_results();
  word_times_ = handler_.streaming_config().config().enable_word_time_offsets();
  word_confidence_ = handler_.streaming_config().config().enable_word_confidence();
  return std::nullopt;
}

void StreamingCall::LogStart() const {
  const pb::RecognitionConfig& config = handler_.streaming_config().config();
  Log("stream ", call_->id, " start: StreamingRecognize peer=", context_->peer(), " ",
      handler_.format().ToString(),
      " lact=", config.has_enable_lact() ? (config.enable_lact() ? "on" : "off") : "default",
      " interim=", interim_ ? "on" : "off", " words=", word_times_ ? "on" : "off");
}

void StreamingCall::WriterLoop() {
  uint64_t version = 0;
  std::string last_sent;  // the open utterance's last interim text ("" after each final)
  while (true) {
    SessionUpdate update;
    if (absl::Status s = session_->WaitForUpdate(version, absl::Now() + kPollInterval, &update);
        !s.ok()) {
      writer_status_ = s;
      break;
    }
    if (context_->IsCancelled()) {
      writer_status_ = absl::CancelledError("cancelled by the client");
      break;
    }
    bool written = true;
    for (const SessionMessage& m : update.messages) {
      written = WriteMessage(m);
      if (!written) break;
      if (m.event == SpeechEvent::kNone) last_sent.clear();
    }
    const ResultSnapshot& interim = update.interim;
    if (written && !update.ended && interim_ && interim.version > version &&
        interim.text != last_sent) {
      SessionMessage m;
      m.result = interim;
      written = WriteMessage(m);
      last_sent = interim.text;
    }
    version = std::max(version, interim.version);
    if (!written) {
      writer_status_ = absl::CancelledError("the client stopped reading");
      break;
    }
    if (update.ended) break;
  }
  writer_done_.Notify();
}

bool StreamingCall::WriteMessage(const SessionMessage& m) {
  const pb::StreamingRecognizeResponse response =
      StreamingResponse(m, WordFields{word_times_, word_confidence_}, session_->received_seconds());
  call_->write_started_ns.store(std::max<int64_t>(1, absl::GetCurrentTimeNanos()));
  const bool written = stream_->Write(response);
  call_->write_started_ns.store(0);
  if (!written) return false;
  ServerMetrics* metrics = service_.metrics;
  if (metrics == nullptr || m.event != SpeechEvent::kNone) return true;
  const absl::Time sent = absl::Now();
  const ResultSnapshot& r = m.result;
  if (r.is_final && r.at_input_end) {
    metrics->final_latency_seconds().Observe(
        absl::ToDoubleSeconds(sent - session_->half_close_time()));
  } else if (r.newest_audio_arrival != absl::InfinitePast()) {
    (r.is_final ? metrics->final_latency_seconds() : metrics->interim_latency_seconds())
        .Observe(absl::ToDoubleSeconds(sent - r.newest_audio_arrival));
  }
  return true;
}

absl::Status StreamingCall::ReadAudio() {
  pb::StreamingRecognizeRequest request;
  while (true) {
    if (absl::Status a = call_->aborted(); !a.ok()) return a;
    if (!Read(&request)) {
      if (context_->IsCancelled()) return absl::CancelledError("cancelled by the client");
      absl::Status s = handler_.OnHalfClose(absl::Now());
      // E.g. "ends inside a sample frame" of a call that gRPC failed on an oversize message.
      if (!s.ok() && CancelledAfterFailedRead(context_))
        return absl::CancelledError("cancelled by the client");
      return s;
    }
    if (absl::Status s = handler_.OnMessage(request, absl::Now()); !s.ok()) return s;
    // single_utterance / a voice-activity timeout ended the stream: the call ends OK (what the
    // client sends from now on is ignored).
    if (session_->ended_by_server()) return absl::OkStatus();
  }
}

// After the half-close the writer still sends the results of the audio not yet decoded, which
// can take long when the client sent faster than real time. Keep waiting while decoding makes
// progress; cancel only a writer that made none for kWriterJoinTimeout (a Write stuck in flow
// control because the client stopped reading).
void StreamingCall::AwaitWriter() {
  int64_t frames_seen = session_->committed_frames();
  while (!writer_done_.WaitForNotificationWithTimeout(kWriterJoinTimeout)) {
    const int64_t frames_now = session_->committed_frames();
    if (frames_now == frames_seen || context_->IsCancelled()) {
      if (context_->IsCancelled()) {
        context_->TryCancel();  // the client's cancel: nothing of the server's to record
      } else {
        call_->CancelByServer();
      }
      return;
    }
    frames_seen = frames_now;
  }
}

}  // namespace lact::server
