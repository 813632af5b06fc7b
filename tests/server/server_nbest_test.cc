// N-best and confidence through gRPC (issue 21), with the demo model (models/demo: LM beam
// search) on espeak-ng speech made here: RecognitionConfig.max_alternatives gives ranked,
// distinct final alternatives (at most the asked number, at most --beam_size) with confidences
// in [0, 1] that sum to at most 1, words with confidences when enable_word_confidence is set,
// interim results with one alternative; Recognize the same per result; greedy decoding one
// alternative with word confidences; bad values INVALID_ARGUMENT naming the field. Calibration:
// a model folder's confidence.json maps every word confidence of that decoder (beam or greedy)
// and nothing else, --calibrate_confidence=false gives the raw values, GetRecognitionConfig says
// which, and a bad file stops the server at start naming it.
// (The raw-value properties are checked with --calibrate_confidence=false: models/demo ships a
// map.)
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "core/audio/audio_io.h"
#include "core/decoding/calibration/confidence_calibration.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

constexpr int kRate = 16000;
const std::string kSource = LACT_SOURCE_DIR;

// Two sentences spoken by espeak-ng with a pause between them (two utterances).
const std::vector<float>& Speech() {
  static const std::vector<float>* audio = [] {
    const std::string dir = MakeTempDir("lact_nbest_");
    std::vector<float> all;
    int i = 0;
    for (const char* text : {"she walked to the window and looked at the garden",
                             "it was a fine morning in the village"}) {
      const std::string wav = absl::StrCat(dir, "/", i++, ".wav");
      const std::string cmd = absl::StrCat("espeak-ng -v en-us -s 150 -w ", wav, " \"", text, "\"");
      EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
      auto a = ReadAudioFile(wav, kRate);
      EXPECT_TRUE(a.ok()) << a.status();
      if (!a.ok()) continue;
      all.insert(all.end(), a->begin(), a->end());
      all.insert(all.end(), 2 * kRate, 0.0f);  // 2 s of silence: an endpoint
    }
    return new std::vector<float>(all);
  }();
  return *audio;
}

pb::RecognitionConfig Config(int max_alternatives, bool word_confidence) {
  pb::RecognitionConfig c = MakeConfig(pb::LINEAR16, kRate);
  c.set_max_alternatives(max_alternatives);
  c.set_enable_word_confidence(word_confidence);
  return c;
}

StreamResult Stream(const ServerProcess& server, const pb::RecognitionConfig& config) {
  auto stub = server.stub();
  StreamSpec spec;
  spec.messages = ConfigThenAudio(config, /*interim=*/true, SplitBytes(ToLinear16(Speech()), 6400));
  spec.interval = absl::Milliseconds(2);
  return RunStream(stub.get(), spec);
}

bool InUnit(float x) { return std::isfinite(x) && x >= 0.0f && x <= 1.0f; }

// Checks one final result's alternatives; returns how many it had.
int CheckFinal(const pb::StreamingRecognitionResult& result, int max_alternatives,
               bool word_confidence) {
  const int n = result.alternatives_size();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, max_alternatives);
  std::set<std::string> distinct;
  float previous = 1.0f, sum = 0.0f;
  for (const auto& alt : result.alternatives()) {
    distinct.insert(alt.transcript());
    EXPECT_TRUE(InUnit(alt.confidence())) << alt.confidence();
    EXPECT_LE(alt.confidence(), previous + 1e-6f) << "ranked by confidence";
    previous = alt.confidence();
    sum += alt.confidence();
    EXPECT_EQ(alt.words_size() > 0, word_confidence && !alt.transcript().empty());
    for (const auto& w : alt.words()) {
      EXPECT_TRUE(InUnit(w.confidence())) << w.word() << " " << w.confidence();
      // A word is in at least its own alternative: its posterior is at least the alternative's.
      EXPECT_GE(w.confidence(), alt.confidence() - 1e-5f) << w.word();
    }
  }
  EXPECT_EQ(distinct.size(), static_cast<size_t>(n)) << "alternatives are distinct";
  EXPECT_LE(sum, 1.0f + 1e-4f) << "posteriors of distinct transcripts";
  return n;
}

class NbestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ =
        new ServerProcess(kSource + "/models/demo", Window{640, 2560, 640},
                          {"--warmup_seconds=0", "--threads=1", "--calibrate_confidence=false"});
  }
  static void TearDownTestSuite() { delete server_; }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->log(); }
  static ServerProcess* server_;
};
ServerProcess* NbestTest::server_ = nullptr;

TEST_F(NbestTest, FinalsHaveRankedDistinctAlternativesWithConfidences) {
  ASSERT_FALSE(Speech().empty());
  const StreamResult r = Stream(*server_, Config(4, /*word_confidence=*/true));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  int finals = 0, most = 0;
  for (const auto& response : r.responses) {
    for (const auto& result : response.results()) {
      if (!result.is_final()) {
        EXPECT_EQ(result.alternatives_size(), 1) << "interim results have one alternative";
        EXPECT_EQ(result.alternatives(0).confidence(), 0.0f);
        continue;
      }
      ++finals;
      most = std::max(most, CheckFinal(result, 4, true));
    }
  }
  EXPECT_GE(finals, 2) << "two utterances";
  EXPECT_GE(most, 2) << "the beam held other transcripts";
  EXPECT_FALSE(r.final_transcript.empty());
}

TEST_F(NbestTest, OneAlternativeByDefaultAndWordsOnlyWhenAsked) {
  for (int asked : {0, 1}) {
    const StreamResult r = Stream(*server_, Config(asked, /*word_confidence=*/false));
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    for (const auto& response : r.responses) {
      for (const auto& result : response.results()) {
        ASSERT_EQ(result.alternatives_size(), 1);
        EXPECT_EQ(result.alternatives(0).words_size(), 0);
        if (result.is_final()) EXPECT_TRUE(InUnit(result.alternatives(0).confidence()));
      }
    }
  }
}

TEST_F(NbestTest, RecognizeGivesAlternativesPerResult) {
  pb::RecognizeRequest request;
  *request.mutable_config() = Config(3, /*word_confidence=*/true);
  request.set_audio_content(ToLinear16(Speech()));
  pb::RecognizeResponse response;
  grpc::ClientContext context;
  const grpc::Status status = server_->stub()->Recognize(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(response.results_size(), 2);
  for (const auto& result : response.results()) {
    pb::StreamingRecognitionResult as_streaming;
    *as_streaming.mutable_alternatives() = result.alternatives();
    CheckFinal(as_streaming, 3, true);
  }
  ASSERT_EQ(response.alternatives_size(), 1) << "the joined transcript";
  EXPECT_TRUE(InUnit(response.alternatives(0).confidence()));
}

TEST_F(NbestTest, BadValuesAreInvalidArgument) {
  for (int bad : {-1, 11, 1000}) {
    const StreamResult r = Stream(*server_, Config(bad, false));
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(r.status.error_message().find("max_alternatives"), std::string::npos)
        << r.status.error_message();
    pb::RecognizeRequest request;
    *request.mutable_config() = Config(bad, false);
    request.set_audio_content(ToLinear16(std::vector<float>(kRate, 0.0f)));
    pb::RecognizeResponse response;
    grpc::ClientContext context;
    const grpc::Status status = server_->stub()->Recognize(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
  }
}

TEST(NbestLimitsTest, TheBeamSizeCapsAlternativesAndGreedyHasOne) {
  {
    ServerProcess server(
        kSource + "/models/demo", Window{640, 2560, 640},
        {"--warmup_seconds=0", "--threads=1", "--beam_size=2", "--calibrate_confidence=false"});
    ASSERT_TRUE(server.ok()) << server.log();
    const StreamResult r = Stream(server, Config(10, true));
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    for (const auto& response : r.responses) {
      for (const auto& result : response.results()) {
        if (result.is_final()) CheckFinal(result, 2, true);
      }
    }
  }
  ServerProcess greedy(
      kSource + "/models/demo", Window{640, 2560, 640},
      {"--warmup_seconds=0", "--threads=1", "--decoder=greedy", "--calibrate_confidence=false"});
  ASSERT_TRUE(greedy.ok()) << greedy.log();
  const StreamResult r = Stream(greedy, Config(5, true));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  int words = 0;
  for (const auto& response : r.responses) {
    for (const auto& result : response.results()) {
      if (!result.is_final()) continue;
      ASSERT_EQ(result.alternatives_size(), 1) << "greedy decoding has one transcript";
      const auto& alt = result.alternatives(0);
      EXPECT_TRUE(InUnit(alt.confidence()));
      for (const auto& w : alt.words()) {
        EXPECT_TRUE(InUnit(w.confidence()) && w.confidence() > 0) << w.word();
        ++words;
      }
    }
  }
  EXPECT_GT(words, 3);
}

// A copy of models/demo (links to its files) with `confidence` as its confidence.json.
std::string DemoWithConfidence(const std::string& name, const std::string& confidence) {
  namespace fs = std::filesystem;
  const std::string dir = MakeTempDir(name);
  for (const auto& entry : fs::directory_iterator(kSource + "/models/demo")) {
    if (entry.path().filename() == kConfidenceFile) continue;
    fs::create_symlink(entry.path(), fs::path(dir) / entry.path().filename());
  }
  std::ofstream(dir + "/" + kConfidenceFile) << confidence;
  return dir;
}

bool Calibrated(const ServerProcess& server) {
  pb::GetRecognitionConfigResponse info;
  grpc::ClientContext context;
  EXPECT_TRUE(
      server.stub()->GetRecognitionConfig(&context, pb::GetRecognitionConfigRequest(), &info).ok());
  return info.confidence_calibrated();
}

// Final results of the same speech from a raw and a calibrated server: the same transcripts and
// words; each calibrated word confidence is the map of its raw one; the transcripts' confidences
// are the beam's posteriors (kept) or greedy decoding's mean word confidence.
void ExpectMapped(const ServerProcess& raw, const ServerProcess& calibrated,
                  const ConfidenceMap& map, bool greedy) {
  const StreamResult a = Stream(raw, Config(3, true)), b = Stream(calibrated, Config(3, true));
  ASSERT_TRUE(a.status.ok() && b.status.ok());
  std::vector<const pb::StreamingRecognitionResult*> fa, fb;
  for (const auto& r : a.responses)
    for (const auto& x : r.results())
      if (x.is_final()) fa.push_back(&x);
  for (const auto& r : b.responses)
    for (const auto& x : r.results())
      if (x.is_final()) fb.push_back(&x);
  ASSERT_EQ(fa.size(), fb.size());
  int words = 0, changed = 0;
  for (size_t i = 0; i < fa.size(); ++i) {
    ASSERT_EQ(fa[i]->alternatives_size(), fb[i]->alternatives_size());
    for (int k = 0; k < fa[i]->alternatives_size(); ++k) {
      const auto &x = fa[i]->alternatives(k), &y = fb[i]->alternatives(k);
      ASSERT_EQ(x.transcript(), y.transcript());
      ASSERT_EQ(x.words_size(), y.words_size());
      double sum = 0;
      for (int w = 0; w < x.words_size(); ++w) {
        EXPECT_NEAR(y.words(w).confidence(), map.Apply(x.words(w).confidence()), 1e-5)
            << y.words(w).word();
        EXPECT_EQ(x.words(w).start_time().nanos(), y.words(w).start_time().nanos());
        changed += std::abs(y.words(w).confidence() - x.words(w).confidence()) > 1e-3;
        sum += y.words(w).confidence();
        ++words;
      }
      const double want = greedy ? (y.words_size() ? sum / y.words_size() : 1.0) : x.confidence();
      EXPECT_NEAR(y.confidence(), want, 1e-5) << y.transcript();
    }
  }
  EXPECT_GT(words, 3);
  EXPECT_GT(changed, 0) << "the map moved the confidences";
}

TEST(CalibrationTest, TheModelsMapAppliesToItsDecoderOnly) {
  const ConfidenceMap beam{0.5, -0.3}, greedy{2.0, 0.4};
  const std::string dir =
      DemoWithConfidence("lact_calibration_", R"({"beam": {"word": {"a": 0.5, "b": -0.3}},
                               "greedy": {"word": {"a": 2.0, "b": 0.4}}})");
  const std::vector<std::string> base = {"--warmup_seconds=0", "--threads=1"};
  auto with = [&](std::vector<std::string> flags) {
    flags.insert(flags.begin(), base.begin(), base.end());
    return flags;
  };
  ServerProcess raw(dir, Window{640, 2560, 640}, with({"--calibrate_confidence=false"}));
  ServerProcess mapped(dir, Window{640, 2560, 640}, base);
  ASSERT_TRUE(raw.ok() && mapped.ok()) << raw.log() << mapped.log();
  EXPECT_FALSE(Calibrated(raw));
  EXPECT_TRUE(Calibrated(mapped));
  ExpectMapped(raw, mapped, beam, /*greedy=*/false);
  ServerProcess raw_greedy(dir, Window{640, 2560, 640},
                           with({"--decoder=greedy", "--calibrate_confidence=false"}));
  ServerProcess mapped_greedy(dir, Window{640, 2560, 640}, with({"--decoder=greedy"}));
  ASSERT_TRUE(raw_greedy.ok() && mapped_greedy.ok());
  ExpectMapped(raw_greedy, mapped_greedy, greedy, /*greedy=*/true);
}

TEST(CalibrationTest, ADecoderWithoutASectionKeepsRawValues) {
  const std::string dir = DemoWithConfidence("lact_calibration_beam_only_",
                                             R"({"beam": {"word": {"a": 0.5, "b": 0}}})");
  ServerProcess greedy(dir, Window{640, 2560, 640},
                       {"--warmup_seconds=0", "--threads=1", "--decoder=greedy"});
  ASSERT_TRUE(greedy.ok()) << greedy.log();
  EXPECT_FALSE(Calibrated(greedy));
}

TEST(CalibrationTest, ABadFileStopsTheServerNamingIt) {
  for (const char* bad : {R"({"beam": {"word": {"a": -1, "b": 0}}})", "not json"}) {
    const std::string dir = DemoWithConfidence("lact_calibration_bad_", bad);
    ServerProcess server(dir, Window{640, 2560, 640}, {"--warmup_seconds=0", "--threads=1"});
    EXPECT_FALSE(server.ok()) << bad;
    EXPECT_NE(server.startup_exit_code(), 0) << bad;
    EXPECT_NE(server.log().find("confidence.json"), std::string::npos) << server.log();
  }
}

}  // namespace
}  // namespace lact::server::testing
