// Everything lact_server is configured with, as one plain struct: filled from the command line
// by server/server_flags, validated once by AsrServer::Create (Validate), then passed by const
// reference.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "core/decoding/phrase_boost.h"
#include "core/endpointing/endpointing_config.h"
#include "core/streaming/decoding_config.h"
#include "core/streaming/streaming_config.h"

namespace lact::server {

struct ServerConfig {
  // Model.
  std::string model_dir;          // Hugging Face Wav2Vec2ForCTC folder (+ optional LaCT files)
  std::string device = "cpu";     // cpu, cuda, cuda:N
  std::string dtype = "float32";  // encoder precision
  bool lact = true;            // default of RecognitionConfig.enable_lact (when the model has LaCT)
  int threads = 0;             // LibTorch CPU threads (0: all cores)
  bool onednn_linear = false;  // CPU float32 linear layers through oneDNN (dense_linear.h)
  bool fused_attention = true;  // LibTorch >= 2.0's fused attention kernel (attention.h)

  // Network.
  std::string host = "0.0.0.0";  // address both listeners bind
  int port = 50051;              // gRPC (0: pick a free port, see ready_file)
  int metrics_port = 9400;       // Prometheus /metrics (0: pick a free port; -1: off)
  std::string metrics_host;      // address the metrics listener binds (empty: `host`)
  std::string ready_file;        // when set: written with the bound ports once serving
  bool reflection = true;        // gRPC server reflection (the public API's schema, for grpcurl)

  // Security (docs/server.md, "Security"). TLS on the gRPC port when tls_cert is set (with
  // tls_key); mutual TLS when tls_client_ca is set too. Bearer tokens when auth_tokens_file is set.
  std::string tls_cert;          // PEM certificate (chain) of the server
  std::string tls_key;           // PEM private key of tls_cert
  std::string tls_client_ca;     // PEM CAs for client certificates: required and verified
  std::string auth_tokens_file;  // SHA-256 hex digests of accepted bearer tokens (server/auth.h)

  // Scheduler (Triton-style dynamic batching of ready streams).
  int max_batch = 8;           // streams per model call
  int max_queue_delay_ms = 5;  // how long the oldest ready stream may wait for a batch to fill
  // Threads decoding finished model steps (CTC greedy/beam search) while the worker runs the
  // next batch; 0: the worker decodes; -1: DefaultDecodeThreads() (half the cores, 1 to 8).
  int decode_threads = -1;

  // Limits.
  int max_streams = 64;             // concurrent streams (RESOURCE_EXHAUSTED past it)
  double max_stream_seconds = 600;  // audio per stream (OUT_OF_RANGE past it)
  int max_message_bytes = 4 << 20;  // one request message (RESOURCE_EXHAUSTED past it)
  // HTTP/2 receive window of each call (bytes): what a client may send beyond what the server
  // has read, which gRPC's transport buffers. 0: gRPC's automatic window, which grows with the
  // connection's bandwidth-delay product (~16 MB per fast stream on loopback).
  int stream_window_bytes = 1 << 20;
  double drain_seconds = 30;  // SIGTERM: how long open streams may still run
  // Before serving: streams of generated audio through the recognizer (every window length, batch
  // sizes up to max_batch) for at most this long; health says NOT_SERVING meanwhile. 0: off.
  double warmup_seconds = 10;
  double write_stall_timeout_s = 30;  // a Write blocked this long (client not reading): cancelled
  // A StreamingRecognize call that sends no config within this long, or no message for this long
  // after it, is stopped and frees its slot (docs/server.md, "Limits"). 0: off.
  double stream_idle_timeout_s = 30;
  // Open calls per peer (its bearer token under --auth_tokens_file, else its HTTP/2
  // connection); 0: no cap but max_streams.
  int max_streams_per_peer = 0;
  // RecognitionConfig.speech_contexts: phrases per request, characters per phrase, |boost|.
  PhraseBoostLimits speech_context_limits;

  // Streaming window (the recognizer's), and how audio is handed to it.
  StreamingConfig streaming;
  // --endpointing*: what a request's unset EndpointingConfig fields take.
  EndpointingConfig endpointing;
  // Audio is given to the recognizer in pieces of this many ms (0: step_ms). With step_ms the
  // transcript equals `lact_transcribe --streaming` on the same audio, whatever the network
  // timing (see docs/server.md, "Determinism").
  int feed_ms = 0;
  // CTC decoding: greedy, or beam search with the model folder's language model.
  DecodingConfig decoding;
  // Recognize's window (docs/server.md, "Recognize"): a clip is decoded in steps of
  // recognize_step_ms with recognize_context_ms of context on each side, as Riva's offline
  // pipeline runs its streaming one with long chunks: ~1.2x the frames of one pass over the clip
  // (the streaming window: ~3.7x), and a clip up to step + context long is one pass, as
  // `lact_transcribe` decodes it offline. Its model steps are batched apart from the streams',
  // recognize_max_batch clips to a call. 0: the streaming window, so that Recognize's transcript
  // equals streaming the clip.
  int recognize_step_ms = 20000;
  int recognize_context_ms = 1920;
  int recognize_max_batch = 2;

  absl::Status Validate() const;
  std::string ToString() const;
  int effective_feed_ms() const { return feed_ms > 0 ? feed_ms : streaming.step_ms; }
  // The window Recognize's clips are decoded with (`streaming` when recognize_step_ms is 0).
  StreamingConfig recognize_window() const;
  // decode_threads, with -1 resolved: half the machine's cores, 1 to 8.
  int effective_decode_threads() const;
  const std::string& effective_metrics_host() const {
    return metrics_host.empty() ? host : metrics_host;
  }
};

}  // namespace lact::server
