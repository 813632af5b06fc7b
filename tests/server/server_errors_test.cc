// Bad input and limits: every bad request gets its stated gRPC code (with a message saying what
// was wrong) while a concurrent healthy stream on the same server still finishes with the right
// transcript; cancelled and timed-out streams free their state at once; health says SERVING after.
// A client that stops reading (and neither sends nor half-closes) is stopped by the server's
// write-stall watchdog (--write_stall_timeout_s). Recognize (the callback API's unary call) gets
// the same codes, and its deadline ends it while it waits for the model.
#include <cmath>
#include <future>
#include <optional>

#include <gtest/gtest.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

using Requests = std::vector<pb::StreamingRecognizeRequest>;

struct BadCase {
  std::string name;
  Requests messages;
  grpc::StatusCode code;
  std::string message_part;  // expected in the status message ("" : any)
};

pb::StreamingRecognizeRequest Audio(const std::string& bytes) {
  pb::StreamingRecognizeRequest r;
  r.set_audio_content(bytes);
  return r;
}

Requests WithConfig(const pb::RecognitionConfig& config, Requests audio) {
  Requests out = ConfigThenAudio(config, true, {});
  out.insert(out.end(), audio.begin(), audio.end());
  return out;
}

TEST(ServerErrorsTest, BadInputGetsItsCodeWhileAHealthyStreamFinishes) {
  const std::string model = MakeLactModelDir();
  ServerProcess server(model, Window{},
                       {"--max_streams=4", "--max_stream_seconds=4", "--max_message_bytes=65536"});
  ASSERT_TRUE(server.ok()) << server.log();
  const int metrics = server.metrics_port();

  // The healthy stream: 3.5 s of LINEAR16 at about 2x real time, throughout the bad calls.
  const std::vector<float> audio = SyntheticAudio(3.5, 16000, 31);
  const std::string work = MakeTempDir("lact_errors_");
  const std::string wav = work + "/healthy.wav";
  WriteFloatWav(wav, audio, 16000);
  // It sends half its audio, waits until every bad call is done, then sends the rest.
  Gate bad_calls_done;
  std::shared_future<void> resume = bad_calls_done.waiter();
  std::future<StreamResult> healthy = std::async(std::launch::async, [&server, &audio, resume] {
    auto stub = server.stub();
    StreamSpec spec;
    spec.messages =
        ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, SplitBytes(ToLinear16(audio), 3200));
    spec.interval = absl::Milliseconds(20);
    spec.wait_for_interim = true;
    const size_t half = spec.messages.size() / 2;
    spec.before_write = [half, resume](size_t i) {
      if (i == half) resume.wait();
    };
    return RunStream(stub.get(), spec);
  });
  absl::Cleanup resume_on_exit = [&bad_calls_done] {
    bad_calls_done.Open();
  };  // before `healthy` ends
  // Make sure it is open (and decoding) before the bad calls start.
  ASSERT_EQ(WaitForMetric(metrics, "lact_active_streams", 1), 1);
  std::future<std::map<std::string, std::string>> reference =
      std::async(std::launch::async, [&] { return ReferenceTranscripts(model, {wav}, Window{}); });

  const std::string pcm = ToLinear16(SyntheticAudio(0.5, 16000, 32));
  pb::StreamingRecognizeRequest empty_first;  // neither config nor audio
  Requests config_without_recognition_config(1);
  config_without_recognition_config[0].mutable_streaming_config()->set_interim_results(true);
  std::vector<BadCase> cases = {
      {"audio before config",
       {Audio(pcm)},
       grpc::StatusCode::INVALID_ARGUMENT,
       "audio before config"},
      {"empty first message", {empty_first}, grpc::StatusCode::INVALID_ARGUMENT, "missing config"},
      {"no RecognitionConfig", config_without_recognition_config,
       grpc::StatusCode::INVALID_ARGUMENT, "missing config"},
      {"no message at all", {}, grpc::StatusCode::INVALID_ARGUMENT, "no config"},
      {"encoding unspecified",
       WithConfig(MakeConfig(pb::ENCODING_UNSPECIFIED, 16000), {Audio(pcm)}),
       grpc::StatusCode::INVALID_ARGUMENT, "ENCODING_UNSPECIFIED"},
      {"rate 0", WithConfig(MakeConfig(pb::LINEAR16, 0), {Audio(pcm)}),
       grpc::StatusCode::INVALID_ARGUMENT, "sample_rate_hertz 0"},
      {"rate 400000", WithConfig(MakeConfig(pb::FLOAT32, 400000), {}),
       grpc::StatusCode::INVALID_ARGUMENT, "sample_rate_hertz 400000"},
      {"3 channels", WithConfig(MakeConfig(pb::LINEAR16, 16000, 3), {Audio(pcm)}),
       grpc::StatusCode::INVALID_ARGUMENT, "audio_channel_count 3"},
      {"OPUS at 44100", WithConfig(MakeConfig(pb::OPUS, 44100), {}),
       grpc::StatusCode::INVALID_ARGUMENT, "OPUS"},
      {"undecodable OPUS",
       WithConfig(MakeConfig(pb::OPUS, 16000), {Audio(std::string("\x03\x00", 2))}),
       grpc::StatusCode::INVALID_ARGUMENT, "undecodable Opus packet"},
      {"OGG_OPUS garbage",
       WithConfig(MakeConfig(pb::OGG_OPUS, 0, 0), {Audio("not an ogg stream at all")}),
       grpc::StatusCode::INVALID_ARGUMENT, "not an Ogg Opus stream"},
      {"config twice",
       WithConfig(MakeConfig(pb::LINEAR16, 16000),
                  ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, {})),
       grpc::StatusCode::INVALID_ARGUMENT, "only be sent once"},
      {"LINEAR16 cut inside a sample",
       WithConfig(MakeConfig(pb::LINEAR16, 16000), {Audio(pcm + "x")}),
       grpc::StatusCode::INVALID_ARGUMENT, "inside a sample frame"},
      {"message too large",
       WithConfig(MakeConfig(pb::LINEAR16, 16000), {Audio(std::string(70000, '\0'))}),
       grpc::StatusCode::RESOURCE_EXHAUSTED, ""},
  };
  {  // Longer than --max_stream_seconds=4.
    std::vector<std::string> chunks = SplitBytes(ToLinear16(SyntheticAudio(5, 16000, 33)), 32000);
    cases.push_back({"stream too long",
                     ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, chunks),
                     grpc::StatusCode::OUT_OF_RANGE, "maximum duration"});
  }
  auto stub = server.stub();
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    StreamSpec spec;
    spec.messages = c.messages;
    spec.interval = absl::ZeroDuration();
    spec.deadline = absl::Seconds(20);
    const StreamResult r = RunStream(stub.get(), spec);
    EXPECT_EQ(r.status.error_code(), c.code) << r.status.error_message();
    EXPECT_NE(r.status.error_message().find(c.message_part), std::string::npos)
        << r.status.error_message();
  }

  // Unary Recognize: OPUS cannot carry a clip.
  {
    pb::RecognizeRequest request;
    *request.mutable_config() = MakeConfig(pb::OPUS, 16000);
    request.set_audio_content("x");
    pb::RecognizeResponse response;
    grpc::ClientContext context;
    EXPECT_EQ(stub->Recognize(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  // --max_streams=4: the healthy stream + 3 idle ones fill the server; one more is refused. The
  // idle streams stay open until the refusal has been checked (a gate, not a timer: a loaded
  // machine may take a while to admit them), then their clients cancel them.
  Gate refusal_checked;
  std::shared_future<void> release = refusal_checked.waiter();
  std::vector<std::future<StreamResult>> idle;
  absl::Cleanup release_on_exit = [&refusal_checked] {
    refusal_checked.Open();
  };  // before `idle` ends
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::async(std::launch::async, [&server, &pcm, release] {
      auto s = server.stub();
      StreamSpec spec;
      spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, {pcm, pcm});
      spec.before_write = [release](size_t i) {
        if (i == 2) release.wait();  // after the config and one audio message
      };
      spec.cancel = true;
      return RunStream(s.get(), spec);
    }));
  }
  const double open = WaitForMetric(metrics, "lact_active_streams", 4, absl::Seconds(30));
  if (open != 4) {
    refusal_checked.Open();
    for (auto& f : idle) {
      const StreamResult r = f.get();
      ADD_FAILURE() << "idle stream ended " << r.status.error_code() << ": "
                    << r.status.error_message();
    }
    FAIL() << "lact_active_streams is " << open << ", not 4; server log:\n" << server.log();
  }
  {
    StreamSpec spec;
    spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, {pcm});
    const StreamResult r = RunStream(stub.get(), spec);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << r.status.error_message();
    EXPECT_NE(r.status.error_message().find("max_streams"), std::string::npos);
  }
  // Cancelled by their clients: their state goes at once.
  refusal_checked.Open();
  for (auto& f : idle) EXPECT_EQ(f.get().status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_LE(WaitForMetric(metrics, "lact_active_streams", 1), 1);

  // A client deadline: DEADLINE_EXCEEDED, and the stream is gone from the server.
  {
    StreamSpec spec;
    spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, {pcm});
    spec.deadline = absl::Milliseconds(600);
    spec.hold_open = true;
    const StreamResult r = RunStream(stub.get(), spec);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }

  // The healthy stream finishes correctly.
  bad_calls_done.Open();
  const StreamResult ok = healthy.get();
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_GT(ok.interims_before_close, 0);
  EXPECT_EQ(ok.final_transcript, reference.get().at(wav));

  EXPECT_EQ(WaitForMetric(metrics, "lact_active_streams", 0), 0);
  EXPECT_EQ(WaitForMetric(metrics, "lact_fast_weight_state_bytes{device=\"cpu\"}", 0), 0);
  const std::string m = HttpGet(metrics, "/metrics");
  EXPECT_GE(MetricValue(m, "lact_streams_total{code=\"INVALID_ARGUMENT\"}").value_or(0), 13);
  EXPECT_GE(MetricValue(m, "lact_streams_total{code=\"OUT_OF_RANGE\"}").value_or(0), 1);
  EXPECT_GE(MetricValue(m, "lact_streams_total{code=\"RESOURCE_EXHAUSTED\"}").value_or(0), 1);
  EXPECT_GE(MetricValue(m, "lact_streams_total{code=\"CANCELLED\"}").value_or(0), 3);
  EXPECT_GE(MetricValue(m, "lact_streams_total{code=\"DEADLINE_EXCEEDED\"}").value_or(0), 1);

  // Still healthy.
  EXPECT_EQ(RunHealthProbe(server.address()), 0) << "health check after the bad calls";
  const std::string log = server.log();
  EXPECT_EQ(log.find("internal error"), std::string::npos) << log;
}

// A client with a 1 KiB HTTP/2 window sends config + audio (interim results and word times on),
// then neither reads, nor sends, nor half-closes. The server's writer blocks once the window is
// full; the watchdog (--write_stall_timeout_s=2) must end the call by itself, long before the
// client's deadline: RESOURCE_EXHAUSTED with the stall reason in its log line and
// lact_streams_total, lact_active_streams back to 0; the client sees CANCELLED.
// What one Recognize call returns, within `deadline`.
grpc::Status RecognizeClip(pb::StreamingAsr::Stub* stub, const pb::RecognitionConfig* config,
                           const std::string& audio, absl::Duration deadline,
                           pb::RecognizeResponse* response) {
  pb::RecognizeRequest request;
  if (config != nullptr) *request.mutable_config() = *config;
  request.set_audio_content(audio);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return stub->Recognize(&context, request, response);
}

// Recognize's clip passes through the same checks as a stream's messages, each failure with its
// code and message; a clip the model is still decoding when the client's deadline passes ends
// DEADLINE_EXCEEDED at the deadline, its slot and state freed; a good clip is served after.
TEST(ServerErrorsTest, RecognizeErrorsAndItsDeadline) {
  // Recognize's windows made costly (1 s steps, 10 s of context each side: 21x the clip's frames),
  // so that the tiny model is still decoding a long clip when its deadline passes.
  ServerProcess server(
      MakeLactModelDir(), Window{},
      {"--max_stream_seconds=100", "--recognize_step_ms=1000", "--recognize_context_ms=10000"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto stub = server.stub();
  const pb::RecognitionConfig pcm16 = MakeConfig(pb::LINEAR16, 16000);
  const std::string two_seconds = ToLinear16(SyntheticAudio(2.0, 16000, 51));
  pb::RecognizeResponse response;
  grpc::Status s = RecognizeClip(stub.get(), nullptr, two_seconds, absl::Seconds(20), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("RecognizeRequest.config is not set"), std::string::npos)
      << s.error_message();
  s = RecognizeClip(stub.get(), &pcm16, two_seconds + "x", absl::Seconds(20), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  const pb::RecognitionConfig f32 = MakeConfig(pb::FLOAT32, 16000);
  std::vector<float> bad = SyntheticAudio(1.0, 16000, 52);
  bad[8000] = std::nanf("");
  s = RecognizeClip(stub.get(), &f32, ToFloat32(bad), absl::Seconds(20), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // 101 s of PCM (3.2 MB, under --max_message_bytes) past --max_stream_seconds=100: refused from
  // its size, before the model decodes any of it (no model step runs meanwhile).
  const std::optional<double> steps_before =
      MetricValue(HttpGet(server.metrics_port(), "/metrics"), "lact_batch_size_count");
  s = RecognizeClip(stub.get(), &pcm16, ToLinear16(SyntheticAudio(101.0, 16000, 53)),
                    absl::Seconds(60), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE) << s.error_message();
  EXPECT_NE(s.error_message().find("--max_stream_seconds"), std::string::npos) << s.error_message();
  EXPECT_EQ(MetricValue(HttpGet(server.metrics_port(), "/metrics"), "lact_batch_size_count"),
            steps_before);
  // Stereo: the same 3.2 MB are 50.5 s of audio, within the limit (the deadline ends it).
  pb::RecognitionConfig stereo = MakeConfig(pb::LINEAR16, 16000, 2);
  s = RecognizeClip(stub.get(), &stereo, ToLinear16(SyntheticAudio(101.0, 16000, 53)),
                    absl::Milliseconds(500), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();

  // 99 s of audio take the tiny model far longer than the 1 s deadline.
  const absl::Time start = absl::Now();
  s = RecognizeClip(stub.get(), &pcm16, ToLinear16(SyntheticAudio(99.0, 16000, 54)),
                    absl::Seconds(1), &response);
  const double took = absl::ToDoubleSeconds(absl::Now() - start);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_LT(took, 5.0);
  EXPECT_EQ(WaitForMetric(server.metrics_port(), "lact_active_streams", 0), 0);
  EXPECT_EQ(WaitForMetric(server.metrics_port(), "lact_fast_weight_state_bytes{device=\"cpu\"}", 0),
            0);

  s = RecognizeClip(stub.get(), &pcm16, two_seconds, absl::Seconds(30), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NEAR(response.audio_duration().seconds() + response.audio_duration().nanos() * 1e-9, 2.0,
              1e-3);
  const std::string log = server.log();
  EXPECT_NE(log.find("status=DEADLINE_EXCEEDED"), std::string::npos) << log;
}

TEST(ServerErrorsTest, ClientThatStopsReadingIsStoppedByTheWriteStallWatchdog) {
  const std::string model = MakeLactModelDir();
  ServerProcess server(model, Window{}, {"--write_stall_timeout_s=2"});
  ASSERT_TRUE(server.ok()) << server.log();
  const int metrics = server.metrics_port();

  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  auto stub = pb::StreamingAsr::NewStub(
      grpc::CreateCustomChannel(server.address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  const absl::Duration client_deadline = absl::Seconds(240);
  context.set_deadline(absl::ToChronoTime(absl::Now() + client_deadline));
  // 10 s at 8 kHz with word times: about 30 interim responses of 100 to 200 bytes each, several
  // times the 1 KiB window (a run at the time of writing: the writer blocked after 5 of them).
  pb::RecognitionConfig config = MakeConfig(pb::FLOAT32, 8000);
  config.set_enable_word_time_offsets(true);
  const auto messages = ConfigThenAudio(
      config, /*interim=*/true, SplitBytes(ToFloat32(SyntheticAudio(10.0, 8000, 91)), 3200));
  auto stream = stub->StreamingRecognize(&context);
  size_t written = 0;
  for (const auto& m : messages) {
    if (!stream->Write(m)) break;  // the server may already have ended the call
    ++written;
    absl::SleepFor(absl::Milliseconds(20));  // 100 ms of audio per 20 ms
  }
  const absl::Time last_write = absl::Now();
  // Now the client only waits: no read, no write, no half-close.

  // The server's own end line, without a single read or write by the client.
  std::string end_line;
  while (end_line.empty() && absl::Now() < last_write + absl::Seconds(120)) {
    for (absl::string_view line : absl::StrSplit(server.log(), '\n')) {
      if (line.find(" end: status=") != absl::string_view::npos) end_line = std::string(line);
    }
    if (end_line.empty()) absl::SleepFor(absl::Milliseconds(200));
  }
  const absl::Duration took = absl::Now() - last_write;
  ASSERT_FALSE(end_line.empty()) << "the server did not end the stalled call by itself\n"
                                 << server.log();
  EXPECT_NE(
      end_line.find("status=RESOURCE_EXHAUSTED (the client did not read its responses for 2 s"),
      std::string::npos)
      << end_line;
  EXPECT_NE(server.log().find(": cancelling: the client did not read its responses"),
            std::string::npos)
      << server.log();
  EXPECT_LT(took, absl::Seconds(120));
  EXPECT_EQ(WaitForMetric(metrics, "lact_active_streams", 0), 0);
  EXPECT_EQ(WaitForMetric(metrics, "lact_fast_weight_state_bytes{device=\"cpu\"}", 0), 0);
  EXPECT_EQ(
      MetricValue(HttpGet(metrics, "/metrics"), "lact_streams_total{code=\"RESOURCE_EXHAUSTED\"}")
          .value_or(0),
      1);

  // The client: gRPC could not send the status through the full window; it sees the reset.
  pb::StreamingRecognizeResponse response;
  int responses = 0;
  while (stream->Read(&response)) ++responses;
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  std::printf(
      "write stall: %zu of %zu messages written; the server ended the call %.2f s after the "
      "client's last write; the client then read %d response(s); %s\n",
      written, messages.size(), absl::ToDoubleSeconds(took), responses, end_line.c_str());

  // The server still serves.
  EXPECT_EQ(RunHealthProbe(server.address()), 0);
  EXPECT_EQ(server.log().find("internal error"), std::string::npos) << server.log();
}

}  // namespace
}  // namespace lact::server::testing
