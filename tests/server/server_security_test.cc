// TLS, mutual TLS and bearer tokens against a real lact_server (docs/server.md, "Security").
//
// A throwaway CA, a server certificate (CN localhost, SAN DNS:localhost and IP:127.0.0.1), a
// client certificate, and a second CA with its own client certificate are generated at test time
// with the `openssl` command line in a temporary folder; nothing secret is committed. The tokens
// file is made exactly as the docs say: `printf %s "$TOKEN" | sha256sum`.
//
// Shown: a client with a valid certificate and token is served and gets the transcript
// `lact_transcribe --streaming` gives; a client without a certificate (or with one from another
// CA) gets UNAVAILABLE; a missing or wrong token gets UNAUTHENTICATED and the model never runs
// (lact_audio_seconds_total and lact_batch_size_count unchanged, no stream started); plaintext to
// the TLS port fails; health checks need TLS but no token; lact_health_probe and lact_eval_client
// speak TLS, mTLS and tokens; bad flags and files are one clear startup error (exit code 2).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kToken[] = "lact-test-token-7f3a9c";

int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

// Generates the certificates and the tokens file in `dir` with the openssl command line.
// Returns "" on success, else the failing command.
std::string MakeCredentials(const std::string& dir) {
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  WriteText(dir + "/server.ext",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n");
  WriteText(dir + "/client.ext",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=clientAuth\n");
  const std::vector<std::string> commands = {
      // Two CAs: the one the server trusts for clients, and another one.
      absl::StrCat("openssl req -x509 ", ec,
                   " -days 2 -subj /CN=lact-test-ca -keyout ca.key -out ca.pem"),
      absl::StrCat("openssl req -x509 ", ec,
                   " -days 2 -subj /CN=lact-other-ca -keyout other_ca.key -out other_ca.pem"),
      // The server certificate.
      absl::StrCat("openssl req ", ec, " -subj /CN=localhost -keyout server.key -out server.csr"),
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile server.ext -out server.pem",
      // A client certificate from the trusted CA, one from the other CA.
      absl::StrCat("openssl req ", ec,
                   " -subj /CN=lact-test-client -keyout client.key -out client.csr"),
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile client.ext -out client.pem",
      absl::StrCat("openssl req ", ec,
                   " -subj /CN=lact-rogue-client -keyout rogue.key -out rogue.csr"),
      "openssl x509 -req -in rogue.csr -CA other_ca.pem -CAkey other_ca.key -CAcreateserial -days "
      "2 "
      "-extfile client.ext -out rogue.pem",
      // The tokens file, as docs/server.md says to make it (sha256sum's " -" suffix included).
      // (A brace group, not a subshell: dash drops a subshell's own redirection inside the
      // redirected group this runs in.)
      absl::StrCat("TOKEN='", kToken, "'; { echo '# lact_server bearer tokens (SHA-256)'; echo; ",
                   "printf %s \"$TOKEN\" | sha256sum; } > tokens.txt"),
      absl::StrCat("printf '%s\\n' '", kToken, "' > token.txt"),
  };
  for (const std::string& c : commands) {
    if (Shell(absl::StrCat("cd '", dir, "' && { ", c, "; } >/dev/null 2>&1")) != 0) return c;
  }
  return "";
}

struct ClientTls {
  bool root = true;         // trust ca.pem
  std::string cert_prefix;  // "client", "rogue" or "" (no client certificate)
};

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("lact_security_"));
    credentials_error_ = new std::string(MakeCredentials(*dir_));
    if (!credentials_error_->empty()) return;
    model_ = new std::string(MakeLactModelDir());
    server_ = new ServerProcess(
        *model_, Window{},
        {"--tls_cert=" + *dir_ + "/server.pem", "--tls_key=" + *dir_ + "/server.key",
         "--tls_client_ca=" + *dir_ + "/ca.pem", "--auth_tokens_file=" + *dir_ + "/tokens.txt"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    fs::remove_all(*dir_, ec);  // the keys
    delete dir_;
    delete model_;
    delete credentials_error_;
  }
  void SetUp() override {
    ASSERT_EQ(*credentials_error_, "") << "openssl failed";
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->ok()) << server_->log();
  }

  static std::string File(const std::string& name) { return *dir_ + "/" + name; }

  static std::shared_ptr<grpc::Channel> TlsChannel(const ClientTls& tls,
                                                   const std::string& host = "127.0.0.1") {
    grpc::SslCredentialsOptions ssl;
    if (tls.root) ssl.pem_root_certs = ReadFile(File("ca.pem"));
    if (!tls.cert_prefix.empty()) {
      ssl.pem_cert_chain = ReadFile(File(tls.cert_prefix + ".pem"));
      ssl.pem_private_key = ReadFile(File(tls.cert_prefix + ".key"));
    }
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    return grpc::CreateCustomChannel(absl::StrCat(host, ":", server_->port()),
                                     grpc::SslCredentials(ssl), args);
  }
  static std::shared_ptr<grpc::Channel> PlainChannel() {
    return grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  }

  // A short LINEAR16 stream, fast, with `metadata`.
  static StreamResult Stream(grpc::Channel* channel, const std::vector<float>& audio,
                             std::vector<std::pair<std::string, std::string>> metadata) {
    auto stub =
        pb::StreamingAsr::NewStub(std::shared_ptr<grpc::Channel>(channel, [](grpc::Channel*) {}));
    StreamSpec spec;
    spec.messages =
        ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, SplitBytes(ToLinear16(audio), 6400));
    spec.interval = absl::ZeroDuration();
    spec.deadline = absl::Seconds(30);
    spec.metadata = std::move(metadata);
    return RunStream(stub.get(), spec);
  }

  static std::string Metrics() { return HttpGet(server_->metrics_port(), "/metrics"); }
  static double Metric(const std::string& series) {
    return MetricValue(Metrics(), series).value_or(0);
  }
  // What shows whether the model ran: committed audio and model calls.
  static std::pair<double, double> ModelWork() {
    const std::string m = Metrics();
    return {MetricValue(m, "lact_audio_seconds_total").value_or(-1),
            MetricValue(m, "lact_batch_size_count").value_or(-1)};
  }

  static std::string* dir_;
  static std::string* model_;
  static std::string* credentials_error_;
  static ServerProcess* server_;
};
std::string* SecurityTest::dir_ = nullptr;
std::string* SecurityTest::model_ = nullptr;
std::string* SecurityTest::credentials_error_ = nullptr;
ServerProcess* SecurityTest::server_ = nullptr;

const std::pair<std::string, std::string> kValidAuth = {"authorization",
                                                        absl::StrCat("Bearer ", kToken)};

TEST_F(SecurityTest, ValidCertificateAndTokenIsServedWithTheReferenceTranscript) {
  const std::vector<float> audio = SyntheticAudio(3.0, 16000, 91);
  const std::string wav = *dir_ + "/served.wav";
  WriteFloatWav(wav, audio, 16000);
  const std::string reference = ReferenceTranscripts(*model_, {wav}, Window{}).at(wav);

  auto channel = TlsChannel({true, "client"});
  const StreamResult r = Stream(channel.get(), audio, {kValidAuth});
  ASSERT_TRUE(r.status.ok()) << r.status.error_code() << " " << r.status.error_message() << "\n"
                             << server_->log();
  ASSERT_TRUE(r.got_final);
  EXPECT_FALSE(reference.empty()) << "the tiny model should say something";
  EXPECT_EQ(r.final_transcript, reference);
  // The server name may be checked by DNS name as well as by IP address.
  auto by_name = TlsChannel({true, "client"}, "localhost");
  const StreamResult r2 = Stream(by_name.get(), audio, {kValidAuth});
  ASSERT_TRUE(r2.status.ok()) << r2.status.error_message();
  EXPECT_EQ(r2.final_transcript, reference);

  // Recognize (unary) is authenticated the same way; its clip is decoded in Recognize's window.
  const std::string clip_reference =
      ReferenceTranscripts(*model_, {wav}, Window{20000, 1920, 1920}).at(wav);
  auto stub = pb::StreamingAsr::NewStub(channel);
  pb::RecognizeRequest request;
  *request.mutable_config() = MakeConfig(pb::LINEAR16, 16000);
  request.set_audio_content(ToLinear16(audio));
  {
    grpc::ClientContext context;
    context.AddMetadata(kValidAuth.first, kValidAuth.second);
    pb::RecognizeResponse response;
    const grpc::Status s = stub->Recognize(&context, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(response.alternatives_size(), 1);
    EXPECT_EQ(response.alternatives(0).transcript(), clip_reference);
  }
  {
    grpc::ClientContext context;  // no token
    pb::RecognizeResponse response;
    EXPECT_EQ(stub->Recognize(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST_F(SecurityTest, WithoutAValidClientCertificateTheCallIsUnavailable) {
  const auto before = ModelWork();
  const std::vector<float> audio = SyntheticAudio(1.0, 16000, 92);
  for (const ClientTls& tls : {ClientTls{true, ""}, ClientTls{true, "rogue"}}) {
    SCOPED_TRACE(tls.cert_prefix.empty() ? "no client certificate" : "certificate from another CA");
    auto channel = TlsChannel(tls);
    const StreamResult r = Stream(channel.get(), audio, {kValidAuth});
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << r.status.error_message();
    EXPECT_TRUE(r.responses.empty());
  }
  {  // A client that does not trust the server's CA refuses the server.
    auto channel = TlsChannel({false, "client"});
    EXPECT_EQ(Stream(channel.get(), audio, {kValidAuth}).status.error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(ModelWork(), before);
}

TEST_F(SecurityTest, MissingOrWrongTokenIsUnauthenticatedAndNeverReachesTheModel) {
  const auto before = ModelWork();
  ASSERT_GE(before.first, 0) << Metrics();
  const double refused_before = Metric("lact_streams_total{code=\"UNAUTHENTICATED\"}");
  const std::string log_before = server_->log();
  // 4 s of audio each: enough for several model steps, had any of it been decoded.
  const std::vector<float> audio = SyntheticAudio(4.0, 16000, 93);
  auto channel = TlsChannel({true, "client"});
  const std::vector<std::vector<std::pair<std::string, std::string>>> cases = {
      {},                                                         // no token
      {{"authorization", "Bearer wrong-token"}},                  // wrong token
      {{"authorization", absl::StrCat("Bearer ", kToken, "x")}},  // almost right
      {{"authorization", absl::StrCat("Basic ", kToken)}},        // wrong scheme
      {{"authorization", "Bearer "}},                             // empty token
      {kValidAuth, {"authorization", "Bearer wrong-token"}},      // two entries
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("case ", i));
    const StreamResult r = Stream(channel.get(), audio, cases[i]);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << r.status.error_message();
    EXPECT_TRUE(r.responses.empty());
  }
  EXPECT_EQ(ModelWork(), before) << "the model ran for an unauthenticated call";
  EXPECT_EQ(Metric("lact_streams_total{code=\"UNAUTHENTICATED\"}"), refused_before + cases.size());
  EXPECT_EQ(Metric("lact_active_streams"), 0);
  // No stream was started (a start line is logged once the config is read).
  const std::string log_after = server_->log().substr(log_before.size());
  EXPECT_FALSE(absl::StrContains(log_after, " start: ")) << log_after;
  EXPECT_TRUE(absl::StrContains(log_after, "rejected: invalid token")) << log_after;
  // The token never appears in the log.
  EXPECT_FALSE(absl::StrContains(server_->log(), kToken));
  // A valid token on the same channel right after is served.
  EXPECT_TRUE(Stream(channel.get(), SyntheticAudio(1.0, 16000, 94), {kValidAuth}).status.ok());
}

TEST_F(SecurityTest, PlaintextToTheTlsPortFails) {
  const auto before = ModelWork();
  auto channel = PlainChannel();
  const StreamResult r = Stream(channel.get(), SyntheticAudio(1.0, 16000, 95), {kValidAuth});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << r.status.error_message();
  EXPECT_EQ(ModelWork(), before);
}

TEST_F(SecurityTest, HealthChecksNeedTlsButNoToken) {
  // gRPC stub: mutual TLS, no token.
  auto stub = grpc::health::v1::Health::NewStub(TlsChannel({true, "client"}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status s = stub->Check(&context, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // lact_health_probe with the same TLS flags as lact_eval_client.
  const std::vector<std::string> mtls = {"--ssl_root_cert=" + File("ca.pem"),
                                         "--ssl_cert=" + File("client.pem"),
                                         "--ssl_key=" + File("client.key")};
  EXPECT_EQ(RunHealthProbe(server_->address(), mtls), 0);
  EXPECT_EQ(RunHealthProbe("localhost:" + std::to_string(server_->port()), mtls), 0);
  std::vector<std::string> renamed = mtls;
  renamed.push_back("--ssl_target_name=localhost");
  EXPECT_EQ(RunHealthProbe(server_->address(), renamed), 0);
  EXPECT_EQ(RunHealthProbe(server_->address(), {"--ssl_root_cert=" + File("ca.pem")}),
            1);                                      // no client cert
  EXPECT_EQ(RunHealthProbe(server_->address()), 1);  // plaintext
  EXPECT_EQ(RunHealthProbe(server_->address(), {"--ssl_cert=" + File("client.pem")}), 2);  // no key

  // The metrics listener's plain-HTTP /healthz needs no certificate (the container HEALTHCHECK).
  EXPECT_EQ(RunHealthProbe(server_->address(),
                           {"--http_address=127.0.0.1:" + std::to_string(server_->metrics_port())}),
            0);
  EXPECT_EQ(RunHealthProbe(server_->address(), {"--http_address=127.0.0.1:1"}),
            1);  // nothing listens
  EXPECT_EQ(RunHealthProbe(server_->address(), {"--http_address=nonsense"}), 2);
}

TEST_F(SecurityTest, EvalClientSpeaksMutualTlsAndTokens) {
#ifndef LACT_EVAL_CLIENT_BIN
  GTEST_SKIP() << "lact_eval_client is not built";
#else
  const std::string work = MakeTempDir("lact_security_eval_");
  const std::string wav = work + "/utt.wav";
  WriteFloatWav(wav, SyntheticAudio(2.0, 16000, 96), 16000);
  WriteText(work + "/manifest.tsv", "utt.wav\tsome reference words\n");
  auto run = [&](const std::string& name, const std::string& flags) {
    const std::string out = work + "/" + name;
    return Shell(absl::StrCat(
        LACT_EVAL_CLIENT_BIN, " --server=", server_->address(), " --manifest=", work,
        "/manifest.tsv --lact=on --progress=false --connect_timeout_s=5 --output_dir=", out, " ",
        flags, " > ", out, ".stdout 2> ", out, ".stderr"));
  };
  const std::string mtls =
      absl::StrCat("--ssl_root_cert=", File("ca.pem"), " --ssl_cert=", File("client.pem"),
                   " --ssl_key=", File("client.key"));
  EXPECT_EQ(run("file", mtls + " --auth_token_file=" + File("token.txt")), 0)
      << ReadFile(work + "/file.stderr");
  EXPECT_EQ(run("flag", absl::StrCat(mtls, " --auth_token=", kToken)), 0)
      << ReadFile(work + "/flag.stderr");
  // A token but no client certificate: refused (exit 2 when the handshake fails before the
  // client calls the connection ready, 1 when it fails the stream: TLS 1.3 may do either).
  EXPECT_NE(
      run("nocert", absl::StrCat("--ssl_root_cert=", File("ca.pem"), " --auth_token=", kToken)), 0);
  // A client certificate but no token: the stream fails UNAUTHENTICATED (exit 1).
  EXPECT_EQ(run("notoken", mtls), 1);
  EXPECT_TRUE(absl::StrContains(ReadFile(work + "/notoken.stderr"), "authorization"))
      << ReadFile(work + "/notoken.stderr");
  EXPECT_EQ(run("halfcert", absl::StrCat("--ssl_cert=", File("client.pem"))), 2);
#endif
}

// Startup errors: each bad flag combination or file is exit code 2 with a message naming it,
// before the model is loaded.
TEST(SecurityFlagsTest, BadTlsAndTokenFlagsAreAClearStartupError) {
  const std::string dir = MakeTempDir("lact_security_flags_");
  ASSERT_EQ(MakeCredentials(dir), "");
  const std::string model = MakeLactModelDir();
  WriteText(dir + "/not_pem.txt", "hello\n");
  WriteText(dir + "/bad_tokens.txt", "# a comment\n0123456789abcdef\n");
  WriteText(dir + "/no_tokens.txt", "# only a comment\n\n");
  const std::string cert = "--tls_cert=" + dir + "/server.pem",
                    key = "--tls_key=" + dir + "/server.key";
  struct Case {
    std::vector<std::string> flags;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {{cert}, "--tls_cert " + dir + "/server.pem needs --tls_key"},
      {{key}, "--tls_key " + dir + "/server.key needs --tls_cert"},
      {{"--tls_client_ca=" + dir + "/ca.pem"}, "needs --tls_cert and --tls_key"},
      {{"--tls_cert=" + dir + "/missing.pem", key},
       "--tls_cert " + dir + "/missing.pem: cannot read it"},
      {{cert, "--tls_key=" + dir + "/missing.key"},
       "--tls_key " + dir + "/missing.key: cannot read it"},
      {{cert, key, "--tls_client_ca=" + dir + "/missing_ca.pem"},
       "--tls_client_ca " + dir + "/missing_ca.pem"},
      {{"--tls_cert=" + dir, key}, "--tls_cert " + dir + ": read error"},  // a folder
      {{"--tls_cert=" + dir + "/not_pem.txt", key}, "no PEM certificate"},
      {{cert, "--tls_key=" + dir + "/not_pem.txt"},
       "--tls_key " + dir + "/not_pem.txt: no unencrypted PEM private key"},
      {{cert, "--tls_key=" + dir + "/client.key"}, "does not match the certificate"},
      {{cert, key, "--tls_client_ca=" + dir + "/not_pem.txt"},
       "--tls_client_ca " + dir + "/not_pem.txt: no PEM certificate"},
      {{"--auth_tokens_file=" + dir + "/missing_tokens.txt"},
       "--auth_tokens_file " + dir + "/missing_tokens.txt: cannot read it"},
      {{"--auth_tokens_file=" + dir + "/bad_tokens.txt"},
       "bad_tokens.txt line 2: expected a SHA-256 digest"},
      {{"--auth_tokens_file=" + dir + "/no_tokens.txt"}, "holds no token digest"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrJoin(c.flags, " "));
    ServerProcess server(model, Window{}, c.flags);
    EXPECT_FALSE(server.ok());
    EXPECT_EQ(server.startup_exit_code(), 2) << server.log();
    EXPECT_TRUE(absl::StrContains(server.log(), c.message_part)) << server.log();
    EXPECT_FALSE(absl::StrContains(server.log(), "model loaded")) << server.log();
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// TLS without mutual TLS, no tokens: any client that trusts the CA is served; plaintext fails;
// the metrics listener can be bound to another address than the gRPC one.
TEST(ServerTlsOnlyTest, ServerTlsWithoutClientCertificates) {
  const std::string dir = MakeTempDir("lact_security_tls_");
  ASSERT_EQ(MakeCredentials(dir), "");
  ServerProcess server(MakeLactModelDir(), Window{},
                       {"--tls_cert=" + dir + "/server.pem", "--tls_key=" + dir + "/server.key",
                        "--metrics_host=127.0.0.1"});
  ASSERT_TRUE(server.ok()) << server.log();
  EXPECT_TRUE(absl::StrContains(server.log(), "(TLS)")) << server.log();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(dir + "/ca.pem");
  auto stub =
      pb::StreamingAsr::NewStub(grpc::CreateChannel(server.address(), grpc::SslCredentials(ssl)));
  StreamSpec spec;
  spec.messages = ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), false,
                                  SplitBytes(ToLinear16(SyntheticAudio(1.0, 16000, 97)), 6400));
  spec.interval = absl::ZeroDuration();
  const StreamResult r = RunStream(stub.get(), spec);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.got_final);
  EXPECT_NE(RunStream(server.stub().get(), spec).status.error_code(),
            grpc::StatusCode::OK);  // plaintext
  EXPECT_TRUE(
      MetricValue(HttpGet(server.metrics_port(), "/metrics"), "lact_active_streams").has_value());
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace lact::server::testing
