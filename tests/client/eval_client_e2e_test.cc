// lact_eval_client end to end: a real lact_server on a loopback port (a tiny LaCT model built
// from tests/fixtures), the real LibriSpeech sample, --lact both with 8 parallel real-time
// streams; checks the three output files, that summary.json's corpus WER/CER equal a
// recomputation from the CSV's references and hypotheses (with core/corpus/scoring and with the
// independent tests/client/score_reference.py), that latency percentiles are reported, and the
// exit status for an unreachable server and for failed streams. Skipped without lact_server.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/corpus/scoring.h"
#include "csv_test_util.h"
#include "tests/sanitizer_report.h"

namespace lact::eval {
namespace {
namespace fs = std::filesystem;

#ifndef LACT_SERVER_BIN
#define LACT_SERVER_BIN ""
#endif

const std::string kSample = LACT_SHARED_DATA "/librispeech-sample";

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `command` through the shell; its exit code (-1 when it did not exit normally).
int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

fs::path TempDir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("lact_eval_e2e_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string Client() { return LACT_EVAL_CLIENT_BIN; }

// The server binary: $LACT_SERVER_BIN when set (to test another build), else the one built here.
std::string ServerBin() {
  const char* env = std::getenv("LACT_SERVER_BIN");
  return env != nullptr && *env != 0 ? env : LACT_SERVER_BIN;
}
bool HaveServer() { return !ServerBin().empty() && fs::exists(ServerBin()); }

// lact_server as a child process on 127.0.0.1, port chosen by the server (--port 0).
class Server {
 public:
  explicit Server(const fs::path& dir) : dir_(dir) {
    const fs::path model = dir / "model";
    fs::copy(LACT_TEST_FIXTURES "/tiny_group", model, fs::copy_options::recursive);
    for (const char* f : {"lact_config.json", "lact.safetensors"}) {
      fs::copy_file(fs::path(LACT_TEST_FIXTURES) / "lact_momentum" / f, model / f);
    }
    const std::string ready = (dir / "ready.json").string();
    const std::string log = (dir / "server.log").string();
    std::vector<std::string> args = {ServerBin(), "--model", model.string(), "--host", "127.0.0.1",
                                     "--port", "0", "--metrics_port", "-1", "--ready_file", ready,
                                     "--threads", "2", "--drain_seconds", "2",
                                     // Recognize on the streaming window: its transcripts are
                                     // the streams' (OfflineRecognizeGivesTheStreamsTranscripts)
                                     "--recognize_step_ms", "0"};
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(ready) && fs::file_size(ready) > 0) {
        try {
          port_ = nlohmann::json::parse(ReadAll(ready)).at("port").get<int>();
          return;
        } catch (...) {
        }
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (const std::string report = lact::testing::SanitizerReport(log()); !report.empty()) {
      ADD_FAILURE() << "sanitizer report in the server log " << (dir_ / "server.log").string()
                    << ":\n"
                    << report;
    }
  }
  bool ok() const { return pid_ > 0 && port_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return ReadAll(dir_ / "server.log"); }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class EvalClientE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!HaveServer()) return;
    if (!fs::is_directory(kSample)) return;
    dir_ = new fs::path(TempDir("server"));
    server_ = new Server(*dir_);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!HaveServer()) GTEST_SKIP() << "lact_server is not built";
    if (!fs::is_directory(kSample)) GTEST_SKIP() << "no " << kSample;
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->ok()) << "lact_server did not start:\n" << server_->log();
  }
  static fs::path* dir_;
  static Server* server_;
};
fs::path* EvalClientE2E::dir_ = nullptr;
Server* EvalClientE2E::server_ = nullptr;

TEST_F(EvalClientE2E, LactBothRealtimeParallelWritesConsistentReports) {
  const fs::path out = TempDir("both");
  const std::string cmd = Client() + " --server " + server_->address() + " --librispeech " +
                          kSample + " --lact both --num-parallel-requests 8 --simulate_realtime" +
                          " --output_dir " + out.string() + " > " + (out / "stdout.txt").string() +
                          " 2> " + (out / "stderr.txt").string();
  const int code = Shell(cmd);
  ASSERT_EQ(code, 0) << ReadAll(out / "stderr.txt") << "\nserver log:\n" << server_->log();
  const std::string stdout_text = ReadAll(out / "stdout.txt");
  EXPECT_NE(stdout_text.find("Throughput:"), std::string::npos) << stdout_text;
  EXPECT_NE(ReadAll(out / "stderr.txt").find("[eval] 8/8 streams (0 failed)"), std::string::npos);

  // results.csv: 4 utterances x 2 settings.
  const auto rows = testing::ParseCsv(ReadAll(out / "results.csv"));
  ASSERT_EQ(rows.size(), 9u);
  ASSERT_EQ(rows[0].size(), 13u);
  EXPECT_EQ(rows[0][0], "id");
  EXPECT_EQ(rows[0][10], "lact");
  EXPECT_EQ(rows[0][11], "finals");
  std::map<std::string, CorpusScore> rescored;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 13u);
    EXPECT_GE(std::stoi(rows[i][11]), 1) << "row " << i;
    EXPECT_GT(std::stoll(rows[i][12]), 0) << "row " << i;
    rescored[rows[i][10]].Add(ScoreUtterance(rows[i][3], rows[i][4]));
    EXPECT_FALSE(rows[i][9].empty()) << "final latency missing in row " << i;
  }
  ASSERT_EQ(rescored.size(), 2u);

  // summary.json equals the recomputation.
  const auto summary = nlohmann::json::parse(ReadAll(out / "summary.json"));
  ASSERT_EQ(summary["settings"].size(), 2u);
  for (const auto& setting : summary["settings"]) {
    const std::string lact = setting["lact"];
    SCOPED_TRACE("lact " + lact);
    EXPECT_EQ(setting["utterances"], 4);
    EXPECT_DOUBLE_EQ(setting["wer"].get<double>(), rescored[lact].wer());
    EXPECT_DOUBLE_EQ(setting["cer"].get<double>(), rescored[lact].cer());
    EXPECT_EQ(setting["words"]["reference_length"], rescored[lact].words().reference_length);
    // Latency percentiles for interim and final responses, and RTFX.
    for (const char* kind : {"interim", "final"}) {
      const auto& l = setting["latency_ms"][kind];
      EXPECT_GT(l["count"].get<int>(), 0) << kind;
      EXPECT_GE(l["p99"].get<double>(), l["p50"].get<double>()) << kind;
      EXPECT_GT(l["p50"].get<double>(), 0) << kind;
    }
    EXPECT_GT(setting["rtfx"].get<double>(), 0);
    // Real-time pace: a phase cannot be shorter than its longest utterance (10.4 s).
    EXPECT_GT(setting["wall_s"].get<double>(), 10.0);
  }
  EXPECT_TRUE(summary["failed_streams"].empty());
  EXPECT_TRUE(summary.contains("lact_vs_baseline"));

  // The independent Python scorer agrees.
  if (fs::exists("/usr/bin/python3")) {
    const fs::path py_out = out / "python_scores.json";
    ASSERT_EQ(Shell("/usr/bin/python3 " LACT_CLIENT_TESTS_DIR "/score_reference.py --csv " +
                    (out / "results.csv").string() + " > " + py_out.string()),
              0);
    const auto py = nlohmann::json::parse(ReadAll(py_out));
    for (const auto& setting : summary["settings"]) {
      const std::string lact = setting["lact"];
      EXPECT_DOUBLE_EQ(setting["wer"].get<double>(), py[lact]["wer"].get<double>()) << lact;
      EXPECT_DOUBLE_EQ(setting["cer"].get<double>(), py[lact]["cer"].get<double>()) << lact;
    }
  }

  // report.html: both series in the per-utterance charts.
  const std::string html = ReadAll(out / "report.html");
  for (const char* id : {"chart-wer", "chart-cer", "chart-latency-interim", "chart-latency-final",
                         "chart-time", "summary-table"}) {
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_NE(html.find("data-series=\"LaCT on\""), std::string::npos);
  EXPECT_NE(html.find("data-series=\"LaCT off (baseline)\""), std::string::npos);
  fs::remove_all(out);
}

// Both Opus encodings at once, from a manifest, with the chapter's two utterances joined into
// one long-form stream. Real-time pace keeps the server's work after the half-close short on a
// loaded machine.
TEST_F(EvalClientE2E, OpusAndOggOpusLongFormFromManifest) {
  const fs::path dir = TempDir("opus");
  const std::string chapter = kSample + "/LibriSpeech/test-clean/1089/134691/";
  {
    std::ofstream manifest(dir / "list.tsv");
    manifest << "# two utterances of one chapter\n"
             << chapter << "1089-134691-0000.flac\tHE COULD WAIT NO LONGER\n"
             << chapter << "1089-134691-0001.flac\tFOR A FULL HOUR HE HAD PACED UP AND DOWN "
             << "WAITING BUT HE COULD WAIT NO LONGER\n";
  }
  std::string cmd;
  int job = 0;
  for (const std::string encoding : {"opus", "ogg_opus"}) {
    cmd += Client() + " --server " + server_->address() + " --manifest " +
           (dir / "list.tsv").string() + " --long_form --simulate_realtime --lact on" +
           " --encoding " + encoding + " --output_dir " + (dir / encoding).string() +
           " >/dev/null 2>" + (dir / (encoding + ".err")).string() + " & p" +
           std::to_string(++job) + "=$!; ";
  }
  cmd += "wait $p1; a=$?; wait $p2; b=$?; exit $((a + b))";
  const int code = Shell("bash -c '" + cmd + "'");
  ASSERT_EQ(code, 0) << ReadAll(dir / "opus.err") << ReadAll(dir / "ogg_opus.err")
                     << "\nserver log:\n"
                     << server_->log();
  for (const std::string encoding : {"opus", "ogg_opus"}) {
    SCOPED_TRACE(encoding);
    const auto rows = testing::ParseCsv(ReadAll(dir / encoding / "results.csv"));
    ASSERT_EQ(rows.size(), 2u);  // one long-form item
    EXPECT_EQ(rows[1][0], "1089-134691");
    EXPECT_EQ(rows[1][3],
              "HE COULD WAIT NO LONGER FOR A FULL HOUR HE HAD PACED UP AND DOWN "
              "WAITING BUT HE COULD WAIT NO LONGER");
    EXPECT_EQ(rows[1][10], "on");
    EXPECT_GT(std::stod(rows[1][2]), 7.0);  // both files' audio
    const auto summary = nlohmann::json::parse(ReadAll(dir / encoding / "summary.json"));
    EXPECT_EQ(summary["run"]["encoding"], encoding);
    EXPECT_EQ(summary["run"]["long_form"], true);
    EXPECT_EQ(summary["settings"][0]["utterances"], 1);
    EXPECT_GT(summary["settings"][0]["latency_ms"]["interim"]["count"].get<int>(), 0);
  }
  fs::remove_all(dir);
}

// --offline sends each utterance as one Recognize call: the same transcripts as the streams of
// the same audio (the server's contract with --recognize_step_ms=0), no interim results, one final
// per utterance with the call's latency, and summary.json says the run was offline. Ogg Opus clips
// work too.
TEST_F(EvalClientE2E, OfflineRecognizeGivesTheStreamsTranscripts) {
  const fs::path dir = TempDir("offline");
  const std::string common = Client() + " --server " + server_->address() + " --librispeech " +
                             kSample + " --lact on --num_parallel_requests 4 --progress=false";
  ASSERT_EQ(Shell(common + " --output_dir " + (dir / "streamed").string() + " >/dev/null 2>&1"), 0);
  ASSERT_EQ(Shell(common + " --offline --output_dir " + (dir / "offline").string() + " >" +
                  (dir / "offline.txt").string() + " 2>&1"),
            0)
      << ReadAll(dir / "offline.txt");
  ASSERT_EQ(Shell(common + " --offline --encoding ogg_opus --output_dir " + (dir / "ogg").string() +
                  " >/dev/null 2>&1"),
            0);
  const auto streamed = testing::ParseCsv(ReadAll(dir / "streamed" / "results.csv"));
  const auto offline = testing::ParseCsv(ReadAll(dir / "offline" / "results.csv"));
  ASSERT_EQ(streamed.size(), 5u);  // header + 4 utterances, in corpus order
  ASSERT_EQ(offline.size(), streamed.size());
  for (size_t i = 1; i < offline.size(); ++i) {
    SCOPED_TRACE(offline[i][0]);
    EXPECT_EQ(offline[i][0], streamed[i][0]);
    EXPECT_FALSE(offline[i][4].empty());
    EXPECT_EQ(offline[i][4], streamed[i][4]);  // the hypothesis
    EXPECT_EQ(offline[i][8], "");              // no interim
    EXPECT_GT(std::stod(offline[i][9]), 0.0);  // the call's latency
    EXPECT_EQ(offline[i][11], "1");            // one final
  }
  const auto summary = nlohmann::json::parse(ReadAll(dir / "offline" / "summary.json"));
  EXPECT_EQ(summary["run"]["offline"], true);
  EXPECT_EQ(summary["settings"][0]["latency_ms"]["interim"]["count"], 0);
  EXPECT_EQ(summary["settings"][0]["latency_ms"]["final"]["count"], 4);
  EXPECT_GT(summary["settings"][0]["rtfx"].get<double>(), 0.0);
  EXPECT_EQ(nlohmann::json::parse(ReadAll(dir / "streamed" / "summary.json"))["run"]["offline"],
            false);
  const auto ogg = nlohmann::json::parse(ReadAll(dir / "ogg" / "summary.json"));
  EXPECT_EQ(ogg["failed_streams"].size(), 0u);
  EXPECT_EQ(ogg["settings"][0]["utterances"], 4);
  EXPECT_NE(ReadAll(dir / "offline.txt").find("Throughput"), std::string::npos);
  fs::remove_all(dir);
}

TEST_F(EvalClientE2E, FailedStreamsGiveExitOneWithTheCount) {
  const fs::path out = TempDir("fail");
  const int code = Shell(Client() + " --server " + server_->address() + " --librispeech " +
                         kSample + " --lact off --limit 2 --timeout_s 0.001 --output_dir " +
                         out.string() + " >/dev/null 2>" + (out / "stderr.txt").string());
  EXPECT_EQ(code, 1);
  const std::string err = ReadAll(out / "stderr.txt");
  EXPECT_NE(err.find("2 of 2 streams failed"), std::string::npos) << err;
  const auto summary = nlohmann::json::parse(ReadAll(out / "summary.json"));
  EXPECT_EQ(summary["failed_streams"].size(), 2u);
  fs::remove_all(out);
}

// Needs no server: nothing listens on the port.
TEST(EvalClientCli, UnreachableServerExitsTwo) {
  if (!fs::is_directory(kSample)) GTEST_SKIP() << "no " << kSample;
  const fs::path out = TempDir("unreachable");
  const auto start = std::chrono::steady_clock::now();
  const int code =
      Shell(Client() + " --server 127.0.0.1:1 --connect_timeout_s 1 --librispeech " + kSample +
            " --output_dir " + out.string() + " >/dev/null 2>" + (out / "stderr.txt").string());
  EXPECT_EQ(code, 2);
  EXPECT_NE(ReadAll(out / "stderr.txt").find("unreachable"), std::string::npos);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 20);
  fs::remove_all(out);
}

TEST(EvalClientCli, HelpAndBadFlags) {
  EXPECT_EQ(Shell(Client() + " --help >/dev/null 2>&1"), 1);  // abseil's --help exit code
  EXPECT_EQ(Shell(Client() + " --lact maybe --librispeech x >/dev/null 2>&1"), 2);
  EXPECT_EQ(Shell(Client() + " --encoding mp3 --librispeech x >/dev/null 2>&1"), 2);
  EXPECT_EQ(Shell(Client() + " --librispeech /nonexistent >/dev/null 2>&1"), 2);
  // --offline sends a clip in one message: not paced, not as raw Opus packets.
  EXPECT_EQ(Shell(Client() + " --offline --simulate_realtime --librispeech x >/dev/null 2>&1"), 2);
  EXPECT_EQ(Shell(Client() + " --offline --encoding opus --librispeech x >/dev/null 2>&1"), 2);
}

}  // namespace
}  // namespace lact::eval
