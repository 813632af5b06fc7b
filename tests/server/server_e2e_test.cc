// End-to-end: lact_server on a loopback port with a tiny LaCT model, concurrent PCM and Opus
// streams, interim results before the half-close, finals equal to `lact_transcribe --streaming`
// on the same audio (decoded on --decode_threads=3), Recognize in its long windows, /metrics with
// sane values, and a real Prometheus scraping it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/ogg_opus_decoder.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

class ServerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_dir_ = new std::string(MakeLactModelDir());
    // Decoding on 3 threads off the model worker: the finals must still equal lact_transcribe's.
    server_ = new ServerProcess(*model_dir_, Window{},
                                {"--max_batch=8", "--max_queue_delay_ms=5", "--decode_threads=3"});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete model_dir_;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->log(); }

  static std::string* model_dir_;
  static ServerProcess* server_;
};
std::string* ServerE2eTest::model_dir_ = nullptr;
ServerProcess* ServerE2eTest::server_ = nullptr;

struct Case {
  std::string name;
  pb::RecognitionConfig config;
  std::vector<std::string> chunks;
  std::vector<float> audio_as_served;  // what the model sees (16 kHz), for the reference
  bool parity = true;
};

TEST_F(ServerE2eTest, ConcurrentPcmAndOpusStreamsMatchLactTranscribe) {
  const std::string work = MakeTempDir("lact_e2e_");
  std::vector<Case> cases;
  {  // LINEAR16 at 16 kHz, 100 ms messages.
    Case c{"linear16", MakeConfig(pb::LINEAR16, 16000), {}, SyntheticAudio(3.2, 16000, 11)};
    c.config.set_enable_word_time_offsets(true);
    c.chunks = SplitBytes(ToLinear16(c.audio_as_served), 3200);
    cases.push_back(c);
  }
  {  // FLOAT32 at 16 kHz, split at odd byte counts (samples cut across messages).
    Case c{"float32", MakeConfig(pb::FLOAT32, 16000), {}, SyntheticAudio(2.7, 16000, 12)};
    c.chunks = SplitBytes(ToFloat32(c.audio_as_served), 4001);
    cases.push_back(c);
  }
  {  // OPUS: one 20 ms packet per message.
    Case c{"opus", MakeConfig(pb::OPUS, 16000), {}, {}};
    const std::vector<std::string> packets =
        EncodeOpusPackets(SyntheticAudio(3.0, 16000, 13), 16000);
    c.chunks = packets;
    c.audio_as_served = DecodeOpusPackets(packets, 16000);
    cases.push_back(c);
  }
  {  // OGG_OPUS split at arbitrary bytes.
    Case c{"ogg_opus", MakeConfig(pb::OGG_OPUS, 0, 0), {}, {}};
    const std::string ogg = EncodeOggOpus(SyntheticAudio(2.9, 16000, 14), 16000);
    c.chunks = SplitBytes(ogg, 777);
    OggOpusDecoder decoder(16000, 0);
    for (const auto& piece : c.chunks) ASSERT_TRUE(decoder.Decode(piece, &c.audio_as_served).ok());
    cases.push_back(c);
  }
  {  // LINEAR16 at 8 kHz: resampled in the server (no exact reference: only a final is checked).
    Case c{"linear16_8k", MakeConfig(pb::LINEAR16, 8000), {}, SyntheticAudio(2.5, 8000, 15)};
    c.chunks = SplitBytes(ToLinear16(c.audio_as_served), 1600);
    c.parity = false;
    cases.push_back(c);
  }

  // Reference transcripts of the parity cases, from one lact_transcribe run.
  std::vector<std::string> files;
  for (const Case& c : cases) {
    if (!c.parity) continue;
    files.push_back(work + "/" + c.name + ".wav");
    WriteFloatWav(files.back(), c.audio_as_served, 16000);
  }
  std::future<std::map<std::string, std::string>> reference = std::async(
      std::launch::async, [&] { return ReferenceTranscripts(*model_dir_, files, Window{}); });

  // All streams at once, each paced at about 4x real time.
  std::vector<std::future<StreamResult>> runs;
  for (const Case& c : cases) {
    runs.push_back(std::async(std::launch::async, [this, &c] {
      auto stub = server_->stub();
      StreamSpec spec;
      spec.messages = ConfigThenAudio(c.config, /*interim=*/true, c.chunks);
      spec.interval = absl::Milliseconds(c.name == "opus" ? 5 : 20);
      spec.wait_for_interim = true;
      return RunStream(stub.get(), spec);
    }));
  }
  // While they run: fast weights are held. (Polled, not one fixed sleep: under TSan the streams
  // take longer to start.)
  std::string during;
  const absl::Time poll_until = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(50));
    during = HttpGet(server_->metrics_port(), "/metrics");
  } while (absl::Now() < poll_until &&
           (MetricValue(during, "lact_active_streams").value_or(0) <= 0 ||
            MetricValue(during, "lact_fast_weight_state_bytes{device=\"cpu\"}").value_or(0) <= 0));
  std::vector<StreamResult> results;
  for (auto& r : runs) results.push_back(r.get());
  const std::map<std::string, std::string> expected = reference.get();

  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    const StreamResult& r = results[i];
    ASSERT_TRUE(r.status.ok()) << r.status.error_code() << " " << r.status.error_message();
    EXPECT_GT(r.interims_before_close, 0) << "no interim result before the half-close";
    ASSERT_TRUE(r.got_final);
    EXPECT_FALSE(r.responses.empty());
    EXPECT_TRUE(r.responses.back().results(0).is_final()) << "the final is the last response";
    if (cases[i].parity) {
      const std::string file = work + "/" + cases[i].name + ".wav";
      ASSERT_EQ(expected.count(file), 1u);
      EXPECT_EQ(r.final_transcript, expected.at(file));
      EXPECT_FALSE(r.final_transcript.empty()) << "the tiny model should say something";
    }
  }
  // Word times on the stream that asked for them: ordered, inside the audio.
  const StreamResult& words = results[0];
  EXPECT_FALSE(words.final_words.empty());
  double last = 0;
  for (const auto& w : words.final_words) {
    const double start = w.start_time().seconds() + w.start_time().nanos() * 1e-9;
    const double end = w.end_time().seconds() + w.end_time().nanos() * 1e-9;
    EXPECT_GE(start, last - 1e-6);
    EXPECT_GE(end, start);
    EXPECT_LE(end, 3.2 + 0.05);
    last = start;
  }
  EXPECT_TRUE(results[1].final_words.empty()) << "words only when asked for";

  // Metrics, while the streams ran and after.
  ASSERT_FALSE(during.empty());
  EXPECT_GT(MetricValue(during, "lact_active_streams").value_or(0), 0);
  EXPECT_GT(MetricValue(during, "lact_fast_weight_state_bytes{device=\"cpu\"}").value_or(0), 0);
  absl::SleepFor(absl::Milliseconds(200));
  const std::string after = HttpGet(server_->metrics_port(), "/metrics");
  for (const char* name :
       {"lact_device_memory_allocated_bytes", "lact_device_memory_reserved_bytes",
        "lact_device_memory_total_bytes", "lact_fast_weight_state_bytes", "lact_active_streams",
        "lact_streams_total", "lact_audio_seconds_total", "lact_batch_size",
        "lact_model_step_seconds", "lact_recognize_step_seconds", "lact_queue_wait_seconds",
        "lact_interim_latency_seconds", "lact_final_latency_seconds", "lact_decode_seconds",
        "lact_model_idle_seconds_total", "lact_encoder_calls", "lact_encoder_frames_total"}) {
    EXPECT_NE(after.find(absl::StrCat("# TYPE ", name, " ")), std::string::npos) << name;
  }
  const double allocated =
      MetricValue(after, "lact_device_memory_allocated_bytes{device=\"cpu\"}").value_or(-1);
  const double total =
      MetricValue(after, "lact_device_memory_total_bytes{device=\"cpu\"}").value_or(-1);
  EXPECT_GT(allocated, 10e6) << "a LibTorch process holds more than 10 MB";
  EXPECT_GT(total, allocated);
  EXPECT_EQ(MetricValue(after, "lact_active_streams"), 0);
  EXPECT_EQ(MetricValue(after, "lact_fast_weight_state_bytes{device=\"cpu\"}"), 0) << "state freed";
  EXPECT_GE(MetricValue(after, "lact_streams_total{code=\"OK\"}").value_or(0), cases.size());
  double audio = 0;
  for (const Case& c : cases)
    audio += c.audio_as_served.size() / static_cast<double>(c.config.sample_rate_hertz() > 0
                                                                ? c.config.sample_rate_hertz()
                                                                : 16000);
  const double decoded = MetricValue(after, "lact_audio_seconds_total").value_or(0);
  EXPECT_GT(decoded, 0.9 * audio);
  EXPECT_LT(decoded, 1.1 * audio + 1);
  const double batches = MetricValue(after, "lact_batch_size_count").value_or(0);
  const double batched_streams = MetricValue(after, "lact_batch_size_sum").value_or(0);
  EXPECT_GT(batches, 0);
  EXPECT_GE(batched_streams, batches);
  EXPECT_LE(batched_streams / batches, 8.0);
  EXPECT_EQ(MetricValue(after, "lact_model_step_seconds_count"), batches);
  // Every step made at least one encoder call (each stream here is longer than a frame and the
  // lookahead is not 0, so no step has nothing to encode) and at most one per stream in it.
  EXPECT_EQ(MetricValue(after, "lact_encoder_calls_count"), batches);
  const double encoder_calls = MetricValue(after, "lact_encoder_calls_sum").value_or(0);
  EXPECT_GE(encoder_calls, batches);
  EXPECT_LE(encoder_calls, batched_streams);
  // Every committed 20 ms frame was encoded at least once (windows overlap: more); the CPU's
  // --window_batching auto pads nothing.
  EXPECT_GE(MetricValue(after, "lact_encoder_frames_total{kind=\"window\"}").value_or(0),
            decoded / 0.02 - cases.size());
  EXPECT_EQ(MetricValue(after, "lact_encoder_frames_total{kind=\"padding\"}"), 0);
  // One decode per stream of each batch (a stream found not ready has none), and the worker
  // waited for streams between batches (the clients send in about 4x real time).
  const double decodes = MetricValue(after, "lact_decode_seconds_count").value_or(0);
  EXPECT_GE(decodes, batches);
  EXPECT_LE(decodes, batched_streams);
  EXPECT_GT(MetricValue(after, "lact_model_idle_seconds_total").value_or(0), 0);
  EXPECT_GE(MetricValue(after, "lact_queue_wait_seconds_count").value_or(0), batched_streams);
  EXPECT_GE(MetricValue(after, "lact_interim_latency_seconds_count").value_or(0), cases.size());
  EXPECT_GE(MetricValue(after, "lact_final_latency_seconds_count").value_or(0), cases.size());
  const double final_sum = MetricValue(after, "lact_final_latency_seconds_sum").value_or(1e9);
  EXPECT_LT(final_sum / cases.size(), 5.0) << "mean final latency";

  // One line per stream start and end in the log.
  const std::string log = server_->log();
  EXPECT_NE(log.find("start: StreamingRecognize"), std::string::npos) << log;
  EXPECT_NE(log.find("end: status=OK"), std::string::npos) << log;
}

// Recognize decodes its clip in long windows (by default 20 s steps with 1.92 s of context on each
// side): a 2.2 s clip in one pass, exactly the clip's frames, with the transcript of
// lact_transcribe --streaming on that window; a 25 s clip in two windows, the last one not
// reaching back (1.15x the clip's frames; reaching back: 1.83x; the streams' window here: 5x).
// Its transcript is checked in-process against decoding alone (server.scheduler_lanes_test).
TEST_F(ServerE2eTest, RecognizeDecodesInLongWindows) {
  const std::string work = MakeTempDir("lact_e2e_recognize_");
  auto stub = server_->stub();
  const Window clips{20000, 1920, 1920};
  for (const double seconds : {2.2, 25.0}) {
    SCOPED_TRACE(seconds);
    const std::vector<float> audio = SyntheticAudio(seconds, 16000, 21);
    const std::string file = absl::StrCat(work, "/clip", seconds, ".wav");
    WriteFloatWav(file, audio, 16000);
    pb::RecognizeRequest request;
    *request.mutable_config() = MakeConfig(pb::LINEAR16, 16000);
    request.set_audio_content(ToLinear16(audio));
    pb::RecognizeResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    const auto metric = [this](const std::string& series) {
      return MetricValue(HttpGet(server_->metrics_port(), "/metrics"), series).value_or(-1);
    };
    const std::string frames = "lact_encoder_frames_total{kind=\"window\"}";
    const double frames_before = metric(frames);
    const double steps_before = metric("lact_recognize_step_seconds_count");
    const grpc::Status status = stub->Recognize(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    const double encoded = metric(frames) - frames_before;
    // Its model steps ran in Recognize's lane: one window, or two.
    EXPECT_EQ(metric("lact_recognize_step_seconds_count") - steps_before, seconds < 20 ? 1 : 2);
    ASSERT_EQ(response.alternatives_size(), 1);
    const std::string& transcript = response.alternatives(0).transcript();
    if (seconds < 20) {
      EXPECT_EQ(transcript, ReferenceTranscripts(*model_dir_, {file}, clips).at(file));
    }
    EXPECT_FALSE(transcript.empty());
    EXPECT_NEAR(response.audio_duration().seconds() + response.audio_duration().nanos() * 1e-9,
                seconds, 1e-3);
    // Encoder frames of one pass: the conv stack's 400-sample field, 320 samples apart.
    const double clip_frames = static_cast<double>((audio.size() - 400) / 320 + 1);
    if (seconds < 20) {
      EXPECT_EQ(encoded, clip_frames) << "one pass";
    } else {
      EXPECT_GT(encoded, clip_frames);
      EXPECT_LT(encoded, 1.25 * clip_frames) << "encoder frames for a " << seconds << " s clip";
    }
  }
}

TEST_F(ServerE2eTest, StreamWithoutAudioEndsWithAnEmptyFinal) {
  auto stub = server_->stub();
  StreamSpec spec;
  spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, {});
  const StreamResult r = RunStream(stub.get(), spec);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.got_final);
  EXPECT_EQ(r.final_transcript, "");
  // And a stream shorter than one model frame (10 ms).
  spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true,
                                  {ToLinear16(SyntheticAudio(0.01, 16000, 3))});
  const StreamResult tiny = RunStream(stub.get(), spec);
  ASSERT_TRUE(tiny.status.ok()) << tiny.status.error_message();
  EXPECT_TRUE(tiny.got_final);
}

TEST_F(ServerE2eTest, PrometheusScrapesTheServer) {
  const std::string dir = MakeTempDir("lact_prometheus_");
  const int web_port = FreePort();
  {
    std::ofstream yml(dir + "/prometheus.yml");
    yml << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: lact_server\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << server_->metrics_port() << "']\n";
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string log = dir + "/prometheus.log";
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    const std::string config = "--config.file=" + dir + "/prometheus.yml";
    const std::string storage = "--storage.tsdb.path=" + dir + "/data";
    const std::string listen = absl::StrCat("--web.listen-address=127.0.0.1:", web_port);
    execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  bool active_found = false, memory_found = false;
  std::string last;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline && !(active_found && memory_found)) {
    absl::SleepFor(absl::Milliseconds(500));
    if (!active_found) {
      last = HttpGet(web_port, "/api/v1/query?query=lact_active_streams");
      active_found = last.find("\"status\":\"success\"") != std::string::npos &&
                     last.find("\"__name__\":\"lact_active_streams\"") != std::string::npos;
    }
    if (active_found && !memory_found) {
      last = HttpGet(web_port, "/api/v1/query?query=lact_device_memory_allocated_bytes");
      memory_found = last.find("\"device\":\"cpu\"") != std::string::npos;
    }
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(active_found) << last << "\n" << ReadFile(dir + "/prometheus.log").substr(0, 4000);
  EXPECT_TRUE(memory_found) << last;
}

}  // namespace
}  // namespace lact::server::testing

namespace lact::server::testing {
namespace {

// Many streams at once with a long queue delay: the scheduler batches them, never past
// --max_batch, and every stream still gets its own transcript.
// GetRecognitionConfig answers with the loaded model folder's values (read here from its JSON
// files by Python, not by the server's loader) and the server's settings.
TEST_F(ServerE2eTest, GetRecognitionConfigDescribesTheLoadedModel) {
  pb::GetRecognitionConfigResponse info;
  grpc::ClientContext context;
  const grpc::Status status =
      server_->stub()->GetRecognitionConfig(&context, pb::GetRecognitionConfigRequest(), &info);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string dir = MakeTempDir("lact_config_info_");
  {
    std::ofstream out(dir + "/answer.txt");
    out << info.model_name() << "\n"
        << info.sample_rate_hertz() << "\n"
        << info.frame_seconds() << "\n"
        << absl::StrJoin(info.vocabulary(), " ") << "\n";
    std::ofstream(dir + "/lact.json") << info.lact_config_json();
  }
  const std::string script = R"PY(
import json, math, os, sys
model, dir = sys.argv[1], sys.argv[2]
name, rate, frame, vocab = open(os.path.join(dir, "answer.txt")).read().split("\n")[:4]
config = json.load(open(os.path.join(model, "config.json")))
pre = json.load(open(os.path.join(model, "preprocessor_config.json")))
tokens = json.load(open(os.path.join(model, "vocab.json")))
want_vocab = " ".join(t for t, _ in sorted(tokens.items(), key=lambda kv: kv[1]))
want_frame = math.prod(config["conv_stride"]) / pre["sampling_rate"]
assert name == os.path.basename(model.rstrip("/")), (name, model)
assert int(rate) == pre["sampling_rate"], (rate, pre["sampling_rate"])
assert abs(float(frame) - want_frame) < 1e-9, (frame, want_frame)
assert vocab == want_vocab, (vocab, want_vocab)
lact = json.load(open(os.path.join(dir, "lact.json")))
for key, value in json.load(open(os.path.join(model, "lact_config.json"))).items():
    assert key in lact and lact[key] == value, (key, value, lact.get(key))
print("GetRecognitionConfig matches", model)
)PY";
  std::ofstream(dir + "/check.py") << script;
  EXPECT_EQ(
      std::system(
          absl::StrCat("/usr/bin/python3 ", dir, "/check.py ", *model_dir_, " ", dir).c_str()),
      0);
  EXPECT_EQ(info.decoder(), "greedy");  // the fixture has no language_model/
  EXPECT_FALSE(info.language_model());
  EXPECT_TRUE(info.lact_available());
  EXPECT_TRUE(info.lact_default());
  // The window the server was started with, and the documented defaults (docs/server.md).
  EXPECT_EQ(info.streaming_window().step_ms(), Window{}.step_ms);
  EXPECT_EQ(info.streaming_window().left_context_ms(), Window{}.left_context_ms);
  EXPECT_EQ(info.streaming_window().lookahead_ms(), Window{}.lookahead_ms);
  EXPECT_EQ(info.recognize_window().step_ms(), 20000);
  EXPECT_EQ(info.recognize_window().left_context_ms(), 1920);
  EXPECT_EQ(info.recognize_window().lookahead_ms(), 1920);
  EXPECT_TRUE(info.endpointing().enabled());
  EXPECT_EQ(info.endpointing().start_history(), 300);
  EXPECT_FLOAT_EQ(info.endpointing().start_threshold(), 0.2f);
  EXPECT_EQ(info.endpointing().stop_history(), 800);
  EXPECT_FLOAT_EQ(info.endpointing().stop_threshold(), 0.98f);
  EXPECT_EQ(info.endpointing().stop_history_eou(), 240);
  EXPECT_DOUBLE_EQ(info.endpointing().max_utterance_seconds(), 30);
  EXPECT_EQ(info.limits().max_batch(), 8);
  EXPECT_EQ(info.limits().max_streams(), 64);
  EXPECT_DOUBLE_EQ(info.limits().max_stream_seconds(), 600);
  EXPECT_EQ(info.device(), "cpu");
}

TEST(ServerBatchingTest, ReadyStreamsAreBatchedUpToMaxBatch) {
  const std::string model = MakeLactModelDir();
  ServerProcess server(model, Window{}, {"--max_batch=4", "--max_queue_delay_ms=100"});
  ASSERT_TRUE(server.ok()) << server.log();
  const std::string work = MakeTempDir("lact_batching_");
  constexpr int kStreams = 8;
  std::vector<std::string> files;
  std::vector<std::future<StreamResult>> runs;
  for (int i = 0; i < kStreams; ++i) {
    const std::vector<float> audio = SyntheticAudio(2.0, 16000, 100 + i);
    files.push_back(absl::StrCat(work, "/s", i, ".wav"));
    WriteFloatWav(files.back(), audio, 16000);
    runs.push_back(std::async(std::launch::async, [&server, audio] {
      auto stub = server.stub();
      StreamSpec spec;
      spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), false,
                                      SplitBytes(ToLinear16(audio), 6400));
      spec.interval = absl::ZeroDuration();
      return RunStream(stub.get(), spec);
    }));
  }
  const auto expected = ReferenceTranscripts(model, files, Window{});
  for (int i = 0; i < kStreams; ++i) {
    const StreamResult r = runs[i].get();
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.final_transcript, expected.at(files[i])) << "stream " << i;
    EXPECT_EQ(r.responses.size(), 1u) << "interim_results off: only the final";
  }
  const std::string m = HttpGet(server.metrics_port(), "/metrics");
  const double count = MetricValue(m, "lact_batch_size_count").value_or(0);
  const double sum = MetricValue(m, "lact_batch_size_sum").value_or(0);
  ASSERT_GT(count, 0);
  EXPECT_GT(sum / count, 1.5) << "streams should share model calls";
  EXPECT_EQ(MetricValue(m, "lact_batch_size_bucket{le=\"4\"}"), count)
      << "never more than --max_batch";
}

}  // namespace
}  // namespace lact::server::testing
