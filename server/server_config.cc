#include "server/server_config.h"

#include "absl/strings/str_cat.h"

namespace lact::server {

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
  if (threads < 0) return bad("--threads must be >= 0, got ", threads);
  if (max_batch < 1 || max_batch > 1024) return bad("--max_batch must be in [1, 1024], got ", max_batch);
  if (max_queue_delay_ms < 0 || max_queue_delay_ms > 10000) {
    return bad("--max_queue_delay_ms must be in [0, 10000], got ", max_queue_delay_ms);
  }
  if (max_streams < 1) return bad("--max_streams must be >= 1, got ", max_streams);
  if (!(max_stream_seconds > 0)) return bad("--max_stream_seconds must be > 0, got ", max_stream_seconds);
  if (max_message_bytes < 1024) {
    return bad("--max_message_bytes must be >= 1024, got ", max_message_bytes);
  }
  if (!(drain_seconds >= 0)) return bad("--drain_seconds must be >= 0, got ", drain_seconds);
  if (feed_ms < 0 || feed_ms > 60000) return bad("--feed_ms must be in [0, 60000], got ", feed_ms);
  if (absl::Status s = streaming.Validate(); !s.ok()) return s;
  return absl::OkStatus();
}

std::string ServerConfig::ToString() const {
  return absl::StrCat("model=", model_dir, " device=", device, " dtype=", dtype,
                      " lact=", lact ? "on" : "off", " threads=", threads, " listen=", host, ":",
                      port, " metrics_port=", metrics_port, " max_batch=", max_batch,
                      " max_queue_delay_ms=", max_queue_delay_ms, " max_streams=", max_streams,
                      " max_stream_seconds=", max_stream_seconds,
                      " max_message_bytes=", max_message_bytes, " drain_seconds=", drain_seconds,
                      " ", streaming.ToString(), " feed_ms=", effective_feed_ms());
}

}  // namespace lact::server
