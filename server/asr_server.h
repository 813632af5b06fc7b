// The whole lact_server as one object (the way Triton's server is a library its main() drives),
// so that main() is short and tests can run a server in-process:
//   Create  validates the config, reads the TLS files and token list, loads the model and builds
//           the recogniser (nothing listens yet; a bad setting fails here, in a second);
//   Start   metrics listener (NOT_SERVING), warm-up (--warmup_seconds), batching scheduler, gRPC
//           listener, --ready_file; SERVING;
//   Drain   NOT_SERVING, no new streams; open ones may finish until the drain time is over (or
//           `end_early` says so), then they end with UNAVAILABLE;
//   Stop    gRPC shutdown and the scheduler stopped (also on destruction).
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/server_config.h"

namespace lact {
class AsrModel;
class OnlineRecognizer;
}  // namespace lact

namespace lact::server {

class AsrService;
class Scheduler;
class ServerMetrics;
class TokenAuthenticator;

class AsrServer {
 public:
  // Errors of the operator's settings (config values, TLS files, token list, streaming or
  // decoding settings) are marked IsUsageError (lact_server exits 2 for them, 1 otherwise).
  static absl::StatusOr<std::unique_ptr<AsrServer>> Create(const ServerConfig& config);
  ~AsrServer();

  absl::Status Start();
  // The bound ports (after Start): gRPC, and metrics (-1 when off).
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  int open_calls() const;

  // Returns true when every open stream finished within `drain_time`; `end_early` (polled about
  // every 100 ms) may cut the wait short.
  bool Drain(absl::Duration drain_time, const std::function<bool()>& end_early = nullptr);
  void Stop();

 private:
  explicit AsrServer(const ServerConfig& config);
  absl::Status LoadModel();
  absl::Status BuildAndStartGrpc();
  // ServerConfig::warmup_seconds of WarmUpRecognizer, logged.
  absl::Status WarmUp();
  void SetServing(bool serving);

  ServerConfig config_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
  std::unique_ptr<TokenAuthenticator> authenticator_;
  std::shared_ptr<const AsrModel> model_;
  std::unique_ptr<OnlineRecognizer> recognizer_;
  // Recognize's (ServerConfig::recognize_window, the same model); null: recognizer_ serves it.
  std::unique_ptr<OnlineRecognizer> clip_recognizer_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<AsrService> service_;
  std::unique_ptr<grpc::ResourceQuota> quota_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  int metrics_port_ = -1;
  bool stopped_ = false;
};

// Marks / recognises a status as the operator's settings being wrong.
absl::Status UsageError(const absl::Status& status);
bool IsUsageError(const absl::Status& status);

}  // namespace lact::server
