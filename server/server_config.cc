#include "server/server_config.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace lact::server {

namespace {

// OK when `path` can be opened for reading; else an error naming `flag`, the file and why.
absl::Status CheckReadable(const char* flag, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": cannot read it: ", std::strerror(errno)));
  }
  std::fclose(f);
  return absl::OkStatus();
}

}  // namespace

absl::Status ServerConfig::Validate() const {
  auto bad = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (model_dir.empty()) return bad("--model is required (a Wav2Vec2ForCTC model folder)");
  if (host.empty()) return bad("--host must not be empty");
  if (port < 0 || port > 65535) return bad("--port must be in [0, 65535], got ", port);
  if (metrics_port < -1 || metrics_port > 65535) {
    return bad("--metrics_port must be in [-1, 65535] (-1: off), got ", metrics_port);
  }
  if (metrics_port > 0 && metrics_port == port) {
    return bad("--metrics_port and --port must differ, both are ", port);
  }
  // Security: both TLS files or neither; the client CA only with them; every file readable.
  if (!tls_cert.empty() && tls_key.empty())
    return bad("--tls_cert ", tls_cert, " needs --tls_key (its private key)");
  if (tls_cert.empty() && !tls_key.empty())
    return bad("--tls_key ", tls_key, " needs --tls_cert (its certificate)");
  if (tls_cert.empty() && !tls_client_ca.empty()) {
    return bad("--tls_client_ca ", tls_client_ca, " (mutual TLS) needs --tls_cert and --tls_key");
  }
  for (const auto& [flag, path] :
       {std::pair<const char*, const std::string&>{"--tls_cert", tls_cert},
        {"--tls_key", tls_key},
        {"--tls_client_ca", tls_client_ca},
        {"--auth_tokens_file", auth_tokens_file}}) {
    if (path.empty()) continue;
    if (absl::Status s = CheckReadable(flag, path); !s.ok()) return s;
  }
  if (threads < 0) return bad("--threads must be >= 0, got ", threads);
  if (max_batch < 1 || max_batch > 1024)
    return bad("--max_batch must be in [1, 1024], got ", max_batch);
  if (max_queue_delay_ms < 0 || max_queue_delay_ms > 10000) {
    return bad("--max_queue_delay_ms must be in [0, 10000], got ", max_queue_delay_ms);
  }
  if (decode_threads < -1 || decode_threads > 64) {
    return bad("--decode_threads must be in [-1, 64] (-1: automatic, 0: on the model worker), got ",
               decode_threads);
  }
  if (max_streams < 1) return bad("--max_streams must be >= 1, got ", max_streams);
  if (!(max_stream_seconds > 0))
    return bad("--max_stream_seconds must be > 0, got ", max_stream_seconds);
  if (max_message_bytes < 1024) {
    return bad("--max_message_bytes must be >= 1024, got ", max_message_bytes);
  }
  if (stream_window_bytes != 0 && stream_window_bytes < 65535) {
    return bad("--stream_window_bytes must be 0 (gRPC's automatic window) or >= 65535, got ",
               stream_window_bytes);
  }
  if (!(drain_seconds >= 0)) return bad("--drain_seconds must be >= 0, got ", drain_seconds);
  if (!(warmup_seconds >= 0 && warmup_seconds <= 600))
    return bad("--warmup_seconds must be in [0, 600], got ", warmup_seconds);
  if (!(write_stall_timeout_s > 0)) {
    return bad("--write_stall_timeout_s must be > 0, got ", write_stall_timeout_s);
  }
  if (!(stream_idle_timeout_s >= 0)) {
    return bad("--stream_idle_timeout_s must be >= 0 (0: off), got ", stream_idle_timeout_s);
  }
  if (max_streams_per_peer < 0) {
    return bad("--max_streams_per_peer must be >= 0 (0: no per-peer cap), got ",
               max_streams_per_peer);
  }
  if (feed_ms < 0 || feed_ms > 60000) return bad("--feed_ms must be in [0, 60000], got ", feed_ms);
  if (absl::Status s = speech_context_limits.Validate(); !s.ok()) {
    return bad("--max_speech_context_phrases/_phrase_chars/_boost: ", s.message());
  }
  if (absl::Status s = streaming.Validate(); !s.ok()) return s;
  if (recognize_step_ms != 0 && (recognize_step_ms < 1000 || recognize_step_ms > 60000)) {
    return bad("--recognize_step_ms must be 0 (the streaming window) or in [1000, 60000], got ",
               recognize_step_ms);
  }
  if (recognize_context_ms < 0 || recognize_context_ms > 10000) {
    return bad("--recognize_context_ms must be in [0, 10000], got ", recognize_context_ms);
  }
  if (recognize_max_batch < 1 || recognize_max_batch > 1024) {
    return bad("--recognize_max_batch must be in [1, 1024], got ", recognize_max_batch);
  }
  if (absl::Status s = decoding.Validate(); !s.ok()) return s;
  if (absl::Status s = endpointing.Validate(); !s.ok()) return s;
  return absl::OkStatus();
}

StreamingConfig ServerConfig::recognize_window() const {
  if (recognize_step_ms == 0) return streaming;
  StreamingConfig w = streaming;
  w.step_ms = recognize_step_ms;
  w.left_context_ms = recognize_context_ms;
  w.lookahead_ms = recognize_context_ms;
  w.first_partial_ms = 0;              // Recognize shows no interim results
  w.last_window_reaches_back = false;  // no step of committed audio encoded again
  return w;
}

int ServerConfig::effective_decode_threads() const {
  if (decode_threads >= 0) return decode_threads;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores / 2, 1, 8);
}

std::string ServerConfig::ToString() const {
  return absl::StrCat(
      "model=", model_dir, " device=", device, " dtype=", dtype, " lact=", lact ? "on" : "off",
      " threads=", threads, " listen=", host, ":", port, " metrics=", effective_metrics_host(), ":",
      metrics_port, " tls=",
      tls_cert.empty()        ? "off"
      : tls_client_ca.empty() ? "on"
                              : "mutual",
      " auth=", auth_tokens_file.empty() ? "off" : "bearer_tokens", " max_batch=", max_batch,
      " max_queue_delay_ms=", max_queue_delay_ms, " decode_threads=", effective_decode_threads(),
      " max_streams=", max_streams, " max_stream_seconds=", max_stream_seconds,
      " max_message_bytes=", max_message_bytes, " stream_window_bytes=", stream_window_bytes,
      " drain_seconds=", drain_seconds, " warmup_seconds=", warmup_seconds,
      " write_stall_timeout_s=", write_stall_timeout_s,
      " stream_idle_timeout_s=", stream_idle_timeout_s,
      " max_streams_per_peer=", max_streams_per_peer, " ", streaming.ToString(), " ",
      endpointing.ToString(), " feed_ms=", effective_feed_ms(), " ", decoding.ToString(),
      " recognize_step_ms=", recognize_step_ms, " recognize_context_ms=", recognize_context_ms,
      " recognize_max_batch=", recognize_max_batch);
}

}  // namespace lact::server
