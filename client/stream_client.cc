#include "client/stream_client.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"

namespace lact::eval {
namespace {

namespace pb = lact::asr::v1;

pb::AudioEncoding ToProto(AudioEncoding encoding) {
  switch (encoding) {
    case AudioEncoding::kLinear16: return pb::LINEAR16;
    case AudioEncoding::kOggOpus: return pb::OGG_OPUS;
    case AudioEncoding::kOpus: return pb::OPUS;
  }
  return pb::ENCODING_UNSPECIFIED;
}

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The call's deadline and bearer token.
void ConfigureContext(const StreamConfig& config, grpc::ClientContext* context) {
  if (config.timeout_s > 0) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(config.timeout_s)));
  }
  if (!config.auth_token.empty()) {
    context->AddMetadata("authorization", "Bearer " + config.auth_token);
  }
}

// The first message of the call: the streaming config.
pb::StreamingRecognizeRequest ConfigRequest(const StreamConfig& config) {
  pb::StreamingRecognizeRequest first;
  pb::StreamingRecognitionConfig* streaming = first.mutable_streaming_config();
  streaming->set_interim_results(config.interim_results);
  pb::RecognitionConfig* rc = streaming->mutable_config();
  rc->set_encoding(ToProto(config.encoding));
  rc->set_sample_rate_hertz(config.sample_rate);
  rc->set_audio_channel_count(1);
  if (config.enable_lact.has_value()) rc->set_enable_lact(*config.enable_lact);
  if (config.endpointing.has_value()) {
    rc->mutable_endpointing_config()->set_enabled(*config.endpointing);
  }
  rc->set_enable_word_confidence(config.word_confidence);
  rc->set_max_alternatives(config.max_alternatives);
  for (const auto& [phrase, boost] : config.boost) {
    pb::SpeechContext* context = nullptr;
    for (pb::SpeechContext& c : *rc->mutable_speech_contexts()) {
      if (c.boost() == static_cast<float>(boost)) context = &c;
    }
    if (context == nullptr) {
      context = rc->add_speech_contexts();
      context->set_boost(static_cast<float>(boost));
    }
    context->add_phrases(phrase);
  }
  return first;
}

// A final result's transcripts (the best first) into `outcome`.
void AddFinal(const google::protobuf::RepeatedPtrField<pb::SpeechRecognitionAlternative>& alts,
              StreamOutcome* outcome) {
  if (!alts.empty() && !alts[0].transcript().empty()) {
    if (!outcome->transcript.empty()) outcome->transcript += ' ';
    outcome->transcript += alts[0].transcript();
    for (const auto& w : alts[0].words()) outcome->word_confidences.push_back(w.confidence());
  }
  std::vector<std::string> alternatives;
  for (const auto& alt : alts) alternatives.push_back(alt.transcript());
  outcome->final_alternatives.push_back(std::move(alternatives));
  ++outcome->final_results;
}

SteadyTime FromNanos(int64_t ns) {
  using std::chrono::duration_cast;
  return SteadyTime(duration_cast<SteadyClock::duration>(std::chrono::nanoseconds(ns)));
}

// Takes the responses of one call as they arrive: the final transcripts and each response's
// latency, from the send that caused it (the audio message holding the result's end time; else,
// for a final, the half-close; else the last message sent before it arrived), the largest
// response and the speech events.
class ResponseTally {
 public:
  ResponseTally(SteadyTime start, const SendLog* log) : start_(start), log_(log) {}

  // half_close_ns: time_since_epoch of the half-close, < 0 while it has not happened.
  void Add(const pb::StreamingRecognizeResponse& response, SteadyTime arrival,
           int64_t half_close_ns) {
    outcome_.largest_response_bytes =
        std::max(outcome_.largest_response_bytes, static_cast<int64_t>(response.ByteSizeLong()));
    if (response.speech_event_type() != pb::StreamingRecognizeResponse::SPEECH_EVENT_UNSPECIFIED) {
      ++outcome_.speech_events;
    }
    bool is_final = false;
    double end_s = -1;
    for (const auto& result : response.results()) {
      if (result.is_final()) {
        is_final = true;
        AddFinal(result.alternatives(), &outcome_);
      }
      if (result.has_result_end_time()) {
        end_s = std::max(end_s, DurationSeconds(result.result_end_time()));
      }
    }
    if (response.results_size() == 0) return;  // nothing to measure
    const double latency = Ms(arrival - CausedBy(is_final, end_s, arrival, half_close_ns));
    if (is_final) {
      outcome_.final_latencies_ms.push_back(latency);
      outcome_.final_end_s.push_back(end_s);
      last_final_ = arrival;
    } else {
      ++outcome_.interim_responses;
      outcome_.interim_latencies_ms.push_back(latency);
      if (outcome_.first_interim_ms < 0) outcome_.first_interim_ms = Ms(arrival - start_);
    }
  }

  // The outcome once the call has ended.
  StreamOutcome Finish(SteadyTime now, int64_t half_close_ns) {
    outcome_.stream_s = std::chrono::duration<double>(now - start_).count();
    if (half_close_ns >= 0) outcome_.final_latency_ms = Ms(last_final_ - FromNanos(half_close_ns));
    return std::move(outcome_);
  }

  int final_results() const { return outcome_.final_results; }

 private:
  SteadyTime CausedBy(bool is_final, double end_s, SteadyTime arrival,
                      int64_t half_close_ns) const {
    SteadyTime caused_by;
    if (end_s > 0 && log_->SendTimeForAudio(end_s, &caused_by)) return caused_by;
    if (is_final && half_close_ns >= 0) return FromNanos(half_close_ns);
    if (log_->LastSendBefore(arrival, &caused_by)) return caused_by;
    return start_;
  }

  const SteadyTime start_;
  const SendLog* log_;
  StreamOutcome outcome_;
  SteadyTime last_final_;
};

}  // namespace

double DurationSeconds(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + static_cast<double>(d.nanos()) * 1e-9;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::Status WaitForServer(grpc::Channel* channel, const std::string& target, double timeout_s) {
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            std::chrono::duration<double>(timeout_s));
  if (channel->WaitForConnected(deadline)) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("server ", target, " unreachable (no connection within ", timeout_s, " s)"));
}

StreamClient::StreamClient(std::shared_ptr<grpc::Channel> channel, Clock* clock)
    : stub_(pb::StreamingAsr::NewStub(channel)), clock_(clock) {}

absl::StatusOr<StreamOutcome> StreamClient::Run(const std::vector<EncodedChunk>& chunks,
                                                const StreamConfig& config) const {
  grpc::ClientContext context;
  ConfigureContext(config, &context);
  std::unique_ptr<
      grpc::ClientReaderWriter<pb::StreamingRecognizeRequest, pb::StreamingRecognizeResponse>>
      stream = stub_->StreamingRecognize(&context);

  SendLog log;
  const SteadyTime start = clock_->Now();
  std::atomic<int64_t> half_close_ns{-1};  // time_since_epoch of the half-close, once done
  std::thread sender([&] {
    if (!stream->Write(ConfigRequest(config))) return;
    StreamSender paced(config.send, clock_);
    pb::StreamingRecognizeRequest request;
    const size_t sent = paced.Send(
        chunks, start,
        [&](const EncodedChunk& chunk) {
          request.set_audio_content(chunk.bytes);
          return stream->Write(request);
        },
        &log);
    if (sent == chunks.size()) {
      half_close_ns.store(
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Now().time_since_epoch())
              .count());
      stream->WritesDone();
    }
  });

  ResponseTally tally(start, &log);
  pb::StreamingRecognizeResponse response;
  while (stream->Read(&response)) tally.Add(response, clock_->Now(), half_close_ns.load());
  // A broken call makes the sender's next Write fail, so it ends within one chunk's wait.
  sender.join();
  const grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  if (tally.final_results() == 0) {
    return absl::InternalError("the server ended the stream without a final result");
  }
  return tally.Finish(clock_->Now(), half_close_ns.load());
}

absl::StatusOr<StreamOutcome> StreamClient::Recognize(const std::vector<EncodedChunk>& chunks,
                                                      const StreamConfig& config) const {
  if (config.encoding == AudioEncoding::kOpus) {
    return absl::InvalidArgumentError(
        "Recognize takes a whole clip in one message: raw OPUS packets cannot be joined into one "
        "(use linear16 or ogg_opus)");
  }
  pb::RecognizeRequest request;
  *request.mutable_config() = ConfigRequest(config).streaming_config().config();
  std::string* audio = request.mutable_audio_content();
  for (const EncodedChunk& chunk : chunks) audio->append(chunk.bytes);
  grpc::ClientContext context;
  ConfigureContext(config, &context);
  pb::RecognizeResponse response;
  const SteadyTime start = clock_->Now();
  const grpc::Status status = stub_->Recognize(&context, request, &response);
  const SteadyTime end = clock_->Now();
  if (!status.ok()) return FromGrpcStatus(status);
  StreamOutcome outcome;
  const double latency = Ms(end - start);
  for (const pb::SpeechRecognitionResult& result : response.results()) {
    AddFinal(result.alternatives(), &outcome);
    outcome.final_latencies_ms.push_back(latency);  // every result arrives with the response
    outcome.final_end_s.push_back(
        result.has_result_end_time() ? DurationSeconds(result.result_end_time()) : -1);
  }
  if (outcome.final_results == 0) {
    return absl::InternalError("the server answered Recognize without a result");
  }
  outcome.largest_response_bytes = static_cast<int64_t>(response.ByteSizeLong());
  outcome.final_latency_ms = latency;
  outcome.stream_s = std::chrono::duration<double>(end - start).count();
  return outcome;
}

absl::StatusOr<lact::asr::v1::GetRecognitionConfigResponse> StreamClient::GetRecognitionConfig(
    const std::string& auth_token, double timeout_s) const {
  StreamConfig config;
  config.auth_token = auth_token;
  config.timeout_s = timeout_s;
  grpc::ClientContext context;
  ConfigureContext(config, &context);
  lact::asr::v1::GetRecognitionConfigResponse response;
  const grpc::Status status = stub_->GetRecognitionConfig(
      &context, lact::asr::v1::GetRecognitionConfigRequest(), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace lact::eval
