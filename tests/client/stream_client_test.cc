// client/stream_client against an in-process fake StreamingAsr server on a loopback port: the
// config message, the transcript, latency attribution (interims matched to the audio message
// that completed their result_end_time, finals to the half-close) with known server delays,
// time to first interim, the real-time pace, and error statuses.
#include "client/stream_client.h"

#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"

namespace lact::eval {
namespace {

namespace pb = lact::asr::v1;
using std::chrono::milliseconds;

struct FakeBehaviour {
  int interim_delay_ms = 30;  // before each interim response
  int final_delay_ms = 50;    // after the half-close, before the final
  bool send_final = true;
  grpc::Status end_status = grpc::Status::OK;
};

// Answers every LINEAR16 audio message with an interim result covering the audio so far, and
// the half-close with a final "HELLO WORLD".
class FakeAsr final : public pb::StreamingAsr::Service {
 public:
  explicit FakeAsr(FakeBehaviour b) : b_(b) {}
  grpc::Status StreamingRecognize(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<pb::StreamingRecognizeResponse, pb::StreamingRecognizeRequest>*
          stream) override {
    pb::StreamingRecognizeRequest request;
    if (!stream->Read(&request) || !request.has_streaming_config()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "config first");
    }
    {
      absl::MutexLock lock(&mu_);
      config_ = request.streaming_config();
    }
    if (!b_.end_status.ok()) return b_.end_status;
    const int rate = request.streaming_config().config().sample_rate_hertz();
    int64_t samples = 0;
    while (stream->Read(&request)) {
      samples += static_cast<int64_t>(request.audio_content().size() / 2);
      std::this_thread::sleep_for(milliseconds(b_.interim_delay_ms));
      pb::StreamingRecognizeResponse response;
      auto* result = response.add_results();
      result->add_alternatives()->set_transcript("HELLO");
      const double end_s = static_cast<double>(samples) / rate;
      result->mutable_result_end_time()->set_seconds(static_cast<int64_t>(end_s));
      result->mutable_result_end_time()->set_nanos(
          static_cast<int32_t>((end_s - static_cast<int64_t>(end_s)) * 1e9));
      stream->Write(response);
    }
    if (b_.send_final) {
      std::this_thread::sleep_for(milliseconds(b_.final_delay_ms));
      pb::StreamingRecognizeResponse response;
      auto* result = response.add_results();
      result->set_is_final(true);
      result->add_alternatives()->set_transcript("HELLO WORLD");
      stream->Write(response);
    }
    return grpc::Status::OK;
  }
  grpc::Status Recognize(grpc::ServerContext*, const pb::RecognizeRequest*,
                         pb::RecognizeResponse*) override {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
  }
  pb::StreamingRecognitionConfig config() {
    absl::MutexLock lock(&mu_);
    return config_;
  }

 private:
  FakeBehaviour b_;
  absl::Mutex mu_;
  pb::StreamingRecognitionConfig config_;
};

class FakeServer {
 public:
  explicit FakeServer(FakeBehaviour b) : service_(b) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { server_->Shutdown(std::chrono::system_clock::now() + milliseconds(500)); }
  std::shared_ptr<grpc::Channel> channel() const {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                               grpc::InsecureChannelCredentials());
  }
  FakeAsr& service() { return service_; }

 private:
  FakeAsr service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

std::vector<EncodedChunk> Pcm(double seconds) {
  EncoderOptions o;
  auto chunks =
      EncodeForStreaming(std::vector<float>(static_cast<size_t>(seconds * 16000), 0.0f), o);
  return *chunks;
}

TEST(StreamClient, ConfigTranscriptAndLatencyAttribution) {
  FakeServer server(FakeBehaviour{});
  ASSERT_TRUE(WaitForServer(server.channel().get(), "fake", 10).ok());
  StreamClient client(server.channel());
  StreamConfig config;
  config.enable_lact = false;
  config.send.simulate_realtime = true;
  config.timeout_s = 30;
  const auto start = std::chrono::steady_clock::now();
  auto outcome = client.Run(Pcm(1.0), config);  // 10 messages of 100 ms
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->transcript, "HELLO WORLD");
  EXPECT_EQ(outcome->final_results, 1);
  ASSERT_EQ(outcome->interim_latencies_ms.size(), 10u);
  // Each interim answers the message that completed its audio, 30 ms later: the latency is the
  // server's delay plus transport, not the 100 ms chunk spacing.
  for (double l : outcome->interim_latencies_ms) {
    EXPECT_GE(l, 29.0);
    EXPECT_LT(l, 95.0);
  }
  ASSERT_EQ(outcome->final_latencies_ms.size(), 1u);
  EXPECT_GE(outcome->final_latency_ms, 49.0);
  EXPECT_LT(outcome->final_latency_ms, 150.0);
  EXPECT_DOUBLE_EQ(outcome->final_latency_ms, outcome->final_latencies_ms[0]);
  // First interim: the first 100 ms message is due at 0.1 s, answered 30 ms later.
  EXPECT_GE(outcome->first_interim_ms, 129.0);
  EXPECT_LT(outcome->first_interim_ms, 250.0);
  // Real-time pace: 1 s of audio cannot be sent faster than 1 s.
  EXPECT_GE(wall, 1.0);
  EXPECT_GE(outcome->stream_s, 1.0);
  const pb::StreamingRecognitionConfig seen = server.service().config();
  EXPECT_TRUE(seen.interim_results());
  EXPECT_EQ(seen.config().encoding(), pb::LINEAR16);
  EXPECT_EQ(seen.config().sample_rate_hertz(), 16000);
  EXPECT_EQ(seen.config().audio_channel_count(), 1);
  ASSERT_TRUE(seen.config().has_enable_lact());
  EXPECT_FALSE(seen.config().enable_lact());
}

TEST(StreamClient, AsFastAsPossibleAndServerDefaultLact) {
  FakeServer server(FakeBehaviour{0, 0, true, grpc::Status::OK});
  StreamClient client(server.channel());
  StreamConfig config;  // enable_lact unset
  auto outcome = client.Run(Pcm(2.0), config);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_LT(outcome->stream_s, 1.5);
  EXPECT_FALSE(server.service().config().config().has_enable_lact());
}

TEST(StreamClient, ServerErrorsAndMissingFinal) {
  {
    FakeServer server(
        FakeBehaviour{0, 0, true, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "full")});
    auto outcome = StreamClient(server.channel()).Run(Pcm(0.5), StreamConfig{});
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(outcome.status().message(), "full");
  }
  {
    FakeServer server(FakeBehaviour{0, 0, false, grpc::Status::OK});
    auto outcome = StreamClient(server.channel()).Run(Pcm(0.5), StreamConfig{});
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInternal);
  }
  {
    // The deadline passes while the server still waits before its final answer.
    FakeServer server(FakeBehaviour{0, 3000, true, grpc::Status::OK});
    StreamConfig config;
    config.timeout_s = 0.5;
    auto outcome = StreamClient(server.channel()).Run(Pcm(0.3), config);
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kDeadlineExceeded);
  }
}

TEST(WaitForServer, UnreachableIsUnavailable) {
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  const absl::Status s = WaitForServer(channel.get(), "127.0.0.1:1", 0.5);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace lact::eval
