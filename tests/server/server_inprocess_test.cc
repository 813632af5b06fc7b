// AsrServer in-process (server/asr_server.h): the same server lact_server's main() drives, created,
// started, streamed to, drained and stopped inside the test, with no binary forked. A stream's
// final transcript equals lact_transcribe --streaming on the same audio; the drain leaves no
// stream session alive; bad settings are usage errors (lact_server exits 2), a missing model is
// not.
#include "server/asr_server.h"

#include <map>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

#include "server/stream_session.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

ServerConfig LoopbackConfig(const std::string& model_dir) {
  ServerConfig c;
  c.model_dir = model_dir;
  c.host = "127.0.0.1";
  c.port = 0;          // a free port
  c.metrics_port = 0;  // a free port
  c.threads = 1;
  c.reflection = false;
  const Window window;  // the window ReferenceTranscripts runs lact_transcribe with
  c.streaming.step_ms = window.step_ms;
  c.streaming.left_context_ms = window.left_context_ms;
  c.streaming.lookahead_ms = window.lookahead_ms;
  return c;
}

TEST(AsrServerInProcessTest, StreamsThenDrainsCleanly) {
  const std::string model = MakeLactModelDir();
  auto server = AsrServer::Create(LoopbackConfig(model));
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->Start().ok());
  ASSERT_GT((*server)->port(), 0);
  ASSERT_GT((*server)->metrics_port(), 0);

  const std::vector<float> audio = SyntheticAudio(2.5, 16000, 71);
  const std::string wav = MakeTempDir("lact_inprocess_") + "/a.wav";
  WriteFloatWav(wav, audio, 16000);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = pb::StreamingAsr::NewStub(channel);
  StreamSpec spec;
  spec.messages =
      ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, SplitBytes(ToLinear16(audio), 6400));
  const StreamResult r = RunStream(stub.get(), spec);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_TRUE(r.got_final);
  EXPECT_EQ(r.final_transcript, ReferenceTranscripts(model, {wav}, Window{}).at(wav));

  EXPECT_EQ((*server)->open_calls(), 0);
  EXPECT_TRUE((*server)->Drain(absl::Seconds(5)));
  (*server)->Stop();
  EXPECT_EQ(StreamSession::live_count(), 0);
}

TEST(AsrServerInProcessTest, BadSettingsAreUsageErrorsAMissingModelIsNot) {
  const std::string model = MakeLactModelDir();
  ServerConfig bad = LoopbackConfig(model);
  bad.max_batch = 0;
  auto refused = AsrServer::Create(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsUsageError(refused.status())) << refused.status();

  ServerConfig no_cert = LoopbackConfig(model);
  no_cert.tls_cert = "/nonexistent/cert.pem";
  no_cert.tls_key = "/nonexistent/key.pem";
  auto no_tls = AsrServer::Create(no_cert);
  ASSERT_FALSE(no_tls.ok());
  EXPECT_TRUE(IsUsageError(no_tls.status())) << no_tls.status();

  ServerConfig missing = LoopbackConfig(MakeTempDir("lact_inprocess_empty_") + "/no_such_model");
  auto not_loaded = AsrServer::Create(missing);
  ASSERT_FALSE(not_loaded.ok());
  EXPECT_FALSE(IsUsageError(not_loaded.status())) << not_loaded.status();
  EXPECT_NE(not_loaded.status().message().find("cannot load the model"), std::string::npos)
      << not_loaded.status();
}

}  // namespace
}  // namespace lact::server::testing
