// Streams that hold slots without working (issue 24, acceptance 3): a stream that sends only its
// config, or no message at all, is stopped after --stream_idle_timeout_s and its --max_streams
// slot reused; a stream that keeps sending (even slowly) is not; --max_streams_per_peer caps the
// calls one HTTP/2 connection may hold while another connection is still served. And (issue 23)
// an open stream that waits for its client holds no server thread, nor does a Recognize call that
// waits for the model (the callback API).
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

// A channel with its own HTTP/2 connection (gRPC shares connections between channels with
// identical arguments).
std::shared_ptr<grpc::Channel> OwnConnection(const ServerProcess& server, int id) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetString("lact.test.connection", std::to_string(id));
  return grpc::CreateCustomChannel(server.address(), grpc::InsecureChannelCredentials(), args);
}

// A call held open by the test: it sends the config (or nothing) and then waits.
struct HeldCall {
  grpc::ClientContext context;
  std::unique_ptr<
      grpc::ClientReaderWriter<pb::StreamingRecognizeRequest, pb::StreamingRecognizeResponse>>
      stream;

  // With `audio_seconds`, one audio message follows the config.
  HeldCall(pb::StreamingAsr::Stub* stub, bool send_config, double audio_seconds = 0) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stream = stub->StreamingRecognize(&context);
    if (send_config) {
      pb::StreamingRecognizeRequest request;
      *request.mutable_streaming_config()->mutable_config() = MakeConfig(pb::LINEAR16, 16000);
      stream->Write(request);
    }
    if (audio_seconds > 0) {
      pb::StreamingRecognizeRequest request;
      request.set_audio_content(ToLinear16(SyntheticAudio(audio_seconds, 16000, 9)));
      stream->Write(request);
    }
  }
  // Waits for the server to end the call; its status.
  grpc::Status Wait() {
    pb::StreamingRecognizeResponse response;
    while (stream->Read(&response)) {
    }
    return stream->Finish();
  }
};

// A normal 1 s stream on `stub`: its status.
grpc::Status NormalStream(pb::StreamingAsr::Stub* stub) {
  StreamSpec spec;
  spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), false,
                                  SplitBytes(ToLinear16(SyntheticAudio(1.0, 16000, 3)), 6400));
  return RunStream(stub, spec).status;
}

// NormalStream once a slot is free: a client sees CANCELLED as soon as a call is cancelled, a
// moment before the server's handler returns and frees its slot (a race CI once lost), so a
// RESOURCE_EXHAUSTED within the next 2 s is retried.
grpc::Status NormalStreamOnceFree(pb::StreamingAsr::Stub* stub) {
  grpc::Status status = NormalStream(stub);
  for (const absl::Time until = absl::Now() + absl::Seconds(2);
       status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && absl::Now() < until;) {
    absl::SleepFor(absl::Milliseconds(50));
    status = NormalStream(stub);
  }
  return status;
}

TEST(ServerLimitsTest, IdleStreamsAreStoppedAndTheirSlotsReused) {
  ServerProcess server(MakeLactModelDir(), Window{},
                       {"--max_streams=2", "--stream_idle_timeout_s=1"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto stub = server.stub();

  const absl::Time start = absl::Now();
  HeldCall config_only(stub.get(), /*send_config=*/true);
  HeldCall no_message(stub.get(), /*send_config=*/false);
  absl::SleepFor(absl::Milliseconds(300));
  // Both slots are taken.
  EXPECT_EQ(NormalStream(stub.get()).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // The server ends both within the timeout (plus the watchdog's period and some slack), and
  // each client receives why: DEADLINE_EXCEEDED and the flag to look at (the call finishes while
  // its Read waits for the client).
  const grpc::Status a = config_only.Wait();
  const grpc::Status b = no_message.Wait();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(a.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << a.error_message();
  EXPECT_TRUE(absl::StrContains(a.error_message(), "no message from the client for 1 s"))
      << a.error_message();
  EXPECT_EQ(b.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << b.error_message();
  EXPECT_TRUE(absl::StrContains(b.error_message(), "no config from the client within 1 s"))
      << b.error_message();
  EXPECT_LT(took, absl::Seconds(3)) << "idle streams were not stopped within the timeout";
  EXPECT_GE(took, absl::Seconds(1));

  // Their slots are free again.
  const grpc::Status after = NormalStreamOnceFree(stub.get());
  EXPECT_TRUE(after.ok()) << after.error_message();
  // The server counted and logged both, each with its reason, and logged them from the start.
  const std::string exposition = HttpGet(server.metrics_port(), "/metrics");
  EXPECT_EQ(MetricValue(exposition, "lact_streams_total{code=\"DEADLINE_EXCEEDED\"}").value_or(-1),
            2)
      << exposition;
  const std::string log = server.log();
  EXPECT_TRUE(absl::StrContains(log, "no config from the client within 1 s")) << log;
  EXPECT_TRUE(absl::StrContains(log, "no message from the client for 1 s")) << log;
  EXPECT_TRUE(absl::StrContains(log, "stream 2 open: StreamingRecognize")) << log;
}

TEST(ServerLimitsTest, AStreamThatKeepsSendingIsNotIdle) {
  ServerProcess server(MakeLactModelDir(), Window{}, {"--stream_idle_timeout_s=1"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto stub = server.stub();
  // 2 s of audio in 250 ms messages, one every 600 ms: 4.8 s in all, never 1 s without a message.
  StreamSpec spec;
  spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true,
                                  SplitBytes(ToLinear16(SyntheticAudio(2.0, 16000, 4)), 8000));
  spec.interval = absl::Milliseconds(600);
  const StreamResult r = RunStream(stub.get(), spec);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.got_final);
}

TEST(ServerLimitsTest, MaxStreamsPerPeerCapsOneConnection) {
  ServerProcess server(MakeLactModelDir(), Window{},
                       {"--max_streams=8", "--max_streams_per_peer=2"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto first = pb::StreamingAsr::NewStub(OwnConnection(server, 1));
  auto second = pb::StreamingAsr::NewStub(OwnConnection(server, 2));
  HeldCall a(first.get(), true);
  HeldCall b(first.get(), true);
  absl::SleepFor(absl::Milliseconds(300));
  // A third call on the same connection is refused, naming the flag...
  grpc::ClientContext context;
  pb::RecognizeRequest request;
  *request.mutable_config() = MakeConfig(pb::LINEAR16, 16000);
  request.set_audio_content(ToLinear16(SyntheticAudio(0.5, 16000, 2)));
  pb::RecognizeResponse response;
  const grpc::Status refused = first->Recognize(&context, request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "--max_streams_per_peer"))
      << refused.error_message();
  // ...while another connection is served.
  EXPECT_TRUE(NormalStream(second.get()).ok());
  // Once the first connection's calls end, it may open calls again.
  a.context.TryCancel();
  b.context.TryCancel();
  a.Wait();
  b.Wait();
  const grpc::Status after = NormalStreamOnceFree(first.get());
  EXPECT_TRUE(after.ok()) << after.error_message();
}

// The server process's thread count (/proc/PID/status).
int ThreadCount(pid_t pid) {
  const std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  const size_t at = status.find("Threads:");
  return at == std::string::npos ? -1 : std::atoi(status.c_str() + at + 8);
}

// Warms `server` (one normal stream: the model and the gRPC threads it needs); its thread count
// then.
int WarmThreadCount(ServerProcess& server, pb::StreamingAsr::Stub* stub) {
  EXPECT_TRUE(NormalStream(stub).ok());
  absl::SleepFor(absl::Milliseconds(300));
  return ThreadCount(server.pid());
}

// 240 open streams that wait for their clients (half with a config only, half after 0.3 s of
// audio, whose interim was decoded) hold no server thread: the sync API held two per stream (480
// here). They are served meanwhile and all end when their clients cancel.
TEST(ServerLimitsTest, WaitingStreamsHoldNoThread) {
  ServerProcess server(MakeLactModelDir(), Window{}, {"--max_streams=300"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto stub = server.stub();
  const int before = WarmThreadCount(server, stub.get());
  ASSERT_GT(before, 0);

  constexpr int kStreams = 240;
  std::vector<std::unique_ptr<pb::StreamingAsr::Stub>> stubs;
  for (int c = 0; c < 4; ++c) stubs.push_back(pb::StreamingAsr::NewStub(OwnConnection(server, c)));
  std::vector<std::unique_ptr<HeldCall>> held;
  for (int i = 0; i < kStreams; ++i) {
    held.push_back(std::make_unique<HeldCall>(stubs[i % 4].get(), true, i % 2 ? 0.3 : 0.0));
  }
  // Every stream is open (and the audio decoded) once the server counts them all.
  WaitForMetric(server.metrics_port(), "lact_active_streams", kStreams, absl::Seconds(20));
  absl::SleepFor(absl::Seconds(1));
  ASSERT_EQ(MetricValue(HttpGet(server.metrics_port(), "/metrics"), "lact_active_streams"),
            kStreams);
  const int during = ThreadCount(server.pid());
  std::printf("server threads: %d before, %d with %d waiting streams\n", before, during, kStreams);
  EXPECT_LT(during - before, 16) << "threads grow with waiting streams";
  EXPECT_TRUE(NormalStream(stub.get()).ok());  // served meanwhile

  for (auto& h : held) h->context.TryCancel();
  for (auto& h : held) EXPECT_EQ(h->Wait().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(WaitForMetric(server.metrics_port(), "lact_active_streams", 0), 0);
}

// 120 Recognize calls of 30 s clips each (an hour of audio, in costly Recognize windows of 1 s
// steps with 10 s of context each side: the tiny model needs far longer than this test to decode
// it) are all open at once and hold no server thread while they wait for the
// model: on the sync API each held one (120 here). They are served meanwhile (a short stream),
// and all end CANCELLED, their slots freed, when their clients cancel. The client side is gRPC's
// callback API too, so the test itself holds no thread per call.
TEST(ServerLimitsTest, WaitingRecognizeCallsHoldNoThread) {
  ServerProcess server(
      MakeLactModelDir(), Window{},
      {"--max_streams=200", "--recognize_step_ms=1000", "--recognize_context_ms=10000"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto stub = server.stub();
  const int before = WarmThreadCount(server, stub.get());
  ASSERT_GT(before, 0);

  constexpr int kCalls = 120;
  pb::RecognizeRequest request;
  *request.mutable_config() = MakeConfig(pb::LINEAR16, 16000);
  request.set_audio_content(ToLinear16(SyntheticAudio(30.0, 16000, 5)));
  struct Pending {
    grpc::ClientContext context;
    pb::RecognizeResponse response;
  };
  std::vector<std::unique_ptr<Pending>> calls;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<grpc::Status> statuses;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::make_unique<Pending>());
    calls.back()->context.set_deadline(std::chrono::system_clock::now() +
                                       std::chrono::seconds(120));
    stub->async()->Recognize(&calls.back()->context, &request, &calls.back()->response,
                             [&](grpc::Status status) {
                               std::lock_guard<std::mutex> lock(mu);
                               statuses.push_back(std::move(status));
                               cv.notify_all();
                             });
  }
  WaitForMetric(server.metrics_port(), "lact_active_streams", kCalls, absl::Seconds(30));
  absl::SleepFor(absl::Seconds(1));
  ASSERT_EQ(MetricValue(HttpGet(server.metrics_port(), "/metrics"), "lact_active_streams"), kCalls)
      << "every call is open (none finished: the audio takes far longer to decode)";
  const int during = ThreadCount(server.pid());
  std::printf("server threads: %d before, %d with %d waiting Recognize calls\n", before, during,
              kCalls);
  EXPECT_LT(during - before, 16) << "threads grow with waiting Recognize calls";
  EXPECT_TRUE(NormalStream(stub.get()).ok());  // served meanwhile

  for (auto& c : calls) c->context.TryCancel();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return static_cast<int>(statuses.size()) == kCalls; }));
    for (const grpc::Status& s : statuses) EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_EQ(WaitForMetric(server.metrics_port(), "lact_active_streams", 0), 0);
}

}  // namespace
}  // namespace lact::server::testing
