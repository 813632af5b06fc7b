#include "server/unary_call.h"

#include <algorithm>
#include <utility>

#include "server/audio_decoder.h"
#include "server/log.h"
#include "server/recognition_results.h"
#include "server/session_sink.h"
#include "server/status_mapping.h"

namespace lact::server {

namespace pb = lact::asr::v1;

namespace {

// A PCM clip's duration is its size: one past --max_stream_seconds (by more than 10 ms, so that
// the session's own count, after any resampling, would certainly refuse it too) is refused before
// the model spends anything on it. Ogg Opus is checked as it decodes (StreamRequestHandler).
absl::Status CheckPcmDuration(const AudioFormat& format, size_t bytes, double max_seconds) {
  const int sample_bytes = format.encoding == AudioEncoding::kLinear16  ? 2
                           : format.encoding == AudioEncoding::kFloat32 ? 4
                                                                        : 0;
  if (sample_bytes == 0 || format.sample_rate_hertz <= 0) return absl::OkStatus();
  const double frames =
      static_cast<double>(bytes) / (sample_bytes * std::max(1, format.channel_count));
  if (frames / format.sample_rate_hertz > max_seconds + 0.01) {
    return StreamDurationError(max_seconds);
  }
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* RecognizeCall::Start(const ServiceContext& service,
                                               std::shared_ptr<Call> call,
                                               grpc::CallbackServerContext* context,
                                               const pb::RecognizeRequest* request,
                                               pb::RecognizeResponse* response) {
  std::shared_ptr<RecognizeCall> reactor(
      new RecognizeCall(service, std::move(call), context, request, response));
  reactor->self_ = reactor;
  {
    // The watchdog's and the shutdown's Abort: the call then finishes with their status.
    absl::MutexLock lock(&reactor->call_->mu);
    reactor->call_->on_abort = [weak = reactor->weak_from_this()] {
      if (std::shared_ptr<RecognizeCall> self = weak.lock()) self->Kick();
    };
  }
  reactor->Kick();  // steps 1 and 2 as far as the session has room
  return reactor.get();
}

RecognizeCall::RecognizeCall(const ServiceContext& service, std::shared_ptr<Call> call,
                             grpc::CallbackServerContext* context,
                             const pb::RecognizeRequest* request, pb::RecognizeResponse* response)
    : service_(service),
      call_(std::move(call)),
      context_(context),
      request_(*request),
      response_(response),
      handler_(RequestSettingsFor(service.options),
               [this](const pb::StreamingRecognitionConfig& config)
                   -> absl::StatusOr<std::unique_ptr<AudioSink>> {
                 // max_outbox 0: the finals are read as they come, and sent only at the end.
                 auto started = service_.StartSession(*call_, config, service_.clip_recognizer,
                                                      /*max_outbox=*/0);
                 if (!started.ok()) return started.status();
                 session_ = *started;
                 return std::make_unique<SessionSink>(session_);
               }) {}

void RecognizeCall::OnCancel() {
  cancelled_.store(true);
  Kick();
}

void RecognizeCall::OnDone() {
  // Settled again now that gRPC knows whether the call was cancelled; counted and logged.
  service_.registry->Finish(*call_, final_status_);
  std::shared_ptr<RecognizeCall> self = std::move(self_);  // may be the last reference
}

void RecognizeCall::Kick() {
  std::shared_ptr<RecognizeCall> keep = weak_from_this().lock();  // null once done
  if (keep == nullptr) return;
  steps_.Kick([this] { Step(); });
}

void RecognizeCall::Step() {
  if (finished_) return;
  if (cancelled_.load()) Fail(absl::CancelledError("cancelled by the client"));
  if (absl::Status aborted = call_->aborted(); !aborted.ok()) Fail(aborted);
  if (!begun_) Begin();
  FeedClip();
  TakeFinals();
  MaybeFinish();
}

void RecognizeCall::Fail(absl::Status status) {
  if (!status_.ok()) return;
  status_ = std::move(status);
  if (session_ != nullptr) session_->Abort(status_);  // its listener kicks Step again
}

void RecognizeCall::Begin() {
  begun_ = true;
  if (!status_.ok()) return;
  if (!request_.has_config()) {
    return Fail(absl::InvalidArgumentError("missing config: RecognizeRequest.config is not set"));
  }
  absl::StatusOr<AudioFormat> format = AudioFormatFromConfig(request_.config());
  if (!format.ok()) return Fail(format.status());
  if (format->encoding == AudioEncoding::kOpus) {
    return Fail(absl::InvalidArgumentError(
        "OPUS (one raw packet per message) cannot carry a whole clip: use OGG_OPUS with "
        "Recognize"));
  }
  if (absl::Status s = CheckPcmDuration(*format, request_.audio_content().size(),
                                        service_.options.max_stream_seconds);
      !s.ok()) {
    return Fail(s);
  }
  // The clip's config as a stream's first message: the same checks, decoder and session.
  pb::StreamingRecognizeRequest first;
  *first.mutable_streaming_config()->mutable_config() = request_.config();
  if (absl::Status s = handler_.BeginMessage(first, absl::Now()); !s.ok()) return Fail(s);
  session_->SetListener([weak = weak_from_this()] {
    if (std::shared_ptr<RecognizeCall> call = weak.lock()) call->Kick();
  });
  Log("stream ", call_->id, " start: Recognize peer=", context_->peer(), " ",
      handler_.format().ToString());
  if (absl::Status s = handler_.BeginAudio(request_.audio_content(), absl::Now()); !s.ok()) Fail(s);
}

// The clip is decoded a slice at a time while the session has room; the rest waits for the
// session's listener (a decode took audio from the buffer). Then the end of input.
void RecognizeCall::FeedClip() {
  if (!status_.ok() || input_done_ || session_ == nullptr) return;
  absl::Status s;
  while (s.ok() && handler_.message_open() && session_->has_room()) {
    s = handler_.ContinueMessage().status();
  }
  if (s.ok() && handler_.message_open()) return;  // backpressure
  if (s.ok()) s = handler_.OnHalfClose(absl::Now());
  if (s.code() == absl::StatusCode::kOutOfRange) {
    s = StreamDurationError(service_.options.max_stream_seconds);
  }
  if (!s.ok()) return Fail(s);
  input_done_ = true;
}

void RecognizeCall::TakeFinals() {
  if (session_ == nullptr || !status_.ok() || ended_) return;
  SessionUpdate update;
  if (absl::Status s = session_->WaitForUpdate(version_, absl::InfinitePast(), &update); !s.ok())
    return Fail(s);
  for (SessionMessage& m : update.messages) {
    if (m.event == SpeechEvent::kNone) finals_.push_back(std::move(m.result));
  }
  version_ = std::max(version_, update.interim.version);
  ended_ = update.ended;
}

void RecognizeCall::MaybeFinish() {
  if (finished_) return;
  if (!status_.ok()) {
    final_status_ = ToGrpcStatus(status_);
  } else if (ended_) {
    FillRecognizeResponse(finals_,
                          WordFields{request_.config().enable_word_time_offsets(),
                                     request_.config().enable_word_confidence()},
                          session_->received_seconds(), response_);
    final_status_ = grpc::Status::OK;
  } else {
    return;
  }
  finished_ = true;
  service_.registry->Release(*call_);  // the slot is free before the client learns the status
  Finish(CallRegistry::Settle(*call_, final_status_));
}

}  // namespace lact::server
