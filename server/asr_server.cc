#include "server/asr_server.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <torch/torch.h>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "core/model/attention.h"
#include "core/model/cpu_threads.h"
#include "core/model/dense_linear.h"
#include "core/streaming/asr_model.h"
#include "core/streaming/online_recognizer.h"
#include "core/streaming/recognizer_warm_up.h"
#include "core/util/blas_threads.h"
#include "core/util/status_macros.h"
#include "server/asr_service.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/recognition_config_info.h"
#include "server/scheduler.h"
#include "server/stream_session.h"
#include "server/tls_credentials.h"

namespace lact::server {
namespace {

constexpr absl::string_view kUsageErrorPayload = "type.lact.dev/lact.UsageError";

std::string HostPort(const std::string& host, int port) {
  return absl::StrCat(host.find(':') != std::string::npos ? "[" + host + "]" : host, ":", port);
}

// {"port":N,"metrics_port":M,"pid":P}, written to a temporary file and renamed into place.
bool WriteReadyFile(const std::string& path, int port, int metrics_port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << "{\"port\":" << port << ",\"metrics_port\":" << metrics_port << ",\"pid\":" << getpid()
      << "}\n";
    if (!f) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace

absl::Status UsageError(const absl::Status& status) {
  absl::Status marked = status;
  marked.SetPayload(kUsageErrorPayload, absl::Cord("1"));
  return marked;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsageErrorPayload).has_value();
}

AsrServer::AsrServer(const ServerConfig& config) : config_(config) {}

AsrServer::~AsrServer() { Stop(); }

absl::StatusOr<std::unique_ptr<AsrServer>> AsrServer::Create(const ServerConfig& config) {
  if (absl::Status s = config.Validate(); !s.ok()) return UsageError(s);
  std::unique_ptr<AsrServer> server(new AsrServer(config));
  // Credentials before the model: a wrong file is an error in a second, not after a long load.
  auto credentials = LoadServerCredentials({config.tls_cert, config.tls_key, config.tls_client_ca});
  if (!credentials.ok()) return UsageError(credentials.status());
  server->credentials_ = *std::move(credentials);
  if (!config.auth_tokens_file.empty()) {
    auto loaded = TokenAuthenticator::FromFile(config.auth_tokens_file);
    if (!loaded.ok()) return UsageError(loaded.status());
    server->authenticator_ = std::make_unique<TokenAuthenticator>(*std::move(loaded));
  }
  Log("starting: ", config.ToString());
  if (server->authenticator_ != nullptr) {
    Log("bearer tokens required (", server->authenticator_->size(), " accepted, from ",
        config.auth_tokens_file, ")");
  }
  LACT_RETURN_IF_ERROR(server->LoadModel());
  return server;
}

absl::Status AsrServer::LoadModel() {
  SetCpuThreads(config_.threads);
  // SetCpuThreads limited OpenBLAS to one thread: its pool spun beside the decoders.
  if (const int blas = LimitOpenBlasThreads(); blas > 0) Log("OpenBLAS threads: ", blas);
  SetOneDnnLinear(config_.onednn_linear);
  if (OneDnnLinearEnabled()) Log("float32 linear layers on the CPU: oneDNN (--onednn_linear)");
  SetFusedAttention(config_.fused_attention);
  Log("attention: ", AttentionKernelName());
  AsrModelOptions model_options;
  model_options.device = config_.device;
  model_options.dtype = config_.dtype;
  model_options.load_lact = true;
  auto model = AsrModel::Load(config_.model_dir, model_options);
  if (!model.ok())
    return absl::Status(model.status().code(),
                        absl::StrCat("cannot load the model: ", model.status().ToString()));
  model_ = *std::move(model);
  auto recognizer = OnlineRecognizer::Create(model_, config_.streaming, config_.decoding);
  if (!recognizer.ok()) {
    return UsageError(absl::InvalidArgumentError(
        absl::StrCat("bad streaming or decoding settings: ", recognizer.status().ToString())));
  }
  recognizer_ = *std::move(recognizer);
  if (config_.recognize_step_ms > 0) {
    auto clips = OnlineRecognizer::Create(model_, config_.recognize_window(), config_.decoding);
    if (!clips.ok()) {
      return UsageError(absl::InvalidArgumentError(
          absl::StrCat("bad --recognize_* settings: ", clips.status().ToString())));
    }
    clip_recognizer_ = *std::move(clips);
    Log("Recognize: clips decoded in steps of ", config_.recognize_step_ms, " ms with ",
        config_.recognize_context_ms, " ms of context each side, up to ",
        config_.recognize_max_batch, " to a model call (--recognize_*)");
  } else {
    Log("Recognize: clips decoded with the streaming window (--recognize_step_ms 0)");
  }
  if (recognizer_->beam_search()) {
    const CtcBeamSearchOptions& b = *recognizer_->beam_search();
    Log("decoder: beam search (beam ", b.beam_size, ", lm_weight ", b.lm_weight, ", word_score ",
        b.word_score, ", unk_penalty ", b.unk_penalty, ") with ",
        model_->language_model() ? model_->language_model()->Describe()
                                 : "no language model (lexicon-free)");
  } else {
    Log("decoder: greedy",
        model_->language_model() ? " (the model's language model is not used)"
        : recognizer_->BeamSearchAvailable()
            ? " (no language model; streams with speech_contexts or alternatives: lexicon-free "
              "beam search)"
            : "");
  }
  Log("model loaded from ", config_.model_dir, " on ", model_->device().str(), " in ",
      model_->encoder().precision().Name(), " (--dtype ", config_.dtype, "; LaCT ",
      model_->has_lact_files() && model_->lact() != nullptr ? "present" : "absent",
      model_->lact() != nullptr ? absl::StrCat(", its products ", model_->lact()->ProductsName())
                                : std::string(),
      ", ", model_->sample_rate(), " Hz)");
  return absl::OkStatus();
}

absl::Status AsrServer::Start() {
  metrics_ = std::make_unique<ServerMetrics>(model_->device().str());
  if (config_.metrics_port >= 0) {
    LACT_ASSIGN_OR_RETURN(metrics_port_, metrics_->StartHttpServer(config_.effective_metrics_host(),
                                                                   config_.metrics_port));
  }
  LACT_RETURN_IF_ERROR(WarmUp());  // /healthz answers NOT_SERVING meanwhile
  SchedulerOptions scheduler_options;
  scheduler_options.max_batch = config_.max_batch;
  scheduler_options.max_queue_delay = absl::Milliseconds(config_.max_queue_delay_ms);
  scheduler_options.decode_threads = config_.effective_decode_threads();
  scheduler_options.offline = clip_recognizer_.get();
  scheduler_options.offline_max_batch = config_.recognize_max_batch;
  scheduler_ = std::make_unique<Scheduler>(*recognizer_, scheduler_options, metrics_.get());
  scheduler_->Start();
  LACT_RETURN_IF_ERROR(BuildAndStartGrpc());
  SetServing(true);
  if (!config_.ready_file.empty() && !WriteReadyFile(config_.ready_file, port_, metrics_port_)) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write --ready_file ", config_.ready_file));
  }
  Log("serving lact.asr.v1.StreamingAsr on ", HostPort(config_.host, port_),
      config_.tls_cert.empty()        ? " (plaintext)"
      : config_.tls_client_ca.empty() ? " (TLS)"
                                      : " (mutual TLS)",
      metrics_port_ >= 0 ? absl::StrCat(", metrics on http://",
                                        HostPort(config_.effective_metrics_host(), metrics_port_),
                                        "/metrics and /healthz")
                         : std::string(", metrics off"));
  return absl::OkStatus();
}

absl::Status AsrServer::WarmUp() {
  if (config_.warmup_seconds <= 0) {
    Log("warm-up: off (--warmup_seconds 0): the first streams pay the first-use costs");
    return absl::OkStatus();
  }
  WarmUpOptions options;
  options.max_batch = config_.max_batch;
  options.budget = absl::Seconds(config_.warmup_seconds);
  // Streams as a default request makes them: LaCT as --lact says, the server's endpointing.
  options.stream.enable_lact =
      config_.lact && model_->has_lact_files() && model_->lact() != nullptr;
  options.stream.endpointing = config_.endpointing;
  Log("warm-up: up to ", config_.warmup_seconds, " s (health NOT_SERVING until it ends)");
  absl::StatusOr<WarmUpReport> report = WarmUpRecognizer(*recognizer_, options);
  if (!report.ok()) {
    return absl::Status(report.status().code(),
                        absl::StrCat("warm-up failed: ", report.status().message()));
  }
  Log("warm-up: ", report->ToString());
  return absl::OkStatus();
}

absl::Status AsrServer::BuildAndStartGrpc() {
  AsrServiceOptions o;
  o.max_streams = config_.max_streams;
  o.max_stream_seconds = config_.max_stream_seconds;
  o.feed_ms = config_.effective_feed_ms();
  o.first_partial_ms = config_.streaming.first_partial_ms;
  o.lact_default = config_.lact;
  o.model_has_lact = model_->has_lact_files() && model_->lact() != nullptr;
  o.model_sample_rate = model_->sample_rate();
  const auto& beam = recognizer_->beam_search_on_request();
  o.max_alternatives_cap = beam ? beam->beam_size : 1;
  o.beam_search_available = recognizer_->BeamSearchAvailable();
  o.vocab = &model_->vocab();
  o.speech_context_limits = config_.speech_context_limits;
  o.authenticator = authenticator_.get();
  o.write_stall_timeout = absl::Seconds(config_.write_stall_timeout_s);
  o.stream_idle_timeout = absl::Seconds(config_.stream_idle_timeout_s);
  o.max_streams_per_peer = config_.max_streams_per_peer;
  o.endpointing = config_.endpointing;
  o.recognition_config = RecognitionConfigInfo(*recognizer_, config_, o.model_has_lact);
  const OnlineRecognizer& clips = clip_recognizer_ != nullptr ? *clip_recognizer_ : *recognizer_;
  service_ = std::make_unique<AsrService>(*recognizer_, clips, scheduler_.get(), metrics_.get(), o);

  grpc::EnableDefaultHealthCheckService(true);
  if (config_.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(HostPort(config_.host, config_.port), credentials_, &port_);
  builder.RegisterService(service_.get());
  builder.SetMaxReceiveMessageSize(config_.max_message_bytes);
  // Each call's receive window, fixed (gRPC's BDP probe would grow it to ~16 MB per fast stream):
  // what a client sends beyond what the server reads waits in the client (docs/reliability.md).
  if (config_.stream_window_bytes > 0) {
    builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, config_.stream_window_bytes);
  }
  // Every call of the service and of gRPC's health service is on the callback API and holds no
  // thread of its own; only gRPC reflection (--reflection) is synchronous: its pool stays small.
  quota_ = std::make_unique<grpc::ResourceQuota>("lact_server");
  quota_->SetMaxThreads(32);
  builder.SetResourceQuota(*quota_);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", HostPort(config_.host, config_.port)));
  }
  return absl::OkStatus();
}

// Health, both views (gRPC health service, the metrics port's /healthz), set together.
void AsrServer::SetServing(bool serving) {
  if (server_ != nullptr) server_->GetHealthCheckService()->SetServingStatus(serving);
  if (metrics_ != nullptr) metrics_->SetServing(serving);
}

int AsrServer::open_calls() const { return service_ != nullptr ? service_->open_calls() : 0; }

bool AsrServer::Drain(absl::Duration drain_time, const std::function<bool()>& end_early) {
  if (service_ == nullptr) return true;
  SetServing(false);
  service_->StartDrain();
  const absl::Time deadline = absl::Now() + drain_time;
  bool idle = false;
  while (!(
      idle = service_->WaitUntilIdle(std::min(deadline, absl::Now() + absl::Milliseconds(100))))) {
    if (absl::Now() >= deadline) break;
    if (end_early && end_early()) {
      Log("second signal: ending the drain now");
      break;
    }
  }
  if (!idle) {
    Log("drain time over: ending ", service_->open_calls(), " stream(s) with UNAVAILABLE");
    service_->AbortAll(absl::UnavailableError("the server is shutting down"), absl::Seconds(2));
  }
  return idle;
}

void AsrServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  SetServing(false);
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
  }
  if (scheduler_ != nullptr) scheduler_->Stop();
}

}  // namespace lact::server
