#include "server/stream_request_handler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lact::server {

namespace pb = lact::asr::v1;

absl::StatusOr<AudioFormat> AudioFormatFromConfig(const pb::RecognitionConfig& config) {
  AudioFormat f;
  switch (config.encoding()) {
    case pb::LINEAR16: f.encoding = AudioEncoding::kLinear16; break;
    case pb::FLOAT32: f.encoding = AudioEncoding::kFloat32; break;
    case pb::OGG_OPUS: f.encoding = AudioEncoding::kOggOpus; break;
    case pb::OPUS: f.encoding = AudioEncoding::kOpus; break;
    case pb::ENCODING_UNSPECIFIED: f.encoding = AudioEncoding::kUnspecified; break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown encoding ", static_cast<int>(config.encoding())));
  }
  f.sample_rate_hertz = config.sample_rate_hertz();
  f.channel_count = config.audio_channel_count();
  if (absl::Status s = f.Validate(); !s.ok()) return s;
  return f;
}

int64_t SampleAllowance(double max_seconds, int sample_rate, int64_t accepted) {
  const double limit = max_seconds * static_cast<double>(sample_rate);
  if (!(limit < 0x1p62)) return std::numeric_limits<int64_t>::max();  // also NaN
  return std::max<int64_t>(0, static_cast<int64_t>(std::ceil(std::max(limit, 0.0))) + 2 - accepted);
}

absl::Status StreamDurationError(double max_seconds) {
  return absl::OutOfRangeError(absl::StrCat("the stream exceeds the maximum duration of ",
                                            max_seconds, " s of audio (--max_stream_seconds)"));
}

StreamRequestHandler::StreamRequestHandler(const StreamRequestSettings& settings,
                                           SessionFactory factory)
    : settings_(settings), factory_(std::move(factory)) {}

StreamRequestHandler::~StreamRequestHandler() = default;

absl::Status StreamRequestHandler::Fail(absl::Status status) {
  status_ = std::move(status);
  message_open_ = false;
  message_ = {};
  samples_.clear();
  samples_.shrink_to_fit();
  return status_;
}

absl::Status StreamRequestHandler::OnMessage(const pb::StreamingRecognizeRequest& request,
                                             absl::Time arrival) {
  if (absl::Status s = BeginMessage(request, arrival); !s.ok()) return s;
  while (message_open_) {
    absl::StatusOr<bool> done = ContinueMessage();
    if (!done.ok()) return done.status();
  }
  return absl::OkStatus();
}

absl::Status StreamRequestHandler::CanBegin() const {
  if (!status_.ok()) return status_;
  if (half_closed_) return absl::FailedPreconditionError("a message after the half-close");
  if (message_open_) return absl::FailedPreconditionError("a message before the last one ended");
  return absl::OkStatus();
}

absl::Status StreamRequestHandler::BeginMessage(const pb::StreamingRecognizeRequest& request,
                                                absl::Time arrival) {
  if (absl::Status s = CanBegin(); !s.ok()) return s;
  if (!started()) return OnConfig(request);
  return OnAudio(request, arrival);
}

size_t StreamRequestHandler::SliceBytes() const {
  switch (format_.encoding) {
    case AudioEncoding::kOpus:
      return std::numeric_limits<size_t>::max();  // one packet
    // Up to ~620 samples per byte at 16 kHz (a page of 2-byte 120 ms packets, audio_decoder.h):
    // 256 bytes decode to at most ~10 s.
    case AudioEncoding::kOggOpus: return 256;
    default: return 64 << 10;
  }
}

absl::Status StreamRequestHandler::OnConfig(const pb::StreamingRecognizeRequest& request) {
  if (request.streaming_request_case() == pb::StreamingRecognizeRequest::kAudioContent) {
    return Fail(absl::InvalidArgumentError(
        "audio before config: the first StreamingRecognizeRequest must carry streaming_config, "
        "audio_content comes after it"));
  }
  if (request.streaming_request_case() != pb::StreamingRecognizeRequest::kStreamingConfig) {
    return Fail(absl::InvalidArgumentError(
        "missing config: the first StreamingRecognizeRequest has neither streaming_config nor "
        "audio_content"));
  }
  streaming_config_ = request.streaming_config();
  if (!streaming_config_.has_config()) {
    return Fail(absl::InvalidArgumentError(
        "missing config: streaming_config.config (RecognitionConfig) is not set"));
  }
  auto format = AudioFormatFromConfig(streaming_config_.config());
  if (!format.ok()) return Fail(format.status());
  format_ = *format;
  auto decoder = CreateAudioDecoder(format_, settings_.model_sample_rate);
  if (!decoder.ok()) return Fail(decoder.status());
  auto sink = factory_(streaming_config_);
  if (!sink.ok()) return Fail(sink.status());
  if (*sink == nullptr) return Fail(absl::InternalError("the session factory returned no session"));
  decoder_ = std::move(*decoder);
  sink_ = std::move(*sink);
  // Long messages reach the sink while they are decoded, a piece at a time: one message's
  // memory is then a piece, and the sink's backpressure holds the decoding back.
  decoder_->set_piece_sink(settings_.piece_samples, [this](std::vector<float>* samples) {
    return Deliver(*samples, arrival_);
  });
  return absl::OkStatus();
}

absl::Status StreamRequestHandler::OnAudio(const pb::StreamingRecognizeRequest& request,
                                           absl::Time arrival) {
  if (request.streaming_request_case() != pb::StreamingRecognizeRequest::kAudioContent) {
    return Fail(absl::InvalidArgumentError(
        "streaming_config may only be sent once, in the first message; later messages carry "
        "audio_content"));
  }
  return OpenMessage(request.audio_content(), arrival);
}

absl::Status StreamRequestHandler::BeginAudio(std::string_view audio, absl::Time arrival) {
  if (absl::Status s = CanBegin(); !s.ok()) return s;
  if (!started()) return absl::FailedPreconditionError("audio before the config");
  return OpenMessage(audio, arrival);
}

absl::Status StreamRequestHandler::OpenMessage(std::string_view audio, absl::Time arrival) {
  arrival_ = arrival;
  message_ = audio;
  message_open_ = true;  // even when empty: ContinueMessage then decodes nothing
  return absl::OkStatus();
}

absl::StatusOr<bool> StreamRequestHandler::ContinueMessage() {
  if (!status_.ok()) return status_;
  if (!message_open_) return absl::FailedPreconditionError("no message to continue");
  const std::string_view slice = message_.substr(0, SliceBytes());
  message_.remove_prefix(slice.size());
  message_open_ = !message_.empty();
  // The sink refuses audio past max_stream_seconds; the decoder may stop as soon as this slice
  // certainly crosses that line, so it never holds more than the stream has left plus one packet,
  // however much the message would decode to.
  decoder_->set_max_samples_per_decode(
      SampleAllowance(settings_.max_stream_seconds, decoder_->sample_rate(), accepted_samples_));
  samples_.clear();
  absl::Status s = decoder_->Decode(slice, &samples_);
  if (s.ok()) s = Deliver(samples_, arrival_);
  if (s.code() == absl::StatusCode::kOutOfRange)
    return Fail(StreamDurationError(settings_.max_stream_seconds));
  if (!s.ok()) return Fail(std::move(s));
  return !message_open_;
}

absl::Status StreamRequestHandler::Deliver(const std::vector<float>& samples, absl::Time arrival) {
  if (samples.empty()) return absl::OkStatus();
  absl::Status s = sink_->AddAudio(decoder_->sample_rate(), samples, arrival);
  if (!s.ok()) return s;
  accepted_samples_ += static_cast<int64_t>(samples.size());
  return absl::OkStatus();
}

absl::Status StreamRequestHandler::OnHalfClose(absl::Time when) {
  if (!status_.ok()) return status_;
  if (half_closed_) return absl::FailedPreconditionError("a second half-close");
  if (message_open_) return absl::FailedPreconditionError("the half-close inside a message");
  if (!started()) {
    return Fail(absl::InvalidArgumentError(
        "no config: the stream ended before its first message (streaming_config)"));
  }
  samples_.clear();
  if (absl::Status s = decoder_->Finish(&samples_); !s.ok()) return Fail(std::move(s));
  if (absl::Status s = Deliver(samples_, when); !s.ok()) return Fail(std::move(s));
  half_closed_ = true;
  sink_->FinishInput(when);
  return absl::OkStatus();
}

}  // namespace lact::server
