// One StreamingRecognize call against lact_server (lact.asr.v1.StreamingAsr), measured the way
// riva_streaming_asr_client measures it: a sender thread writes the config and then the audio
// messages (paced by StreamSender), the calling thread reads responses and timestamps each.
//
// Latency of a response: arrival time minus the send time of the audio that caused it: the
// message that completed the audio up to the response's largest `result_end_time` (interim: the
// end of the window the server decoded for it; final: the end of its utterance, where the
// endpointer decided, or all the audio at the half-close). Without an end time: for a final the
// half-close, else the last message sent before the arrival.
// A response holding any final result counts as final, as in Riva's client.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/audio_encoder.h"
#include "client/stream_sender.h"
#include "lact/asr/v1/asr.grpc.pb.h"

namespace lact::eval {

struct StreamConfig {
  AudioEncoding encoding = AudioEncoding::kLinear16;
  int sample_rate = 16000;  // of the encoded audio (RecognitionConfig.sample_rate_hertz)
  bool interim_results = true;
  std::optional<bool> enable_lact;  // unset: the server's default
  std::optional<bool> endpointing;  // RecognitionConfig.endpointing_config.enabled; unset: default
  bool word_confidence = false;     // RecognitionConfig.enable_word_confidence
  int max_alternatives = 0;         // RecognitionConfig.max_alternatives
  // RecognitionConfig.speech_contexts: (phrase, boost) pairs, one SpeechContext per boost value.
  std::vector<std::pair<std::string, double>> boost;
  SendOptions send;
  double timeout_s = 0;  // the call's deadline from its start; 0: none
  // When set: sent as `authorization: Bearer <auth_token>` metadata (lact_server
  // --auth_tokens_file).
  std::string auth_token;
};

// What one completed call measured.
struct StreamOutcome {
  std::string transcript;  // the final results' transcripts, joined by spaces
  // With word_confidence: the confidence of each word of `transcript`, in order.
  std::vector<double> word_confidences;
  // Each final's alternatives' transcripts, best first (one each without max_alternatives).
  std::vector<std::vector<std::string>> final_alternatives;
  int final_results = 0;
  int interim_responses = 0;
  std::vector<double> interim_latencies_ms;
  std::vector<double> final_latencies_ms;  // one per final, in arrival order
  std::vector<double> final_end_s;         // each final's result_end_time (the same order)
  int64_t largest_response_bytes = 0;      // serialized size of the largest response
  int speech_events = 0;                   // responses carrying a speech event
  double first_interim_ms = -1;  // first audio message -> first interim response; < 0: none
  double final_latency_ms = -1;  // half-close -> last final result; < 0: none
  double stream_s = 0;           // first audio message -> call finished
};

// A protobuf Duration in seconds.
double DurationSeconds(const google::protobuf::Duration& d);

// grpc::Status as absl::Status (same code and message).
absl::Status FromGrpcStatus(const grpc::Status& status);

// Blocks until `channel` is connected or `timeout_s` passes (UNAVAILABLE, naming `target`).
absl::Status WaitForServer(grpc::Channel* channel, const std::string& target, double timeout_s);

class StreamClient {
 public:
  explicit StreamClient(std::shared_ptr<grpc::Channel> channel, Clock* clock = RealClock());

  // Streams `chunks` with `config`. An error is the call's non-OK status, or INTERNAL when the
  // server ended the call OK without a final result.
  absl::StatusOr<StreamOutcome> Run(const std::vector<EncodedChunk>& chunks,
                                    const StreamConfig& config) const;

  // The same audio in one Recognize call (offline, as riva_asr_client sends a file): the chunks'
  // bytes joined into one clip (LINEAR16 or OGG_OPUS; INVALID_ARGUMENT for raw OPUS packets),
  // `config` without its pacing and interim settings. Every final's latency, and
  // final_latency_ms, is the call's: request sent -> response received; no interims.
  absl::StatusOr<StreamOutcome> Recognize(const std::vector<EncodedChunk>& chunks,
                                          const StreamConfig& config) const;

  // The server's decoding settings (GetRecognitionConfig), with `auth_token` when set and a
  // deadline of `timeout_s`.
  absl::StatusOr<lact::asr::v1::GetRecognitionConfigResponse> GetRecognitionConfig(
      const std::string& auth_token, double timeout_s = 30) const;

 private:
  std::unique_ptr<lact::asr::v1::StreamingAsr::Stub> stub_;
  Clock* clock_;
};

}  // namespace lact::eval
