// Phrase boosting through gRPC (issue 21): RecognitionConfig.speech_contexts with the demo model
// (models/demo, LM beam search) and with a copy of it without language_model/ (the server decodes
// greedily and gives a stream with speech_contexts the lexicon-free beam search), on espeak-ng
// speech made here. A boosted name the plain decode misses comes out; a negative boost removes a
// word the plain decode has; the limits (--max_speech_context_*) and every bad value are
// INVALID_ARGUMENT naming the field; a greedy server (--decoder greedy) refuses speech_contexts;
// GetRecognitionConfig reports the limits and the on-request beam search.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "core/audio/audio_io.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

constexpr int kRate = 16000;
const std::string kSource = LACT_SOURCE_DIR;
const std::string kName = "FENWICK";  // not in the demo model's lexicon

// "mister fenwick sold the old house by the river", spoken by espeak-ng.
const std::vector<float>& Speech() {
  static const std::vector<float>* audio = [] {
    const std::string wav = MakeTempDir("lact_boost_") + "/s.wav";
    const std::string cmd = "espeak-ng -v en-us -s 150 -w " + wav +
                            " \"mister fenwick sold the old house by the river\"";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto a = ReadAudioFile(wav, kRate);
    EXPECT_TRUE(a.ok()) << a.status();
    auto* out = new std::vector<float>(a.ok() ? *a : std::vector<float>());
    out->insert(out->end(), kRate, 0.0f);  // 1 s of silence after it
    return out;
  }();
  return *audio;
}

pb::RecognitionConfig Config(const std::vector<std::pair<std::vector<std::string>, float>>& ctx) {
  pb::RecognitionConfig c = MakeConfig(pb::LINEAR16, kRate);
  for (const auto& [phrases, boost] : ctx) {
    pb::SpeechContext* context = c.add_speech_contexts();
    for (const std::string& p : phrases) context->add_phrases(p);
    context->set_boost(boost);
  }
  return c;
}

StreamResult Stream(const ServerProcess& server, const pb::RecognitionConfig& config) {
  auto stub = server.stub();
  StreamSpec spec;
  spec.messages =
      ConfigThenAudio(config, /*interim=*/false, SplitBytes(ToLinear16(Speech()), 6400));
  spec.interval = absl::Milliseconds(1);
  return RunStream(stub.get(), spec);
}

bool HasWord(const std::string& transcript, const std::string& word) {
  return absl::StrCat(" ", transcript, " ").find(absl::StrCat(" ", word, " ")) != std::string::npos;
}

// A copy of models/demo (links to its files) without language_model/.
std::string DemoWithoutLm() {
  namespace fs = std::filesystem;
  const std::string dir = MakeTempDir("lact_boost_nolm_");
  for (const auto& entry : fs::directory_iterator(kSource + "/models/demo")) {
    if (entry.path().filename() == "language_model") continue;
    fs::create_symlink(entry.path(), fs::path(dir) / entry.path().filename());
  }
  return dir;
}

pb::GetRecognitionConfigResponse Info(const ServerProcess& server) {
  pb::GetRecognitionConfigResponse info;
  grpc::ClientContext context;
  EXPECT_TRUE(
      server.stub()->GetRecognitionConfig(&context, pb::GetRecognitionConfigRequest(), &info).ok());
  return info;
}

const std::vector<std::string> kFlags = {"--warmup_seconds=0", "--threads=1",
                                         "--endpointing=false"};

// The boosted name comes out where the plain decode misses it, with and without the LM; a
// negative boost on a word of the plain transcript removes it.
void ExpectBoostWorks(const ServerProcess& server) {
  ASSERT_FALSE(Speech().empty());
  const StreamResult plain = Stream(server, Config({}));
  ASSERT_TRUE(plain.status.ok()) << plain.status.error_message();
  EXPECT_FALSE(HasWord(plain.final_transcript, kName)) << plain.final_transcript;
  const StreamResult boosted = Stream(server, Config({{{"Fenwick"}, 10.0f}}));
  ASSERT_TRUE(boosted.status.ok()) << boosted.status.error_message();
  EXPECT_TRUE(HasWord(boosted.final_transcript, kName))
      << boosted.final_transcript << " (plain: " << plain.final_transcript << ")";
  ASSERT_TRUE(HasWord(plain.final_transcript, "HOUSE")) << plain.final_transcript;
  const StreamResult avoided = Stream(server, Config({{{"house"}, -30.0f}}));
  ASSERT_TRUE(avoided.status.ok()) << avoided.status.error_message();
  EXPECT_FALSE(HasWord(avoided.final_transcript, "HOUSE")) << avoided.final_transcript;
}

TEST(BoostTest, WithTheLanguageModel) {
  ServerProcess server(kSource + "/models/demo", Window{640, 2560, 640}, kFlags);
  ASSERT_TRUE(server.ok()) << server.log();
  const auto info = Info(server);
  EXPECT_EQ(info.decoder(), "beam");
  EXPECT_FALSE(info.beam_search_on_request());
  EXPECT_GT(info.beam_search().unk_penalty(), 0.0);
  ExpectBoostWorks(server);
}

TEST(BoostTest, WithoutALanguageModelTheStreamGetsTheBeamSearch) {
  ServerProcess server(DemoWithoutLm(), Window{640, 2560, 640}, kFlags);
  ASSERT_TRUE(server.ok()) << server.log();
  const auto info = Info(server);
  EXPECT_EQ(info.decoder(), "greedy");
  EXPECT_TRUE(info.beam_search_on_request());
  EXPECT_FALSE(info.language_model());
  EXPECT_GT(info.beam_search().beam_size(), 1);
  ExpectBoostWorks(server);
}

void ExpectInvalid(const ServerProcess& server, const pb::RecognitionConfig& config,
                   const std::string& says) {
  const StreamResult r = Stream(server, config);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << says;
  EXPECT_NE(r.status.error_message().find("speech_contexts"), std::string::npos)
      << r.status.error_message();
  EXPECT_NE(r.status.error_message().find(says), std::string::npos) << r.status.error_message();
}

TEST(BoostTest, LimitsAndBadValuesAreInvalidArgument) {
  ServerProcess server(
      kSource + "/models/demo", Window{640, 2560, 640},
      {"--warmup_seconds=0", "--threads=1", "--endpointing=false", "--max_speech_context_phrases=3",
       "--max_speech_context_phrase_chars=12", "--max_speech_context_boost=20"});
  ASSERT_TRUE(server.ok()) << server.log();
  const auto limits = Info(server).limits();
  EXPECT_EQ(limits.max_speech_context_phrases(), 3);
  EXPECT_EQ(limits.max_speech_context_phrase_chars(), 12);
  EXPECT_DOUBLE_EQ(limits.max_speech_context_boost(), 20.0);
  // At the limits: served.
  const StreamResult ok =
      Stream(server, Config({{{"new york", "kestrel"}, 20.0f}, {{"twelve chars"}, -20.0f}}));
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  // Past them, counted over every context.
  ExpectInvalid(server, Config({{{"a", "b"}, 1.0f}, {{"c", "d"}, 2.0f}}), "4 phrases");
  // A careless client: 200,000 phrases in one context (a 1.2 MB message), refused as a count.
  ExpectInvalid(server, Config({{std::vector<std::string>(200000, "word"), 1.0f}}),
                "200000 phrases");
  ExpectInvalid(server, Config({{{"thirteen char"}, 1.0f}}), "13 characters");
  ExpectInvalid(server, Config({{{"kestrel"}, 20.5f}}), "boost");
  ExpectInvalid(server, Config({{{"kestrel"}, -21.0f}}), "boost");
  ExpectInvalid(server, Config({{{"kestrel"}, std::nanf("")}}), "boost");
  ExpectInvalid(server, Config({{{"kestrel"}, INFINITY}}), "boost");
  ExpectInvalid(server, Config({{{""}, 1.0f}}), "no words");
  ExpectInvalid(server, Config({{{"   "}, 1.0f}}), "no words");
  ExpectInvalid(server, Config({{{"caf\xc3\xa9"}, 1.0f}}), "cannot spell");
  ExpectInvalid(server, Config({{{"a|b"}, 1.0f}}), "cannot spell");
  // A phrase as large as a message may be: refused by its length.
  ExpectInvalid(server, Config({{{std::string(1 << 20, 'a')}, 1.0f}}), "1048576 characters");
  // The server still serves after them.
  EXPECT_TRUE(Stream(server, Config({})).status.ok());
}

TEST(BoostTest, AGreedyServerRefusesSpeechContexts) {
  ServerProcess server(kSource + "/models/demo", Window{640, 2560, 640},
                       {"--warmup_seconds=0", "--threads=1", "--decoder=greedy"});
  ASSERT_TRUE(server.ok()) << server.log();
  EXPECT_FALSE(Info(server).beam_search_on_request());
  ExpectInvalid(server, Config({{{"kestrel"}, 5.0f}}), "--decoder greedy");
  // A context without phrases asks for nothing.
  EXPECT_TRUE(Stream(server, Config({{{}, 5.0f}})).status.ok());
}

TEST(BoostTest, BadLimitFlagsStopTheServer) {
  for (const std::string& flag :
       {std::string("--max_speech_context_phrases=0"), std::string("--max_speech_context_boost=-1"),
        std::string("--max_speech_context_phrase_chars=0")}) {
    ServerProcess server(kSource + "/models/demo", Window{640, 2560, 640},
                         {"--warmup_seconds=0", flag});
    EXPECT_FALSE(server.ok()) << flag;
    EXPECT_EQ(server.startup_exit_code(), 2) << flag << "\n" << server.log();
    EXPECT_NE(server.log().find("max_speech_context"), std::string::npos) << server.log();
  }
}

}  // namespace
}  // namespace lact::server::testing
