// Graceful shutdown: SIGTERM while streams are open. New calls are refused (UNAVAILABLE) and
// health (gRPC and the metrics port's /healthz) turns NOT_SERVING; a stream that half-closes
// within --drain_seconds gets its final; one still sending after it gets UNAVAILABLE, and so does
// a silent one; the process exits 0 with no stream session left alive (the server checks and says
// so in its log, else it exits 3). Recognize calls (the callback API's unary calls) still waiting
// for the model when the drain time is over end UNAVAILABLE too, and a new one is refused.
#include <signal.h>

#include <chrono>
#include <future>
#include <vector>

#include <gtest/gtest.h>

#include "absl/cleanup/cleanup.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

TEST(ServerDrainTest, SigtermDrainsThenExitsZero) {
  const std::string model = MakeLactModelDir();
  ServerProcess server(model, Window{}, {"--drain_seconds=2"});
  ASSERT_TRUE(server.ok()) << server.log();
  ASSERT_EQ(RunHealthProbe(server.address()), 0);

  Gate signalled;
  std::shared_future<void> after_signal = signalled.waiter();

  // Finishes during the drain: 1 s of audio before SIGTERM, 1 s after, then half-close.
  const std::vector<float> finishing_audio = SyntheticAudio(2.0, 16000, 41);
  std::future<StreamResult> finishing = std::async(std::launch::async, [&] {
    auto stub = server.stub();
    StreamSpec spec;
    spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true,
                                    SplitBytes(ToLinear16(finishing_audio), 3200));
    spec.interval = absl::Milliseconds(10);
    const size_t half = spec.messages.size() / 2;
    spec.before_write = [half, after_signal](size_t i) {
      if (i == half) after_signal.wait();
    };
    return RunStream(stub.get(), spec);
  });
  // Still sending (in real time) when the drain time is over: UNAVAILABLE.
  std::future<StreamResult> long_running = std::async(std::launch::async, [&] {
    auto stub = server.stub();
    StreamSpec spec;
    spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true,
                                    SplitBytes(ToLinear16(SyntheticAudio(12.0, 16000, 42)), 3200));
    spec.interval = absl::Milliseconds(100);
    spec.deadline = absl::Seconds(30);
    return RunStream(stub.get(), spec);
  });
  // Silent: config, then nothing (its Read waits); ended after the drain.
  std::future<StreamResult> silent = std::async(std::launch::async, [&] {
    auto stub = server.stub();
    StreamSpec spec;
    spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, {});
    spec.hold_open = true;
    spec.deadline = absl::Seconds(30);
    return RunStream(stub.get(), spec);
  });
  absl::Cleanup open_on_exit = [&signalled] { signalled.Open(); };  // before the streams end

  // All three open, then SIGTERM.
  const absl::Time open_deadline = absl::Now() + absl::Seconds(10);
  while (
      absl::Now() < open_deadline &&
      MetricValue(HttpGet(server.metrics_port(), "/metrics"), "lact_active_streams").value_or(0) <
          3) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::SleepFor(absl::Milliseconds(300));
  const std::string http_probe =
      "--http_address=127.0.0.1:" + std::to_string(server.metrics_port());
  EXPECT_EQ(HttpGet(server.metrics_port(), "/healthz"), "SERVING\n");
  EXPECT_EQ(RunHealthProbe(server.address(), {http_probe}), 0);
  const absl::Time sigterm = absl::Now();
  server.Signal(SIGTERM);
  absl::SleepFor(absl::Milliseconds(300));

  // Draining: health is NOT_SERVING, new calls are refused.
  EXPECT_EQ(RunHealthProbe(server.address()), 1);
  EXPECT_EQ(HttpGet(server.metrics_port(), "/healthz"), "NOT_SERVING\n");
  EXPECT_EQ(RunHealthProbe(server.address(), {http_probe}), 1);
  {
    auto stub = server.stub();
    StreamSpec spec;
    spec.messages =
        ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, {ToLinear16(finishing_audio)});
    const StreamResult r = RunStream(stub.get(), spec);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << r.status.error_message();
  }
  signalled.Open();

  const StreamResult f = finishing.get();
  EXPECT_TRUE(f.status.ok()) << f.status.error_code() << " " << f.status.error_message();
  EXPECT_TRUE(f.got_final);
  const StreamResult l = long_running.get();
  EXPECT_EQ(l.status.error_code(), grpc::StatusCode::UNAVAILABLE) << l.status.error_message();
  EXPECT_FALSE(l.got_final);
  // The silent one too, with the shutdown's status: the call finishes while its Read waits.
  const StreamResult s = silent.get();
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::UNAVAILABLE) << s.status.error_message();

  const int code = server.WaitExit(absl::Seconds(20));
  const double took = absl::ToDoubleSeconds(absl::Now() - sigterm);
  const std::string log = server.log();
  EXPECT_EQ(code, 0) << log;
  EXPECT_LT(took, 10.0) << "drain 2 s + grace";
  EXPECT_NE(log.find("SIGTERM: draining 3 open stream(s)"), std::string::npos) << log;
  EXPECT_NE(log.find("exit: clean"), std::string::npos) << log;
}

// Four Recognize calls of 120 s of audio each (3.84 MB, under --max_message_bytes; the tiny
// model needs far longer than the 1 s drain for them) are open at SIGTERM: each ends UNAVAILABLE
// with the shutdown's reason, a new Recognize is refused UNAVAILABLE, and the process exits 0
// with no session left alive. A short one sent before them was served.
TEST(ServerDrainTest, RecognizeCallsOpenAtSigtermEndUnavailable) {
  ServerProcess server(MakeLactModelDir(), Window{}, {"--drain_seconds=1"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto stub = server.stub();
  auto recognize = [&stub](double seconds, uint32_t seed) {
    pb::RecognizeRequest request;
    *request.mutable_config() = MakeConfig(pb::LINEAR16, 16000);
    request.set_audio_content(ToLinear16(SyntheticAudio(seconds, 16000, seed)));
    pb::RecognizeResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return stub->Recognize(&context, request, &response);
  };
  const grpc::Status short_clip = recognize(2.0, 60);
  EXPECT_TRUE(short_clip.ok()) << short_clip.error_message();

  std::vector<std::future<grpc::Status>> calls;
  for (uint32_t i = 0; i < 4; ++i) {
    calls.push_back(
        std::async(std::launch::async, [&recognize, i] { return recognize(120.0, 61 + i); }));
  }
  ASSERT_EQ(WaitForMetric(server.metrics_port(), "lact_active_streams", 4, absl::Seconds(20)), 4);
  const absl::Time sigterm = absl::Now();
  server.Signal(SIGTERM);
  absl::SleepFor(absl::Milliseconds(200));
  const grpc::Status refused = recognize(2.0, 65);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  for (auto& call : calls) {
    const grpc::Status s = call.get();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  }
  const int code = server.WaitExit(absl::Seconds(20));
  const std::string log = server.log();
  EXPECT_EQ(code, 0) << log;
  EXPECT_LT(absl::ToDoubleSeconds(absl::Now() - sigterm), 10.0) << "drain 1 s + grace";
  EXPECT_NE(log.find("SIGTERM: draining 4 open stream(s)"), std::string::npos) << log;
  EXPECT_NE(log.find("exit: clean"), std::string::npos) << log;
}

}  // namespace
}  // namespace lact::server::testing
