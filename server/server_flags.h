// lact_server's own command-line flags and the conversion of them and of the shared flag groups
// (core/flags: model, --lact, --threads, streaming, decoder) to ServerConfig, which
// AsrServer::Create validates.
#pragma once

#include "absl/status/statusor.h"
#include "server/server_config.h"

namespace lact::server {

// The parsed flags as a ServerConfig. --model falls back to $LACT_MODEL, then to the source
// tree's models/demo (README: the first command). An error only for a --lact value the server
// does not take (both).
absl::StatusOr<ServerConfig> ServerConfigFromFlags();

}  // namespace lact::server
