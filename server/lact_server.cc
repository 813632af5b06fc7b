// lact_server: the gRPC streaming speech recognition service. See --help and docs/server.md.
// The server itself is AsrServer (server/asr_server.h); this is its command line and lifetime.
#include <signal.h>

#include <exception>
#include <iostream>

#include <c10/util/Exception.h>

#include "core/flags/flag_names.h"
#include "core/util/malloc_tuning.h"
#include "server/asr_server.h"
#include "server/log.h"
#include "server/server_flags.h"
#include "server/signal_watcher.h"
#include "server/stream_session.h"

namespace lact::server {
namespace {

int Run(int argc, char** argv, SignalWatcher& signals) {
  const char* const kUsage =
      R"(The LaCT streaming speech recognition gRPC service (lact.asr.v1.StreamingAsr).
Usage: lact_server --model DIR [--device cpu|cuda:N] [--host 0.0.0.0] [--port 50051]
       [--metrics_port 9400] [--max_batch 8] [--max_streams 64] [--step_ms 960] ...
       [--tls_cert CERT.pem --tls_key KEY.pem [--tls_client_ca CA.pem]] [--auth_tokens_file F]
Flags may be spelled with dashes or underscores (--max-batch, --max_batch).)";
  if (!ParseFlagsOnly(argc, argv, "lact_server", kUsage)) return 2;
  const absl::StatusOr<ServerConfig> flags = ServerConfigFromFlags();
  if (!flags.ok()) {
    std::cerr << "lact_server: " << flags.status().message() << "\n";
    return 2;
  }
  const ServerConfig& config = *flags;
  auto server = AsrServer::Create(config);
  if (!server.ok()) {
    if (IsUsageError(server.status())) {
      std::cerr << "lact_server: " << server.status().message() << "\n";
      return 2;
    }
    Log(server.status().message());
    return 1;
  }
  if (absl::Status started = (*server)->Start(); !started.ok()) {
    Log(started.message());
    return 1;
  }
  // Graceful shutdown: stop accepting, let open streams finish within --drain_seconds; a second
  // signal ends the wait.
  signals.WaitFor(1, absl::InfiniteFuture());
  Log(signals.last_signal() == SIGTERM ? "SIGTERM" : "SIGINT", ": draining ",
      (*server)->open_calls(), " open stream(s) for up to ", config.drain_seconds, " s");
  (*server)->Drain(absl::Seconds(config.drain_seconds),
                   [&signals] { return signals.WaitFor(2, absl::Now()); });
  (*server)->Stop();
  const int64_t leaked = StreamSession::live_count();
  if (leaked != 0) {
    Log("exit: ", leaked, " stream session(s) still alive");
    return 3;
  }
  Log("exit: clean (0 open streams, 0 fast-weight bytes held)");
  return 0;
}

}  // namespace
}  // namespace lact::server

int main(int argc, char** argv) {
  lact::TuneMallocForTensors();  // before any thread or tensor exists
  lact::server::SignalWatcher::BlockInThisThread();
  lact::server::SignalWatcher signals;
  signals.Start();
  try {
    return lact::server::Run(argc, argv, signals);
  } catch (const c10::Error& e) {
    lact::server::Log("internal error: ", e.what_without_backtrace());
  } catch (const std::exception& e) {
    lact::server::Log("internal error: ", e.what());
  }
  return 1;
}
