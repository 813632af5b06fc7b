#include "client/server_flags.h"

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/connection_flags.h"
#include "client/stream_client.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(std::string, server, "localhost:50051", "lact_server address, HOST:PORT");
ABSL_FLAG(double, connect_timeout_s, 10, "How long to wait for the server before giving up");
ABSL_FLAG(std::string, auth_token, "", "Bearer token sent as 'authorization: Bearer <token>' on every "
          "stream (lact_server --auth_tokens_file). Visible in the process list: prefer "
          "--auth_token_file");
ABSL_FLAG(std::string, auth_token_file, "", "File holding the bearer token (surrounding whitespace "
          "and the trailing newline are ignored)");
// clang-format on

namespace lact::eval {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot read '", path, "'"));
  std::string data;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) data.append(buf, n);
  std::fclose(f);
  return data;
}

// --auth_token or --auth_token_file (not both); a warning when it would travel without TLS.
absl::StatusOr<std::string> AuthTokenFromFlags(const char* program, bool tls) {
  if (!absl::GetFlag(FLAGS_auth_token).empty() && !absl::GetFlag(FLAGS_auth_token_file).empty()) {
    return absl::InvalidArgumentError("give --auth_token or --auth_token_file, not both");
  }
  std::string token = absl::GetFlag(FLAGS_auth_token);
  if (!absl::GetFlag(FLAGS_auth_token_file).empty()) {
    auto text = ReadFile(absl::GetFlag(FLAGS_auth_token_file));
    if (!text.ok()) return text.status();
    token = std::string(absl::StripAsciiWhitespace(*text));
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--auth_token_file ", absl::GetFlag(FLAGS_auth_token_file), " is empty"));
    }
  }
  if (!token.empty() && !tls) {
    std::fprintf(stderr,
                 "%s: warning: the bearer token is sent without TLS (fine only behind a "
                 "TLS-terminating proxy or on a trusted network; --use_ssl)\n",
                 program);
  }
  return token;
}

}  // namespace

absl::StatusOr<ServerChannel> ConnectFromFlags(const char* program) {
  auto connection = ClientConnectionFromFlags();
  if (!connection.ok()) return connection.status();
  ServerChannel out;
  out.target = absl::GetFlag(FLAGS_server);
  out.tls = connection->tls;
  auto token = AuthTokenFromFlags(program, connection->tls);
  if (!token.ok()) return token.status();
  out.auth_token = *token;
  connection->args.SetMaxReceiveMessageSize(64 << 20);
  out.channel = grpc::CreateCustomChannel(out.target, connection->credentials, connection->args);
  if (auto s = WaitForServer(out.channel.get(), out.target, absl::GetFlag(FLAGS_connect_timeout_s));
      !s.ok()) {
    return s;
  }
  return out;
}

void AddBearerToken(const std::string& token, grpc::ClientContext* context) {
  if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

}  // namespace lact::eval
