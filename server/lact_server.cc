// lact_server: the gRPC streaming speech recognition service. See --help and docs/server.md.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <torch/torch.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/asr_model.h"
#include "core/online_recognizer.h"
#include "core/tools/flag_names.h"
#include "server/asr_service.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/scheduler.h"
#include "server/server_config.h"
#include "server/stream_session.h"
#include "server/tls_credentials.h"

ABSL_FLAG(std::string, model, "", "Model folder (Hugging Face Wav2Vec2ForCTC layout plus optional "
          "lact_config.json / lact.safetensors). Default: $LACT_MODEL, else models/demo of the "
          "source tree (the bundled demo model, see models/demo/MODEL_CARD.md)");
ABSL_FLAG(std::string, device, "cpu", "Device of the model: cpu, cuda or cuda:N");
ABSL_FLAG(std::string, dtype, "float32", "Encoder precision: float32, float16, bfloat16 (GPU)");
ABSL_FLAG(bool, lact, true, "Run the LaCT layers for streams whose RecognitionConfig leaves "
          "enable_lact unset (only when the model folder has LaCT files)");
ABSL_FLAG(int32_t, threads, 0, "LibTorch CPU threads (0: all cores)");
ABSL_FLAG(std::string, host, "0.0.0.0", "Address the gRPC and metrics listeners bind "
          "(0.0.0.0: all interfaces, as in a container; 127.0.0.1: loopback only)");
ABSL_FLAG(int32_t, port, 50051, "gRPC port (0: a free port, see --ready_file)");
ABSL_FLAG(int32_t, metrics_port, 9400, "Prometheus /metrics port (0: a free port; -1: no metrics "
          "listener)");
ABSL_FLAG(std::string, metrics_host, "", "Address the metrics listener binds (empty: --host); e.g. "
          "127.0.0.1 to keep /metrics off the network while gRPC listens on 0.0.0.0");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate (chain) of the server: the gRPC port speaks "
          "TLS (needs --tls_key). gRPC health checks then need TLS too; the metrics port's plain-HTTP "
          "/healthz does not (docs/server.md, Health)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert (unencrypted)");
ABSL_FLAG(std::string, tls_client_ca, "", "PEM CA certificate(s): mutual TLS, every client must "
          "present a certificate signed by one of them (needs --tls_cert)");
ABSL_FLAG(std::string, auth_tokens_file, "", "File of accepted bearer tokens as SHA-256 hex digests, "
          "one per line ('#' comments; make one with: printf %s \"$TOKEN\" | sha256sum). When set, "
          "every StreamingAsr call needs metadata 'authorization: Bearer <token>', else "
          "UNAUTHENTICATED; health checks and reflection stay open");
ABSL_FLAG(bool, reflection, true, "Serve gRPC server reflection (the public API's schema, for "
          "grpcurl); --noreflection turns it off");
ABSL_FLAG(std::string, ready_file, "", "Once serving, write {\"port\":N,\"metrics_port\":M,\"pid\":P} "
          "to this file (for scripts and tests using port 0)");
ABSL_FLAG(int32_t, max_batch, 8, "Most streams decoded together in one model call");
ABSL_FLAG(int32_t, max_queue_delay_ms, 5, "How long the oldest ready stream may wait for a batch "
          "to fill (ms)");
ABSL_FLAG(int32_t, max_streams, 64, "Most open streams; more get RESOURCE_EXHAUSTED");
ABSL_FLAG(double, max_stream_seconds, 600, "Most audio per stream (s); more gets OUT_OF_RANGE");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20, "Largest request message (bytes); larger ones get "
          "RESOURCE_EXHAUSTED. Recognize's whole clip must fit in it");
ABSL_FLAG(double, drain_seconds, 30, "On SIGTERM/SIGINT: how long open streams may still run "
          "before they get UNAVAILABLE (a second signal ends the wait)");
ABSL_FLAG(double, write_stall_timeout_s, 30, "A stream whose response the client has not read for "
          "this long (s; the server's Write blocked by HTTP/2 flow control) is stopped by the "
          "server: RESOURCE_EXHAUSTED in its log and lact_streams_total, CANCELLED for the client");
ABSL_FLAG(double, stream_idle_timeout_s, 30, "A StreamingRecognize call that sends no config "
          "within this long, or no message for this long after its config (s; messages count, not "
          "speech: silence and Opus DTX packets keep a stream open), is stopped by the server and "
          "frees its --max_streams slot: DEADLINE_EXCEEDED in its log and lact_streams_total, "
          "CANCELLED for the client. 0: off");
ABSL_FLAG(int32_t, max_streams_per_peer, 0, "Most open calls one peer may hold: its bearer token "
          "with --auth_tokens_file, else its HTTP/2 connection (not its IP address: behind a proxy "
          "every call comes from one address); more get RESOURCE_EXHAUSTED. 0: no cap but "
          "--max_streams");
ABSL_FLAG(int32_t, step_ms, lact::StreamingConfig{}.step_ms, "Streaming step: new audio committed "
          "per model call and the interim cadence (ms)");
ABSL_FLAG(int32_t, left_context_ms, lact::StreamingConfig{}.left_context_ms,
          "Streaming left context (ms)");
ABSL_FLAG(int32_t, lookahead_ms, lact::StreamingConfig{}.lookahead_ms, "Streaming lookahead (ms)");
ABSL_FLAG(int32_t, feed_ms, 0, "Audio is handed to the recognizer in pieces of this many ms "
          "(0: --step_ms, which makes transcripts equal `lact_transcribe --streaming` whatever the "
          "network timing; smaller pieces lower latency)");

ABSL_FLAG(std::string, decoder, lact::DecodingConfig{}.method,
          "auto|greedy|beam: CTC decoding (auto: lexicon beam search with the model folder's "
          "language_model/ when it has one, else greedy; docs/language_model.md)");
ABSL_FLAG(int32_t, beam_size, lact::DecodingConfig{}.beam_size,
          "Beam search: hypotheses kept per frame (CPU time per stream grows with it)");
ABSL_FLAG(double, lm_weight, lact::DecodingConfig{}.lm_weight,
          "Beam search: LM weight alpha (nan: the model's language_model/attrs.json)");
ABSL_FLAG(double, word_score, lact::DecodingConfig{}.word_score,
          "Beam search: word insertion bonus beta (nan: the model's language_model/attrs.json)");
ABSL_FLAG(double, token_threshold, lact::DecodingConfig{}.token_threshold,
          "Beam search: tokens more than this (natural log) below a frame's best are not tried");

namespace lact::server {
namespace {

// SIGTERM / SIGINT: main() blocks both before any thread exists, so every thread it or a library
// starts inherits the blocked mask and the signals stay pending for the process; a watcher thread
// reads them from a signalfd and turns them into a count the main thread waits on. None of those
// threads runs a handler for them, which matters under ThreadSanitizer: it defers a handler until its thread
// enters an intercepted blocking call, and threads parked in absl's raw futex wait (or in read())
// never do, so a handler-based drain never started. Threads started before main() do not have the
// signals blocked (OpenBLAS starts its pool from a library constructor), and the kernel delivers
// a signal to such a thread when there is one: for those, a handler writes the signal number to a
// pipe that the watcher polls as well.
int g_signal_pipe[2] = {-1, -1};

extern "C" void OnSignal(int sig) {
  const unsigned char byte = static_cast<unsigned char>(sig);
  (void)!write(g_signal_pipe[1], &byte, 1);
}

sigset_t DrainSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

class SignalWatcher {
 public:
  // Call first thing in main(), before any thread is started.
  static void BlockInThisThread() {
    const sigset_t set = DrainSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }

  void Start() {
    const sigset_t set = DrainSignals();
    // Both non-blocking: a signal can make the signalfd readable and then be taken by the handler
    // on a thread that does not block it (OpenBLAS starts its threads before main()); a blocking
    // read of the signalfd would then wait forever with the pipe's byte unread.
    const int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0 || pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      Log("warning: cannot watch SIGTERM/SIGINT (", std::strerror(errno), "); they end the server without a drain");
      pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
      return;
    }
    struct sigaction action {};
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    std::thread([this, sfd] {
      pollfd fds[2] = {{sfd, POLLIN, 0}, {g_signal_pipe[0], POLLIN, 0}};
      while (true) {
        if (poll(fds, 2, -1) < 0) {
          if (errno == EINTR) continue;
          return;
        }
        if (((fds[0].revents | fds[1].revents) & (POLLERR | POLLHUP | POLLNVAL)) != 0) return;
        std::vector<int> received;
        signalfd_siginfo info{};
        while (read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          received.push_back(static_cast<int>(info.ssi_signo));
        }
        unsigned char byte = 0;
        while (read(g_signal_pipe[0], &byte, 1) == 1) received.push_back(byte);
        if (received.empty()) continue;
        absl::MutexLock lock(&mu_);
        last_signal_ = received.back();
        count_ += static_cast<int>(received.size());
      }
    }).detach();
  }
  // Waits for the n-th signal, at most until `deadline`; returns true when it came.
  bool WaitFor(int n, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ >= n; };
    return mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
  }
  int last_signal() {
    absl::MutexLock lock(&mu_);
    return last_signal_;
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
  int last_signal_ ABSL_GUARDED_BY(mu_) = 0;
};

ServerConfig ConfigFromFlags() {
  ServerConfig c;
  c.model_dir = absl::GetFlag(FLAGS_model);
  if (c.model_dir.empty() && std::getenv("LACT_MODEL") != nullptr) c.model_dir = std::getenv("LACT_MODEL");
  // Last, the source tree's default model folder, where the README's first command puts it.
  if (c.model_dir.empty() && std::filesystem::exists(LACT_DEFAULT_MODEL_DIR)) c.model_dir = LACT_DEFAULT_MODEL_DIR;
  c.device = absl::GetFlag(FLAGS_device);
  c.dtype = absl::GetFlag(FLAGS_dtype);
  c.lact = absl::GetFlag(FLAGS_lact);
  c.threads = absl::GetFlag(FLAGS_threads);
  c.host = absl::GetFlag(FLAGS_host);
  c.port = absl::GetFlag(FLAGS_port);
  c.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  c.metrics_host = absl::GetFlag(FLAGS_metrics_host);
  c.ready_file = absl::GetFlag(FLAGS_ready_file);
  c.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  c.tls_key = absl::GetFlag(FLAGS_tls_key);
  c.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  c.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
  c.max_batch = absl::GetFlag(FLAGS_max_batch);
  c.max_queue_delay_ms = absl::GetFlag(FLAGS_max_queue_delay_ms);
  c.max_streams = absl::GetFlag(FLAGS_max_streams);
  c.max_stream_seconds = absl::GetFlag(FLAGS_max_stream_seconds);
  c.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.drain_seconds = absl::GetFlag(FLAGS_drain_seconds);
  c.write_stall_timeout_s = absl::GetFlag(FLAGS_write_stall_timeout_s);
  c.stream_idle_timeout_s = absl::GetFlag(FLAGS_stream_idle_timeout_s);
  c.max_streams_per_peer = absl::GetFlag(FLAGS_max_streams_per_peer);
  c.streaming.step_ms = absl::GetFlag(FLAGS_step_ms);
  c.streaming.left_context_ms = absl::GetFlag(FLAGS_left_context_ms);
  c.streaming.lookahead_ms = absl::GetFlag(FLAGS_lookahead_ms);
  c.feed_ms = absl::GetFlag(FLAGS_feed_ms);
  c.decoding.method = absl::GetFlag(FLAGS_decoder);
  c.decoding.beam_size = absl::GetFlag(FLAGS_beam_size);
  c.decoding.lm_weight = absl::GetFlag(FLAGS_lm_weight);
  c.decoding.word_score = absl::GetFlag(FLAGS_word_score);
  c.decoding.token_threshold = absl::GetFlag(FLAGS_token_threshold);
  return c;
}

std::string HostPort(const std::string& host, int port) {
  return absl::StrCat(host.find(':') != std::string::npos ? "[" + host + "]" : host, ":", port);
}

bool WriteReadyFile(const std::string& path, int port, int metrics_port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << "{\"port\":" << port << ",\"metrics_port\":" << metrics_port << ",\"pid\":" << getpid() << "}\n";
    if (!f) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

int Run(int argc, char** argv, SignalWatcher& signals) {
  absl::SetProgramUsageMessage(
      "The LaCT streaming speech recognition gRPC service (lact.asr.v1.StreamingAsr).\n"
      "Usage: lact_server --model DIR [--device cpu|cuda:N] [--host 0.0.0.0] [--port 50051]\n"
      "       [--metrics_port 9400] [--max_batch 8] [--max_streams 64] [--step_ms 640] ...\n"
      "       [--tls_cert CERT.pem --tls_key KEY.pem [--tls_client_ca CA.pem]] [--auth_tokens_file F]\n"
      "Flags may be spelled with dashes or underscores (--max-batch, --max_batch).");
  if (!ParseFlagsOnly(argc, argv, "lact_server")) return 2;
  const ServerConfig config = ConfigFromFlags();
  if (absl::Status s = config.Validate(); !s.ok()) {
    std::cerr << "lact_server: " << s.message() << "\n";
    return 2;
  }
  // Credentials before the model: a wrong file is an error in a second, not after a long load.
  auto credentials = LoadServerCredentials({config.tls_cert, config.tls_key, config.tls_client_ca});
  if (!credentials.ok()) {
    std::cerr << "lact_server: " << credentials.status().message() << "\n";
    return 2;
  }
  std::optional<TokenAuthenticator> authenticator;
  if (!config.auth_tokens_file.empty()) {
    auto loaded = TokenAuthenticator::FromFile(config.auth_tokens_file);
    if (!loaded.ok()) {
      std::cerr << "lact_server: " << loaded.status().message() << "\n";
      return 2;
    }
    authenticator = std::move(*loaded);
  }
  Log("starting: ", config.ToString());
  if (authenticator.has_value()) {
    Log("bearer tokens required (", authenticator->size(), " accepted, from ", config.auth_tokens_file, ")");
  }
  torch::set_num_threads(config.threads > 0 ? config.threads
                                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));

  AsrModelOptions model_options;
  model_options.device = config.device;
  model_options.dtype = config.dtype;
  model_options.load_lact = true;
  auto model = AsrModel::Load(config.model_dir, model_options);
  if (!model.ok()) {
    Log("cannot load the model: ", model.status().ToString());
    return 1;
  }
  auto recognizer = OnlineRecognizer::Create(*model, config.streaming, config.decoding);
  if (!recognizer.ok()) {
    Log("bad streaming or decoding settings: ", recognizer.status().ToString());
    return 2;
  }
  if ((*recognizer)->beam_search()) {
    const CtcBeamSearchOptions& b = *(*recognizer)->beam_search();
    Log("decoder: beam search (beam ", b.beam_size, ", lm_weight ", b.lm_weight, ", word_score ",
        b.word_score, ") with ", (*model)->language_model()->Describe());
  } else {
    Log("decoder: greedy", (*model)->language_model() ? " (the model's language model is not used)" : "");
  }
  const bool model_has_lact = (*model)->has_lact_files() && (*model)->lact() != nullptr;
  Log("model loaded from ", config.model_dir, " on ", (*model)->device().str(),
      " (LaCT ", model_has_lact ? "present" : "absent", ", ", (*model)->sample_rate(), " Hz)");

  const std::string device_label = (*model)->device().str();
  ServerMetrics metrics(device_label);
  int metrics_port = -1;
  if (config.metrics_port >= 0) {
    auto bound = metrics.StartHttpServer(config.effective_metrics_host(), config.metrics_port);
    if (!bound.ok()) {
      Log(bound.status().message());
      return 1;
    }
    metrics_port = *bound;
  }

  SchedulerOptions scheduler_options;
  scheduler_options.max_batch = config.max_batch;
  scheduler_options.max_queue_delay = absl::Milliseconds(config.max_queue_delay_ms);
  Scheduler scheduler(**recognizer, scheduler_options, &metrics);
  scheduler.Start();

  AsrServiceOptions service_options;
  service_options.max_streams = config.max_streams;
  service_options.max_stream_seconds = config.max_stream_seconds;
  service_options.feed_ms = config.effective_feed_ms();
  service_options.lact_default = config.lact;
  service_options.model_has_lact = model_has_lact;
  service_options.model_sample_rate = (*model)->sample_rate();
  service_options.authenticator = authenticator.has_value() ? &*authenticator : nullptr;
  service_options.write_stall_timeout = absl::Seconds(config.write_stall_timeout_s);
  service_options.stream_idle_timeout = absl::Seconds(config.stream_idle_timeout_s);
  service_options.max_streams_per_peer = config.max_streams_per_peer;
  AsrService service(**recognizer, &scheduler, &metrics, service_options);

  grpc::EnableDefaultHealthCheckService(true);
  if (absl::GetFlag(FLAGS_reflection)) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(HostPort(config.host, config.port), *credentials, &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  // Each open call holds a thread (sync API): leave room for max_streams calls plus rejections.
  grpc::ResourceQuota quota("lact_server");
  quota.SetMaxThreads(2 * config.max_streams + 32);
  builder.SetResourceQuota(quota);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Log("cannot listen on ", HostPort(config.host, config.port));
    return 1;
  }
  // Health, both views (gRPC health service, the metrics port's /healthz), set together.
  auto set_serving = [&](bool serving) {
    server->GetHealthCheckService()->SetServingStatus(serving);
    metrics.SetServing(serving);
  };
  set_serving(true);
  if (!config.ready_file.empty() && !WriteReadyFile(config.ready_file, port, metrics_port)) {
    Log("cannot write --ready_file ", config.ready_file);
    return 1;
  }
  Log("serving lact.asr.v1.StreamingAsr on ", HostPort(config.host, port),
      config.tls_cert.empty() ? " (plaintext)" : config.tls_client_ca.empty() ? " (TLS)" : " (mutual TLS)",
      metrics_port >= 0 ? absl::StrCat(", metrics on http://", HostPort(config.effective_metrics_host(), metrics_port), "/metrics and /healthz")
                        : std::string(", metrics off"));

  // Graceful shutdown: stop accepting, let open streams finish within --drain_seconds.
  signals.WaitFor(1, absl::InfiniteFuture());
  const int open = service.open_calls();
  Log(signals.last_signal() == SIGTERM ? "SIGTERM" : "SIGINT", ": draining ", open,
      " open stream(s) for up to ", config.drain_seconds, " s");
  set_serving(false);
  service.StartDrain();
  const absl::Time drain_deadline = absl::Now() + absl::Seconds(config.drain_seconds);
  bool idle = false;
  while (!(idle = service.WaitUntilIdle(std::min(drain_deadline, absl::Now() + absl::Milliseconds(100))))) {
    if (absl::Now() >= drain_deadline) break;
    if (signals.WaitFor(2, absl::Now())) {
      Log("second signal: ending the drain now");
      break;
    }
  }
  if (!idle) {
    Log("drain time over: ending ", service.open_calls(), " stream(s) with UNAVAILABLE");
    service.AbortAll(absl::UnavailableError("the server is shutting down"), absl::Seconds(2));
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  scheduler.Stop();
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
