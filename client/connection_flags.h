// The gRPC client connection flag group, shared by lact_eval_client, lact_stream and
// lact_health_probe: --use_ssl, --ssl_root_cert, --ssl_cert, --ssl_key, --ssl_target_name (the
// names Riva's clients use). The server address and bearer tokens are client/server_flags.h's
// (health checks need no token).
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace lact::eval {

struct ClientConnection {
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // insecure unless TLS is asked for
  grpc::ChannelArguments args;                            // the TLS target name override, if any
  bool tls = false;
};

// The credentials the flags ask for. TLS when --use_ssl, --ssl_root_cert or --ssl_cert is given;
// InvalidArgument naming the flag for an unreadable file or --ssl_cert without --ssl_key.
absl::StatusOr<ClientConnection> ClientConnectionFromFlags();

}  // namespace lact::eval
