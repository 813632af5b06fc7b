// What every call handler of the service shares (server/streaming_call, server/unary_call): the
// recogniser, the scheduler, the metrics, the call registry and the service's options, and the
// start of a call's StreamSession from its RecognitionConfig.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/decoding/phrase_boost.h"
#include "core/decoding/vocab.h"
#include "core/endpointing/endpointing_config.h"
#include "lact/asr/v1/asr.pb.h"

namespace lact {
class OnlineRecognizer;
}

namespace lact::server {

class CallRegistry;
class Scheduler;
class ServerMetrics;
class StreamSession;
class TokenAuthenticator;
struct Call;

struct AsrServiceOptions {
  int max_streams = 64;
  double max_stream_seconds = 600;
  int feed_ms = 640;
  int first_partial_ms = 0;  // StreamingConfig::first_partial_ms: smaller first pieces
  bool lact_default = true;  // enable_lact when the request leaves it unset
  bool model_has_lact = true;
  int model_sample_rate = 16000;
  // RecognitionConfig.max_alternatives is capped at this: the beam size, 1 with greedy decoding.
  int max_alternatives_cap = 1;
  // RecognitionConfig.speech_contexts: refused without a beam search (OnlineRecognizer::
  // BeamSearchAvailable), else compiled per stream for `vocab` (not owned) within the limits.
  bool beam_search_available = false;
  const Vocab* vocab = nullptr;
  PhraseBoostLimits speech_context_limits;
  // When set (--auth_tokens_file), every call must carry a valid bearer token; it is checked
  // before admission, so a refused call reads no message and never reaches the model.
  // Not owned; must outlive the service.
  const TokenAuthenticator* authenticator = nullptr;
  // --write_stall_timeout_s: a call whose writer has been blocked in one Write (the client does
  // not read its responses) for longer than this is cancelled by the watchdog. > 0.
  absl::Duration write_stall_timeout = absl::Seconds(30);
  // --stream_idle_timeout_s: a StreamingRecognize call whose reader has waited this long for a
  // message (the config, or the next one after it) is stopped by the watchdog.
  // ZeroDuration: off.
  absl::Duration stream_idle_timeout = absl::Seconds(30);
  // --max_streams_per_peer: open calls per peer (bearer token, else HTTP/2 connection); 0: off.
  int max_streams_per_peer = 0;
  // --endpointing and its settings: what a request's unset EndpointingConfig fields take.
  EndpointingConfig endpointing;
  // GetRecognitionConfig's answer (server/recognition_config_info).
  lact::asr::v1::GetRecognitionConfigResponse recognition_config;
};

struct ServiceContext {
  const OnlineRecognizer& recognizer;       // the streams' (StreamingRecognize)
  const OnlineRecognizer& clip_recognizer;  // Recognize's (--recognize_*; may be `recognizer`)
  Scheduler* scheduler;
  ServerMetrics* metrics;  // may be null
  CallRegistry* registry;
  const AsrServiceOptions& options;

  // The call's StreamSession for `request` (server/session_config) on `on` (recognizer or
  // clip_recognizer), attached to the call; INVALID_ARGUMENT for a bad setting; the call's abort
  // reason when the shutdown began meanwhile. `max_outbox`: SessionOptions::max_outbox (0 for
  // Recognize).
  absl::StatusOr<std::shared_ptr<StreamSession>> StartSession(
      Call& call, const lact::asr::v1::StreamingRecognitionConfig& request,
      const OnlineRecognizer& on, size_t max_outbox) const;
};

}  // namespace lact::server
