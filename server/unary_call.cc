#include "server/unary_call.h"

#include <vector>

#include "server/audio_decoder.h"
#include "server/log.h"
#include "server/recognition_results.h"
#include "server/status_mapping.h"
#include "server/stream_request_handler.h"
#include "server/stream_session.h"

namespace lact::server {

namespace pb = lact::asr::v1;

namespace {

// The clip's decoder, or INVALID_ARGUMENT (no config, a bad format, OPUS, which cannot carry a
// whole clip in one message).
absl::StatusOr<std::unique_ptr<AudioDecoder>> ClipDecoder(const pb::RecognizeRequest& request,
                                                          int model_sample_rate,
                                                          AudioFormat* format) {
  if (!request.has_config()) {
    return absl::InvalidArgumentError("missing config: RecognizeRequest.config is not set");
  }
  auto parsed = AudioFormatFromConfig(request.config());
  if (!parsed.ok()) return parsed.status();
  if (parsed->encoding == AudioEncoding::kOpus) {
    return absl::InvalidArgumentError(
        "OPUS (one raw packet per message) cannot carry a whole clip: use OGG_OPUS with Recognize");
  }
  *format = *parsed;
  return CreateAudioDecoder(*parsed, model_sample_rate);
}

// Decodes the clip into the session a piece at a time; an Ogg Opus clip that decodes past
// --max_stream_seconds stops at the first packet past it. Then the end of input.
absl::Status FeedClip(const std::string& clip, double max_stream_seconds, AudioDecoder& decoder,
                      StreamSession& session) {
  const int rate = decoder.sample_rate();
  decoder.set_max_samples_per_decode(SampleAllowance(max_stream_seconds, rate, 0));
  decoder.set_piece_sink(StreamRequestSettings().piece_samples, [&](std::vector<float>* piece) {
    return session.AddAudio(rate, *piece, absl::Now());
  });
  std::vector<float> samples;
  absl::Status s = decoder.Decode(clip, &samples);
  if (s.ok()) s = decoder.Finish(&samples);
  if (s.ok() && !samples.empty()) s = session.AddAudio(rate, samples, absl::Now());
  if (s.code() == absl::StatusCode::kOutOfRange) s = StreamDurationError(max_stream_seconds);
  if (!s.ok()) return s;
  session.FinishInput(absl::Now());
  return absl::OkStatus();
}

// Waits for the session's finals (one per utterance) until the stream ends; CANCELLED / the
// call's abort reason when those come first.
absl::StatusOr<std::vector<ResultSnapshot>> AwaitFinals(StreamSession& session, Call& call,
                                                        grpc::ServerContext* context) {
  std::vector<ResultSnapshot> finals;
  uint64_t version = 0;
  while (true) {
    SessionUpdate update;
    if (absl::Status s = session.WaitForUpdate(version, absl::Now() + kPollInterval, &update);
        !s.ok())
      return s;
    for (SessionMessage& m : update.messages) {
      if (m.event == SpeechEvent::kNone) finals.push_back(std::move(m.result));
    }
    if (update.ended) return finals;
    version = update.interim.version;
    if (context->IsCancelled()) return absl::CancelledError("cancelled by the client");
    if (absl::Status a = call.aborted(); !a.ok()) return a;
  }
}

}  // namespace

grpc::Status RunRecognize(const ServiceContext& service, std::shared_ptr<Call> call,
                          grpc::ServerContext* context, const pb::RecognizeRequest& request,
                          pb::RecognizeResponse* response) {
  CallGuard guard(service.registry, call);
  AudioFormat format;
  auto decoder = ClipDecoder(request, service.options.model_sample_rate, &format);
  if (!decoder.ok()) return guard.Finish(ToGrpcStatus(decoder.status()));
  pb::StreamingRecognitionConfig streaming;
  *streaming.mutable_config() = request.config();
  auto started = service.StartSession(*call, streaming, /*max_outbox=*/0);
  if (!started.ok()) return guard.Finish(ToGrpcStatus(started.status()));
  std::shared_ptr<StreamSession> session = *started;
  Log("stream ", call->id, " start: Recognize peer=", context->peer(), " ", format.ToString());
  if (absl::Status s = FeedClip(request.audio_content(), service.options.max_stream_seconds,
                                **decoder, *session);
      !s.ok()) {
    session->Abort(s);
    return guard.Finish(ToGrpcStatus(s));
  }
  absl::StatusOr<std::vector<ResultSnapshot>> finals = AwaitFinals(*session, *call, context);
  if (!finals.ok()) {
    if (finals.status().code() == absl::StatusCode::kCancelled && context->IsCancelled()) {
      return guard.Finish(grpc::Status::CANCELLED);
    }
    return guard.Finish(ToGrpcStatus(finals.status()));
  }
  FillRecognizeResponse(*finals,
                        WordFields{request.config().enable_word_time_offsets(),
                                   request.config().enable_word_confidence()},
                        session->received_seconds(), response);
  return guard.Finish(grpc::Status::OK);
}

}  // namespace lact::server
