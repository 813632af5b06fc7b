#include "client/stream_client.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"

namespace lact::eval {
namespace {

namespace pb = lact::asr::v1;

pb::AudioEncoding ToProto(AudioEncoding encoding) {
  switch (encoding) {
    case AudioEncoding::kLinear16:
      return pb::LINEAR16;
    case AudioEncoding::kOggOpus:
      return pb::OGG_OPUS;
    case AudioEncoding::kOpus:
      return pb::OPUS;
  }
  return pb::ENCODING_UNSPECIFIED;
}

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double DurationSeconds(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + static_cast<double>(d.nanos()) * 1e-9;
}

}  // namespace

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
  if (config.timeout_s > 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(
                             std::chrono::duration<double>(config.timeout_s)));
  }
  if (!config.auth_token.empty()) context.AddMetadata("authorization", "Bearer " + config.auth_token);
  std::unique_ptr<grpc::ClientReaderWriter<pb::StreamingRecognizeRequest,
                                           pb::StreamingRecognizeResponse>>
      stream = stub_->StreamingRecognize(&context);

  pb::StreamingRecognizeRequest first;
  pb::StreamingRecognitionConfig* streaming = first.mutable_streaming_config();
  streaming->set_interim_results(config.interim_results);
  pb::RecognitionConfig* rc = streaming->mutable_config();
  rc->set_encoding(ToProto(config.encoding));
  rc->set_sample_rate_hertz(config.sample_rate);
  rc->set_audio_channel_count(1);
  if (config.enable_lact.has_value()) rc->set_enable_lact(*config.enable_lact);

  SendLog log;
  const SteadyTime start = clock_->Now();
  std::atomic<int64_t> half_close_ns{-1};  // time_since_epoch of the half-close, once done
  std::thread sender([&] {
    if (stream->Write(first)) {
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
        half_close_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                clock_->Now().time_since_epoch())
                                .count());
        stream->WritesDone();
      }
    }
  });

  StreamOutcome outcome;
  SteadyTime last_final;
  pb::StreamingRecognizeResponse response;
  while (stream->Read(&response)) {
    const SteadyTime arrival = clock_->Now();
    bool is_final = false;
    double end_s = -1;
    for (const auto& result : response.results()) {
      if (result.is_final()) {
        is_final = true;
        if (result.alternatives_size() > 0 && !result.alternatives(0).transcript().empty()) {
          if (!outcome.transcript.empty()) outcome.transcript += ' ';
          outcome.transcript += result.alternatives(0).transcript();
        }
        ++outcome.final_results;
      }
      if (result.has_result_end_time()) {
        end_s = std::max(end_s, DurationSeconds(result.result_end_time()));
      }
    }
    if (response.results_size() == 0) continue;  // nothing to measure
    const int64_t hc = half_close_ns.load();
    SteadyTime caused_by;
    bool matched = false;
    if (is_final && hc >= 0) {
      caused_by = SteadyTime(std::chrono::duration_cast<SteadyClock::duration>(
          std::chrono::nanoseconds(hc)));
      matched = true;
    } else if (end_s > 0) {
      matched = log.SendTimeForAudio(end_s, &caused_by);
    }
    if (!matched) matched = log.LastSendBefore(arrival, &caused_by);
    if (!matched) caused_by = start;
    const double latency = Ms(arrival - caused_by);
    if (is_final) {
      outcome.final_latencies_ms.push_back(latency);
      last_final = arrival;
    } else {
      ++outcome.interim_responses;
      outcome.interim_latencies_ms.push_back(latency);
      if (outcome.first_interim_ms < 0) outcome.first_interim_ms = Ms(arrival - start);
    }
  }
  // A broken call makes the sender's next Write fail, so it ends within one chunk's wait.
  sender.join();
  const grpc::Status status = stream->Finish();
  outcome.stream_s = std::chrono::duration<double>(clock_->Now() - start).count();
  if (!status.ok()) return FromGrpcStatus(status);
  if (outcome.final_results == 0) {
    return absl::InternalError("the server ended the stream without a final result");
  }
  const int64_t hc = half_close_ns.load();
  if (hc >= 0) {
    const SteadyTime half_close(std::chrono::duration_cast<SteadyClock::duration>(
        std::chrono::nanoseconds(hc)));
    outcome.final_latency_ms = Ms(last_final - half_close);
  }
  return outcome;
}

}  // namespace lact::eval
