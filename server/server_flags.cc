#include "server/server_flags.h"

#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "core/flags/decoder_flags.h"
#include "core/flags/endpointing_flags.h"
#include "core/flags/fused_attention_flag.h"
#include "core/flags/lact_flag.h"
#include "core/flags/model_flags.h"
#include "core/flags/onednn_linear_flag.h"
#include "core/flags/streaming_flags.h"
#include "core/flags/threads_flag.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
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
ABSL_FLAG(int32_t, max_queue_delay_ms, 5, "How long the oldest ready stream may wait for a batch "
          "to fill (ms)");
ABSL_FLAG(int32_t, decode_threads, -1, "Threads that run the CTC decoding (greedy or beam search "
          "with the LM) of each batch's streams while the model worker runs the next batch; 0: the "
          "model worker decodes them itself; -1: half the machine's cores, 1 to 8");
ABSL_FLAG(int32_t, max_streams, 64, "Most open streams; more get RESOURCE_EXHAUSTED");
ABSL_FLAG(double, max_stream_seconds, 600, "Most audio per stream (s); more gets OUT_OF_RANGE");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20, "Largest request message (bytes); larger ones get "
          "RESOURCE_EXHAUSTED. Recognize's whole clip must fit in it");
ABSL_FLAG(int32_t, stream_window_bytes, 1 << 20, "HTTP/2 receive window of each call (bytes): "
          "how much audio a client may send beyond what the server has read (the server reads a "
          "stream only while less than 10 s of its audio wait for the model), buffered by gRPC; "
          "a call's upload runs at most this much per round trip. 0: gRPC's automatic window, "
          "which grows with the connection's bandwidth-delay product (~16 MB per fast stream on "
          "loopback); else >= 65535");
ABSL_FLAG(double, warmup_seconds, 10, "Before serving, run streams of generated audio through the "
          "model (every streaming window length, batch sizes 1, 2, 4, ... up to --max_batch) for at "
          "most this long, so the first clients do not pay for first-use costs; health is "
          "NOT_SERVING meanwhile. 0: no warm-up");
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
ABSL_FLAG(int32_t, max_speech_context_phrases, lact::PhraseBoostLimits{}.max_phrases,
          "Most RecognitionConfig.speech_contexts phrases per request (all contexts together); "
          "more: INVALID_ARGUMENT");
ABSL_FLAG(int32_t, max_speech_context_phrase_chars, lact::PhraseBoostLimits{}.max_phrase_chars,
          "Most characters per speech_contexts phrase; longer: INVALID_ARGUMENT");
ABSL_FLAG(double, max_speech_context_boost, lact::PhraseBoostLimits{}.max_abs_boost,
          "Largest |SpeechContext.boost| (natural log); beyond: INVALID_ARGUMENT");
ABSL_FLAG(int32_t, feed_ms, 0, "Audio is handed to the recognizer in pieces of this many ms "
          "(0: --step_ms, which makes transcripts equal `lact_transcribe --streaming` whatever the "
          "network timing; smaller pieces lower latency)");
ABSL_FLAG(int32_t, recognize_step_ms, 20000, "Recognize decodes its clip in steps of this many ms "
          "with --recognize_context_ms of context on each side (~1.2x the frames of one pass; a "
          "clip up to step + context is one pass, as lact_transcribe decodes it offline), batched "
          "apart from the streams. 0: the streaming window (--step_ms ...), so that Recognize's "
          "transcript equals streaming the clip (at ~3x the model's work)");
ABSL_FLAG(int32_t, recognize_context_ms, 1920, "Left context and lookahead of each Recognize window "
          "(ms; with --recognize_step_ms > 0)");
ABSL_FLAG(int32_t, recognize_max_batch, 2, "Most Recognize clips in one model call (their windows "
          "are long: a call of them delays the streams' next steps by its length; with "
          "--recognize_step_ms > 0)");
// clang-format on

namespace lact::server {

absl::StatusOr<ServerConfig> ServerConfigFromFlags() {
  ServerConfig c;
  const ModelFlags model = GetModelFlags();
  c.model_dir = ResolveModelDir(model.model_dir);
  c.device = model.device;
  c.dtype = model.dtype;
  // auto and on mean the same here: LaCT runs only when the folder has LaCT files.
  auto lact = GetLactFlag(LactMode::kAuto, {LactMode::kAuto, LactMode::kOn, LactMode::kOff});
  if (!lact.ok()) return lact.status();
  c.lact = *lact != LactMode::kOff;
  c.threads = GetThreadsFlag();
  c.onednn_linear = GetOneDnnLinearFlag();
  c.fused_attention = GetFusedAttentionFlag();
  c.host = absl::GetFlag(FLAGS_host);
  c.port = absl::GetFlag(FLAGS_port);
  c.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  c.metrics_host = absl::GetFlag(FLAGS_metrics_host);
  c.ready_file = absl::GetFlag(FLAGS_ready_file);
  c.reflection = absl::GetFlag(FLAGS_reflection);
  c.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  c.tls_key = absl::GetFlag(FLAGS_tls_key);
  c.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  c.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
  c.max_batch = GetMaxBatchFlag();
  c.max_queue_delay_ms = absl::GetFlag(FLAGS_max_queue_delay_ms);
  c.decode_threads = absl::GetFlag(FLAGS_decode_threads);
  c.max_streams = absl::GetFlag(FLAGS_max_streams);
  c.max_stream_seconds = absl::GetFlag(FLAGS_max_stream_seconds);
  c.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.stream_window_bytes = absl::GetFlag(FLAGS_stream_window_bytes);
  c.drain_seconds = absl::GetFlag(FLAGS_drain_seconds);
  c.warmup_seconds = absl::GetFlag(FLAGS_warmup_seconds);
  c.write_stall_timeout_s = absl::GetFlag(FLAGS_write_stall_timeout_s);
  c.stream_idle_timeout_s = absl::GetFlag(FLAGS_stream_idle_timeout_s);
  c.max_streams_per_peer = absl::GetFlag(FLAGS_max_streams_per_peer);
  c.speech_context_limits.max_phrases = absl::GetFlag(FLAGS_max_speech_context_phrases);
  c.speech_context_limits.max_phrase_chars = absl::GetFlag(FLAGS_max_speech_context_phrase_chars);
  c.speech_context_limits.max_abs_boost = absl::GetFlag(FLAGS_max_speech_context_boost);
  c.streaming = GetStreamingFlags();
  c.feed_ms = absl::GetFlag(FLAGS_feed_ms);
  c.decoding = GetDecoderFlags();
  c.recognize_step_ms = absl::GetFlag(FLAGS_recognize_step_ms);
  c.recognize_context_ms = absl::GetFlag(FLAGS_recognize_context_ms);
  c.recognize_max_batch = absl::GetFlag(FLAGS_recognize_max_batch);
  auto endpointing = GetEndpointingFlags(/*enabled_default=*/true);
  if (!endpointing.ok()) return endpointing.status();
  c.endpointing = *endpointing;
  return c;
}

}  // namespace lact::server
