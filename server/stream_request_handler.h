// The request sequence of one StreamingRecognize call, without gRPC: what the RPC's reader does
// with each StreamingRecognizeRequest and with the client's half-close. An audio message is
// decoded and delivered in pieces (StreamRequestSettings::piece_samples). server/streaming_call
// feeds it from the gRPC stream; tests/fuzz/fuzz_stream_requests.cc feeds it fuzzed messages.
//
//   first message:  streaming_config (with config) -> validated -> AudioFormat -> decoder ->
//                   the session (SessionFactory)
//   later messages: audio_content -> decoder -> AudioSink::AddAudio (mono float [n], model-side
//                   rate = the decoder's sample_rate())
//   half-close:     decoder Finish -> AddAudio (what it held back) -> AudioSink::FinishInput
//
// Every error is an absl::Status with a message for the client (the service maps it onto the
// gRPC status unchanged): INVALID_ARGUMENT for a wrong sequence, config or audio; OUT_OF_RANGE
// past --max_stream_seconds; otherwise what the factory or the sink returned. The first error
// ends the call: from then on every call returns that same error and touches nothing. After a
// successful OnHalfClose every call is FAILED_PRECONDITION (gRPC delivers nothing after it).
// A long audio message is decoded a slice of its bytes at a time (BeginMessage, then
// ContinueMessage until it is delivered), so the caller can stop between slices while its sink
// is full (server/streaming_call's backpressure) without blocking a thread; OnMessage does it all
// at once. Not thread-safe: one caller at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lact/asr/v1/asr.pb.h"
#include "server/audio_decoder.h"

namespace lact::server {

// Where the audio goes: the call's StreamSession in the server (same contracts as
// StreamSession::AddAudio / FinishInput), a recorder in the fuzz target.
class AudioSink {
 public:
  virtual ~AudioSink() = default;
  // Mono samples ([n], n > 0) at `sample_rate` (> 0, the same for the whole call) that arrived
  // at `arrival`. OUT_OF_RANGE past the duration limit; any error ends the call.
  virtual absl::Status AddAudio(int sample_rate, const std::vector<float>& samples,
                                absl::Time arrival) = 0;
  // No more audio (half-close at `when`). Called at most once, never followed by AddAudio.
  virtual void FinishInput(absl::Time when) = 0;
};

// Called once, for the first message's valid config (its format already validated and its
// decoder created): starts the session. An error (e.g. the server began shutting down) ends
// the call with it.
using SessionFactory = std::function<absl::StatusOr<std::unique_ptr<AudioSink>>(
    const lact::asr::v1::StreamingRecognitionConfig& config)>;

struct StreamRequestSettings {
  // Opus is decoded at this rate when libopus can produce it (CreateAudioDecoder).
  int model_sample_rate = 16000;
  // --max_stream_seconds. The sink enforces it (OUT_OF_RANGE); the handler uses it to bound
  // what one message may decode to before the sink sees it (see OnMessage).
  double max_stream_seconds = 600;
  // Decoded audio is handed to the sink in pieces of about this many samples while a message is
  // decoded (AudioDecoder::set_piece_sink), so no message is ever held decoded whole.
  size_t piece_samples = 16384;
};

// RecognitionConfig -> AudioFormat (validated): InvalidArgument naming the bad field.
absl::StatusOr<AudioFormat> AudioFormatFromConfig(const lact::asr::v1::RecognitionConfig& config);

// How many more samples at `sample_rate` certainly take a stream that has `accepted` samples
// past `max_seconds` (the sink's rule: total / rate > max_seconds; +2 is a margin for the
// rounding of max_seconds * rate). For AudioDecoder::set_max_samples_per_decode; int64 max when
// the limit is too large to matter.
int64_t SampleAllowance(double max_seconds, int sample_rate, int64_t accepted);
// The OUT_OF_RANGE error of a stream past --max_stream_seconds: the same as
// StreamSession::AddAudio's.
absl::Status StreamDurationError(double max_seconds);

class StreamRequestHandler {
 public:
  StreamRequestHandler(const StreamRequestSettings& settings, SessionFactory factory);
  ~StreamRequestHandler();
  StreamRequestHandler(const StreamRequestHandler&) = delete;
  StreamRequestHandler& operator=(const StreamRequestHandler&) = delete;

  // One message from the client, received at `arrival`. The first must carry streaming_config
  // with its config; every later one audio_content (bytes in the config's encoding). An audio
  // message is decoded and its samples handed to the sink; one that would decode to more audio
  // than the stream has left before --max_stream_seconds is refused with OUT_OF_RANGE without
  // decoding the rest of it (an Ogg Opus message can decode to thousands of samples per byte).
  absl::Status OnMessage(const lact::asr::v1::StreamingRecognizeRequest& request,
                         absl::Time arrival);
  // OnMessage in steps: BeginMessage checks the message (and handles a config whole); an audio
  // message is then decoded by ContinueMessage, one slice of its bytes per call (kOpus: the
  // packet; Ogg Opus: 256 bytes, at most ~10 s of audio; PCM: 64 KiB), true once all of it was
  // delivered. `request` must stay unchanged until then. The errors are OnMessage's.
  absl::Status BeginMessage(const lact::asr::v1::StreamingRecognizeRequest& request,
                            absl::Time arrival);
  absl::StatusOr<bool> ContinueMessage();
  // BeginMessage for audio bytes that are not in a StreamingRecognizeRequest (Recognize's clip,
  // server/unary_call), after the config: the same checks and errors; `audio` must outlive the
  // message.
  absl::Status BeginAudio(std::string_view audio, absl::Time arrival);
  // True between an audio message's BeginMessage and its last ContinueMessage.
  bool message_open() const { return message_open_; }
  // The client half-closed at `when`: INVALID_ARGUMENT before any message ("no config"), the
  // decoder's error when the audio ended mid-frame or mid-stream; else the sink gets the rest of
  // the audio and FinishInput.
  absl::Status OnHalfClose(absl::Time when);

  // True once the first message was accepted (the session exists).
  bool started() const { return decoder_ != nullptr && sink_ != nullptr; }
  // The first message's config and its format; valid once started().
  const lact::asr::v1::StreamingRecognitionConfig& streaming_config() const {
    return streaming_config_;
  }
  const AudioFormat& format() const { return format_; }
  // Samples the sink accepted (at the decoder's rate).
  int64_t accepted_samples() const { return accepted_samples_; }
  // The error that ended the call; OK while it goes on.
  const absl::Status& status() const { return status_; }

 private:
  absl::Status OnConfig(const lact::asr::v1::StreamingRecognizeRequest& request);
  absl::Status OnAudio(const lact::asr::v1::StreamingRecognizeRequest& request, absl::Time arrival);
  // The call's error, or FAILED_PRECONDITION after the half-close or with a message open.
  absl::Status CanBegin() const;
  absl::Status OpenMessage(std::string_view audio, absl::Time arrival);
  // Bytes of audio_content per ContinueMessage.
  size_t SliceBytes() const;
  // Hands decoded samples to the sink (none: nothing to do); the sink's error, not yet Fail()ed.
  absl::Status Deliver(const std::vector<float>& samples, absl::Time arrival);
  absl::Status Fail(absl::Status status);

  const StreamRequestSettings settings_;
  SessionFactory factory_;
  absl::Status status_;
  bool half_closed_ = false;
  lact::asr::v1::StreamingRecognitionConfig streaming_config_;
  AudioFormat format_;
  std::unique_ptr<AudioDecoder> decoder_;
  std::unique_ptr<AudioSink> sink_;
  int64_t accepted_samples_ = 0;
  std::vector<float> samples_;  // one message's decoded audio not yet delivered (reused)
  absl::Time arrival_;          // of the message being decoded (for the piece sink)
  bool message_open_ = false;
  std::string_view message_;  // the open message's audio_content not yet decoded
};

}  // namespace lact::server
