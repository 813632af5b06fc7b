// The flag group of the client tools that call lact_server's StreamingAsr service
// (lact_eval_client, lact_stream): --server, --connect_timeout_s, --auth_token, --auth_token_file;
// with the TLS flags of client/connection_flags.h they make the channel.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace lact::eval {

struct ServerChannel {
  std::string target;  // --server
  std::shared_ptr<grpc::Channel> channel;
  std::string auth_token;  // "" when none was given
  bool tls = false;
};

// The channel to --server (TLS per the connection flags; the largest response 64 MiB), once the
// server answers within --connect_timeout_s, and the bearer token from --auth_token or
// --auth_token_file (not both; a warning on stderr, prefixed by `program`, when it would travel
// without TLS). InvalidArgument for bad flags, Unavailable when the server does not answer.
absl::StatusOr<ServerChannel> ConnectFromFlags(const char* program);

// `token` as call metadata ("authorization: Bearer <token>"); nothing when empty.
void AddBearerToken(const std::string& token, grpc::ClientContext* context);

}  // namespace lact::eval
