#include "server/asr_service.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/scheduler.h"
#include "server/status_mapping.h"
#include "server/stream_session.h"

namespace lact::server {

namespace pb = lact::asr::v1;

namespace {

// How often a waiting thread re-checks for a cancelled call.
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);
// How long a finished reader waits for its writer before cancelling the call (a client that
// does not read its responses can block the writer in flow control).
constexpr absl::Duration kWriterJoinTimeout = absl::Seconds(10);

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

void SetDuration(double seconds, google::protobuf::Duration* d) {
  if (seconds < 0) seconds = 0;
  const int64_t nanos_total = static_cast<int64_t>(seconds * 1e9 + 0.5);
  d->set_seconds(nanos_total / 1000000000);
  d->set_nanos(static_cast<int32_t>(nanos_total % 1000000000));
}

void FillAlternative(const ResultSnapshot& r, bool word_times, pb::SpeechRecognitionAlternative* alt) {
  alt->set_transcript(r.is_final ? r.committed_text : r.text);
  if (!word_times) return;
  for (const WordTime& w : r.words) {
    pb::WordInfo* info = alt->add_words();
    info->set_word(w.word);
    SetDuration(w.start_s, info->mutable_start_time());
    SetDuration(w.end_s, info->mutable_end_time());
  }
}

// The call's StreamSession as the StreamRequestHandler's sink.
class SessionSink final : public AudioSink {
 public:
  explicit SessionSink(std::shared_ptr<StreamSession> session) : session_(std::move(session)) {}
  absl::Status AddAudio(int sample_rate, const std::vector<float>& samples, absl::Time arrival) override {
    return session_->AddAudio(sample_rate, samples, arrival);
  }
  void FinishInput(absl::Time when) override { session_->FinishInput(when); }

 private:
  std::shared_ptr<StreamSession> session_;
};

}  // namespace

struct AsrService::Call {
  uint64_t id = 0;
  const char* method = "";
  grpc::ServerContext* context = nullptr;
  absl::Time start;
  absl::Mutex mu;
  std::shared_ptr<StreamSession> session ABSL_GUARDED_BY(mu);
  absl::Status abort_status ABSL_GUARDED_BY(mu);  // set by AbortAll and by the watchdog
  std::string description ABSL_GUARDED_BY(mu);
  std::string peer_key;  // for --max_streams_per_peer
  // When the writer's current Write began (absl::GetCurrentTimeNanos()); 0 while not writing.
  // Read by the watchdog.
  std::atomic<int64_t> write_started_ns{0};
  // When the reader began waiting for the next message; 0 while it is not waiting (decoding,
  // held back by backpressure, after the half-close). Read by the watchdog.
  std::atomic<int64_t> read_started_ns{0};
  std::atomic<bool> config_received{false};
  // Set just before the server itself cancels the call (the watchdog, the shutdown, a writer
  // stuck after the reader ended): the cancellation is then not the client's.
  std::atomic<bool> cancelled_by_server{false};

  absl::Status aborted() {
    absl::MutexLock lock(&mu);
    return abort_status;
  }
  void CancelByServer() {
    cancelled_by_server.store(true);
    context->TryCancel();
  }
  // Ends the call's stream with `status` (its state is freed now, a reader waiting on
  // backpressure wakes); the first reason given is the one the call keeps.
  void Abort(const absl::Status& status) {
    std::shared_ptr<StreamSession> s;
    {
      absl::MutexLock lock(&mu);
      if (abort_status.ok()) abort_status = status;
      s = session;
    }
    if (s != nullptr) s->Abort(status);
  }
};

// Ends a call: unregisters it, counts it by status code, logs its end line.
class AsrService::CallGuard {
 public:
  CallGuard(AsrService* service, std::shared_ptr<Call> call) : service_(service), call_(std::move(call)) {}
  ~CallGuard() {
    if (!finished_) Finish(grpc::Status(grpc::StatusCode::INTERNAL, "call ended without a status"));
  }
  grpc::Status Finish(grpc::Status status) {
    finished_ = true;
    double audio = 0;
    std::shared_ptr<StreamSession> session;
    {
      absl::MutexLock lock(&call_->mu);
      session = std::move(call_->session);
    }
    if (session != nullptr) {
      audio = session->received_seconds();
      session->Abort(absl::CancelledError("call ended"));  // no-op once final; frees state otherwise
      session.reset();
    }
    if (call_->context->IsCancelled()) {
      if (call_->cancelled_by_server.load()) {
        // The server stopped the call itself: its reason (the watchdog's, the shutdown's), else
        // what the handler found (e.g. OUT_OF_RANGE while the writer was stuck).
        if (absl::Status reason = call_->aborted(); !reason.ok()) {
          status = ToGrpcStatus(reason);
        } else if (status.ok()) {
          status = grpc::Status(grpc::StatusCode::CANCELLED, "stopped by the server");
        }
      } else if (status.error_code() != grpc::StatusCode::CANCELLED &&
                 status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        // A client that went away (or a call gRPC failed, e.g. an oversize message): whatever
        // the handler made of the failed Read (a half-close, audio ending inside a sample) is
        // not what happened.
        status = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client");
      }
    }
    // DEADLINE_EXCEEDED when the client's deadline passed.
    // gRPC does not say why a call was cancelled. A client's own deadline usually cancels the
    // call (RST_STREAM) just before the server's copy of it passes, hence the margin.
    if (status.error_code() == grpc::StatusCode::CANCELLED &&
        absl::FromChrono(call_->context->deadline()) <= absl::Now() + absl::Milliseconds(250)) {
      status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded");
    }
    service_->Unregister(*call_);
    if (service_->metrics_ != nullptr) {
      service_->metrics_->active_streams().Decrement();
      service_->metrics_->CountStream(StatusCodeName(status.error_code()));
    }
    Log("stream ", call_->id, " end: status=", StatusCodeName(status.error_code()),
        status.ok() ? "" : absl::StrCat(" (", status.error_message(), ")"), " audio=",
        absl::StrFormat("%.2f", audio), "s wall=",
        absl::StrFormat("%.2f", absl::ToDoubleSeconds(absl::Now() - call_->start)), "s");
    return status;
  }

 private:
  AsrService* service_;
  std::shared_ptr<Call> call_;
  bool finished_ = false;
};

AsrService::AsrService(const OnlineRecognizer& recognizer, Scheduler* scheduler, ServerMetrics* metrics,
                       const AsrServiceOptions& options)
    : recognizer_(recognizer), scheduler_(scheduler), metrics_(metrics), options_(options) {
  watchdog_ = std::thread([this] { WatchdogLoop(); });
}

AsrService::~AsrService() {
  {
    absl::MutexLock lock(&watchdog_mu_);
    watchdog_stop_ = true;
  }
  watchdog_.join();
}

void AsrService::WatchdogLoop() {
  // About every second (more often for a timeout under 2 s, as in tests).
  absl::Duration shortest = options_.write_stall_timeout;
  if (options_.stream_idle_timeout > absl::ZeroDuration()) {
    shortest = std::min(shortest, options_.stream_idle_timeout);
  }
  const absl::Duration period = std::clamp(shortest / 4, absl::Milliseconds(10), absl::Seconds(1));
  while (true) {
    {
      absl::MutexLock lock(&watchdog_mu_);
      if (watchdog_mu_.AwaitWithTimeout(absl::Condition(&watchdog_stop_), period)) return;
    }
    CancelStalledWrites();
    if (options_.stream_idle_timeout > absl::ZeroDuration()) CancelIdleReads();
  }
}

std::vector<std::shared_ptr<AsrService::Call>> AsrService::CallsWaitingLongerThan(
    std::atomic<int64_t> Call::*since, absl::Duration limit) const {
  const int64_t now = absl::GetCurrentTimeNanos();
  const int64_t limit_ns = absl::ToInt64Nanoseconds(limit);
  std::vector<std::shared_ptr<Call>> found;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, call] : calls_) {
    const int64_t began = ((*call).*since).load();
    if (began != 0 && now - began > limit_ns && !call->cancelled_by_server.load()) found.push_back(call);
  }
  return found;
}

void AsrService::StopByServer(Call& call, const absl::Status& status) {
  Log("stream ", call.id, ": cancelling: ", status.message());
  call.Abort(status);
  call.CancelByServer();  // unblocks the writer's Write and the reader's Read
}

void AsrService::CancelIdleReads() {
  const double seconds = absl::ToDoubleSeconds(options_.stream_idle_timeout);
  for (const auto& call : CallsWaitingLongerThan(&Call::read_started_ns, options_.stream_idle_timeout)) {
    StopByServer(*call, absl::DeadlineExceededError(
                            call->config_received.load()
                                ? absl::StrFormat("no message from the client for %g s: the server "
                                                  "stopped the stream (--stream_idle_timeout_s)", seconds)
                                : absl::StrFormat("no config from the client within %g s: the server "
                                                  "stopped the stream (--stream_idle_timeout_s)", seconds)));
  }
}

void AsrService::CancelStalledWrites() {
  for (const auto& call : CallsWaitingLongerThan(&Call::write_started_ns, options_.write_stall_timeout)) {
    StopByServer(*call, absl::ResourceExhaustedError(absl::StrFormat(
                            "the client did not read its responses for %g s: the server stopped the "
                            "stream (--write_stall_timeout_s)",
                            absl::ToDoubleSeconds(options_.write_stall_timeout))));
  }
}

void AsrService::StartDrain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

int AsrService::open_calls() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(calls_.size());
}

bool AsrService::WaitUntilIdle(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.empty(); };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

void AsrService::AbortAll(const absl::Status& status, absl::Duration grace) {
  std::vector<std::shared_ptr<Call>> calls;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, call] : calls_) calls.push_back(call);
  }
  for (const auto& call : calls) call->Abort(status);
  if (WaitUntilIdle(absl::Now() + grace)) return;
  // Readers still blocked in Read(): their clients are silent. Cancel those calls.
  absl::MutexLock lock(&mu_);
  for (const auto& [id, call] : calls_) {
    Log("stream ", id, ": cancelling (the client sent nothing during shutdown)");
    call->CancelByServer();
  }
}

absl::StatusOr<std::shared_ptr<AsrService::Call>> AsrService::Admit(grpc::ServerContext* context,
                                                                     const char* method) {
  auto refuse = [&](absl::Status status) {
    if (metrics_ != nullptr) metrics_->CountStream(StatusCodeName(static_cast<int>(status.code())));
    Log(method, " from ", context->peer(), " rejected: ", status.message());
    return status;
  };
  // Authentication first: an unauthenticated client learns nothing about the server's load.
  if (options_.authenticator != nullptr) {
    if (absl::Status s = options_.authenticator->CheckMetadata(context->client_metadata()); !s.ok()) {
      return refuse(s);
    }
  }
  std::string peer_key = PeerKey(*context);
  absl::MutexLock lock(&mu_);
  if (draining_) return refuse(absl::UnavailableError("the server is shutting down"));
  if (static_cast<int>(calls_.size()) >= options_.max_streams) {
    return refuse(absl::ResourceExhaustedError(absl::StrCat(
        "too many open streams: the server takes at most ", options_.max_streams, " (--max_streams)")));
  }
  if (options_.max_streams_per_peer > 0 && calls_per_peer_[peer_key] >= options_.max_streams_per_peer) {
    return refuse(absl::ResourceExhaustedError(absl::StrCat(
        "too many open streams from this client: at most ", options_.max_streams_per_peer, " per ",
        options_.authenticator != nullptr ? "bearer token" : "connection", " (--max_streams_per_peer)")));
  }
  auto call = std::make_shared<Call>();
  call->id = next_id_++;
  call->method = method;
  call->context = context;
  call->start = absl::Now();
  call->peer_key = std::move(peer_key);
  ++calls_per_peer_[call->peer_key];
  calls_[call->id] = call;
  if (metrics_ != nullptr) metrics_->active_streams().Increment();
  // Every call is logged from its admission, whether or not it ever sends a message ("start"
  // follows once its config is read).
  Log("stream ", call->id, " open: ", method, " peer=", context->peer());
  return call;
}

std::string AsrService::PeerKey(const grpc::ServerContext& context) const {
  if (options_.authenticator != nullptr) {
    // Authenticated before this: exactly one authorization entry, an accepted token.
    const auto& metadata = context.client_metadata();
    auto it = metadata.find("authorization");
    if (it != metadata.end()) return "token " + std::string(it->second.data(), it->second.size());
  }
  return "connection " + context.peer();  // e.g. ipv4:10.0.0.7:53412: one per HTTP/2 connection
}

void AsrService::Unregister(const Call& call) {
  absl::MutexLock lock(&mu_);
  calls_.erase(call.id);
  auto it = calls_per_peer_.find(call.peer_key);
  if (it != calls_per_peer_.end() && --it->second <= 0) calls_per_peer_.erase(it);
}

absl::StatusOr<std::shared_ptr<StreamSession>> AsrService::StartSession(
    Call& call, const pb::RecognitionConfig& config) {
  SessionOptions so;
  so.enable_lact = (config.has_enable_lact() ? config.enable_lact() : options_.lact_default) &&
                   options_.model_has_lact;
  so.word_times = config.enable_word_time_offsets();
  so.feed_ms = options_.feed_ms;
  so.max_audio_seconds = options_.max_stream_seconds;
  auto session = StreamSession::Create(call.id, recognizer_, scheduler_, metrics_, so);
  absl::MutexLock lock(&call.mu);
  if (!call.abort_status.ok()) return call.abort_status;  // shutdown began meanwhile
  call.session = session;
  return session;
}

grpc::Status AsrService::StreamingRecognize(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<pb::StreamingRecognizeResponse, pb::StreamingRecognizeRequest>* stream) {
  auto admitted = Admit(context, "StreamingRecognize");
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  std::shared_ptr<Call> call = *admitted;
  CallGuard guard(this, call);

  // The request sequence (config, audio, half-close) is the handler's; the session it starts
  // is kept here for the writer.
  StreamRequestSettings settings;
  settings.model_sample_rate = options_.model_sample_rate;
  settings.max_stream_seconds = options_.max_stream_seconds;
  std::shared_ptr<StreamSession> session;
  StreamRequestHandler handler(
      settings, [&](const pb::RecognitionConfig& config) -> absl::StatusOr<std::unique_ptr<AudioSink>> {
        auto started = StartSession(*call, config);
        if (!started.ok()) return started.status();
        session = *started;
        return std::make_unique<SessionSink>(session);
      });

  // Reads the next message; the watchdog stops the call if the client sends none for
  // --stream_idle_timeout_s.
  auto read = [&](pb::StreamingRecognizeRequest* request) {
    call->read_started_ns.store(std::max<int64_t>(1, absl::GetCurrentTimeNanos()));
    const bool got = stream->Read(request);
    call->read_started_ns.store(0);
    return got;
  };

  // 1. The config.
  pb::StreamingRecognizeRequest request;
  if (!read(&request)) {
    if (context->IsCancelled() || CancelledAfterFailedRead(context)) {
      return guard.Finish(grpc::Status::CANCELLED);
    }
    return guard.Finish(ToGrpcStatus(handler.OnHalfClose(absl::Now())));  // "no config"
  }
  call->config_received.store(true);
  if (absl::Status s = handler.OnMessage(request, absl::Now()); !s.ok()) {
    return guard.Finish(ToGrpcStatus(s));
  }
  const pb::StreamingRecognitionConfig& streaming_config = handler.streaming_config();
  const bool interim = streaming_config.interim_results();
  const bool word_times = streaming_config.config().enable_word_time_offsets();
  Log("stream ", call->id, " start: StreamingRecognize peer=", context->peer(), " ",
      handler.format().ToString(),
      " lact=", streaming_config.config().has_enable_lact()
                    ? (streaming_config.config().enable_lact() ? "on" : "off")
                    : "default",
      " interim=", interim ? "on" : "off", " words=", word_times ? "on" : "off");

  // 2. The writer: interim results while audio arrives, the final after the half-close.
  absl::Status writer_status;
  absl::Notification writer_done;
  std::thread writer([&] {
    uint64_t version = 0;
    std::string last_sent;
    while (true) {
      ResultSnapshot r;
      absl::Status s = session->WaitForUpdate(version, absl::Now() + kPollInterval, &r);
      if (!s.ok()) {
        writer_status = s;
        break;
      }
      if (context->IsCancelled()) {
        writer_status = absl::CancelledError("cancelled by the client");
        break;
      }
      if (r.version == version) continue;
      version = r.version;
      if (!r.is_final && (!interim || r.text == last_sent)) continue;
      pb::StreamingRecognizeResponse response;
      pb::StreamingRecognitionResult* result = response.add_results();
      FillAlternative(r, word_times, result->add_alternatives());
      result->set_is_final(r.is_final);
      result->set_stable_transcript(r.committed_text);
      result->set_stability(r.is_final ? 1.0f
                            : r.text.empty() ? 0.0f
                                             : static_cast<float>(r.committed_text.size()) /
                                                   static_cast<float>(r.text.size()));
      SetDuration(r.end_seconds, result->mutable_result_end_time());
      SetDuration(session->received_seconds(), response.mutable_audio_received());
      call->write_started_ns.store(std::max<int64_t>(1, absl::GetCurrentTimeNanos()));
      const bool written = stream->Write(response);
      call->write_started_ns.store(0);
      if (!written) {
        writer_status = absl::CancelledError("the client stopped reading");
        break;
      }
      const absl::Time sent = absl::Now();
      if (r.is_final) {
        if (metrics_ != nullptr) {
          metrics_->final_latency_seconds().Observe(absl::ToDoubleSeconds(sent - session->half_close_time()));
        }
        break;
      }
      last_sent = r.text;
      if (metrics_ != nullptr && r.newest_audio_arrival != absl::InfinitePast()) {
        metrics_->interim_latency_seconds().Observe(absl::ToDoubleSeconds(sent - r.newest_audio_arrival));
      }
    }
    writer_done.Notify();
  });

  // 3. The reader: audio until the half-close.
  absl::Status read_status;
  while (true) {
    if (absl::Status a = call->aborted(); !a.ok()) {
      read_status = a;
      break;
    }
    if (!read(&request)) {
      if (context->IsCancelled()) {
        read_status = absl::CancelledError("cancelled by the client");
      } else {
        read_status = handler.OnHalfClose(absl::Now());
        // E.g. "ends inside a sample frame" of a call that gRPC failed on an oversize message.
        if (!read_status.ok() && CancelledAfterFailedRead(context)) {
          read_status = absl::CancelledError("cancelled by the client");
        }
      }
      break;
    }
    read_status = handler.OnMessage(request, absl::Now());
    if (!read_status.ok()) break;
  }
  if (!read_status.ok()) session->Abort(read_status);

  // After the half-close the writer still sends the results of the audio not yet decoded, which
  // can take long when the client sent faster than real time. Keep waiting while decoding makes
  // progress; cancel only a writer that made none for kWriterJoinTimeout (a Write stuck in flow
  // control because the client stopped reading).
  int64_t frames_seen = session->committed_frames();
  while (!writer_done.WaitForNotificationWithTimeout(kWriterJoinTimeout)) {
    const int64_t frames_now = session->committed_frames();
    if (frames_now == frames_seen || context->IsCancelled()) {
      if (context->IsCancelled()) {
        context->TryCancel();  // the client's cancel: nothing of the server's to record
      } else {
        call->CancelByServer();
      }
      break;
    }
    frames_seen = frames_now;
  }
  writer.join();
  if (!read_status.ok()) return guard.Finish(ToGrpcStatus(read_status));
  return guard.Finish(ToGrpcStatus(writer_status));
}

grpc::Status AsrService::Recognize(grpc::ServerContext* context, const pb::RecognizeRequest* request,
                                   pb::RecognizeResponse* response) {
  auto admitted = Admit(context, "Recognize");
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  std::shared_ptr<Call> call = *admitted;
  CallGuard guard(this, call);
  if (!request->has_config()) {
    return guard.Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "missing config: RecognizeRequest.config is not set"));
  }
  auto format = AudioFormatFromConfig(request->config());
  if (!format.ok()) return guard.Finish(ToGrpcStatus(format.status()));
  if (format->encoding == AudioEncoding::kOpus) {
    return guard.Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "OPUS (one raw packet per message) cannot carry a whole clip: "
                                     "use OGG_OPUS with Recognize"));
  }
  auto decoder = CreateAudioDecoder(*format, options_.model_sample_rate);
  if (!decoder.ok()) return guard.Finish(ToGrpcStatus(decoder.status()));
  auto started = StartSession(*call, request->config());
  if (!started.ok()) return guard.Finish(ToGrpcStatus(started.status()));
  std::shared_ptr<StreamSession> session = *started;
  Log("stream ", call->id, " start: Recognize peer=", context->peer(), " ", format->ToString());
  // The clip goes to the session a piece at a time while it is decoded (the session's
  // backpressure holds the decoding back), so a long clip never sits in memory decoded whole;
  // an Ogg Opus clip that decodes past --max_stream_seconds stops at the first packet past it.
  const int rate = (*decoder)->sample_rate();
  (*decoder)->set_max_samples_per_decode(SampleAllowance(options_.max_stream_seconds, rate, 0));
  (*decoder)->set_piece_sink(StreamRequestSettings().piece_samples, [&](std::vector<float>* piece) {
    return session->AddAudio(rate, *piece, absl::Now());
  });
  std::vector<float> samples;
  absl::Status s = (*decoder)->Decode(request->audio_content(), &samples);
  if (s.ok()) s = (*decoder)->Finish(&samples);
  if (s.ok() && !samples.empty()) s = session->AddAudio(rate, samples, absl::Now());
  if (s.code() == absl::StatusCode::kOutOfRange) s = StreamDurationError(options_.max_stream_seconds);
  if (!s.ok()) {
    session->Abort(s);
    return guard.Finish(ToGrpcStatus(s));
  }
  session->FinishInput(absl::Now());
  ResultSnapshot r;
  uint64_t version = 0;
  while (true) {
    s = session->WaitForUpdate(version, absl::Now() + kPollInterval, &r);
    if (!s.ok()) return guard.Finish(ToGrpcStatus(s));
    if (r.is_final) break;
    version = r.version;
    if (context->IsCancelled()) return guard.Finish(grpc::Status::CANCELLED);
    if (absl::Status a = call->aborted(); !a.ok()) return guard.Finish(ToGrpcStatus(a));
  }
  FillAlternative(r, request->config().enable_word_time_offsets(), response->add_alternatives());
  SetDuration(session->received_seconds(), response->mutable_audio_duration());
  return guard.Finish(grpc::Status::OK);
}

}  // namespace lact::server
