#include "server/session_config.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace lact::server {

namespace pb = lact::asr::v1;

absl::StatusOr<EndpointingConfig> MergeEndpointing(const pb::EndpointingConfig& request,
                                                   const EndpointingConfig& defaults) {
  EndpointingConfig c = defaults;
  if (request.has_enabled()) c.enabled = request.enabled();
  if (request.has_start_history()) c.start_history_ms = request.start_history();
  if (request.has_start_threshold()) c.start_threshold = request.start_threshold();
  if (request.has_stop_history()) c.stop_history_ms = request.stop_history();
  if (request.has_stop_threshold()) c.stop_threshold = request.stop_threshold();
  if (request.has_stop_history_eou()) c.stop_history_eou_ms = request.stop_history_eou();
  if (request.has_stop_threshold_eou()) c.stop_threshold_eou = request.stop_threshold_eou();
  if (request.has_max_utterance_seconds())
    c.max_utterance_seconds = request.max_utterance_seconds();
  if (absl::Status s = c.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RecognitionConfig.endpointing_config: ", s.message()));
  }
  return c;
}

namespace {

// A voice-activity timeout in seconds: >= 0 (0: off), at most a day.
absl::StatusOr<double> TimeoutSeconds(const char* name, const google::protobuf::Duration& d) {
  const double s = static_cast<double>(d.seconds()) + d.nanos() * 1e-9;
  if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() > 999999999 || !(s <= 86400)) {
    return absl::InvalidArgumentError(
        absl::StrCat("StreamingRecognitionConfig.voice_activity_timeout.", name,
                     " must be a duration in [0, 86400] s (0: off), got ", d.seconds(), " s ",
                     d.nanos(), " ns"));
  }
  return s;
}

// RecognitionConfig.speech_contexts compiled for the stream (null when it has none).
absl::StatusOr<std::shared_ptr<const PhraseBoost>> SpeechContexts(
    const pb::RecognitionConfig& c, const AsrServiceOptions& options) {
  // Counted before any is copied: a request of a million phrases costs nothing but the refusal.
  size_t count = 0;
  for (const pb::SpeechContext& context : c.speech_contexts()) {
    count += static_cast<size_t>(context.phrases_size());
  }
  if (count > static_cast<size_t>(options.speech_context_limits.max_phrases)) {
    return absl::InvalidArgumentError(
        absl::StrCat("RecognitionConfig.speech_contexts: ", count, " phrases, more than the ",
                     options.speech_context_limits.max_phrases,
                     " allowed (limits: GetRecognitionConfig's limits)"));
  }
  std::vector<BoostPhrase> phrases;
  phrases.reserve(count);
  for (const pb::SpeechContext& context : c.speech_contexts()) {
    for (const std::string& p : context.phrases()) phrases.push_back({p, context.boost()});
  }
  if (phrases.empty()) return std::shared_ptr<const PhraseBoost>();
  if (!options.beam_search_available || options.vocab == nullptr) {
    return absl::InvalidArgumentError(
        "RecognitionConfig.speech_contexts need the beam search: this server decodes greedily "
        "(--decoder greedy)");
  }
  auto boost = PhraseBoost::Build(phrases, *options.vocab, options.speech_context_limits);
  if (!boost.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RecognitionConfig.speech_contexts: ", boost.status().message(),
                     " (limits: GetRecognitionConfig's limits)"));
  }
  return *std::move(boost);
}

}  // namespace

absl::StatusOr<SessionOptions> SessionOptionsFromRequest(
    const pb::StreamingRecognitionConfig& request, const AsrServiceOptions& options) {
  const pb::RecognitionConfig& config = request.config();
  SessionOptions so;
  so.enable_lact = (config.has_enable_lact() ? config.enable_lact() : options.lact_default) &&
                   options.model_has_lact;
  so.word_times = config.enable_word_time_offsets();
  so.word_confidence = config.enable_word_confidence();
  if (config.max_alternatives() < 0 || config.max_alternatives() > kMaxAlternatives) {
    return absl::InvalidArgumentError(
        absl::StrCat("RecognitionConfig.max_alternatives must be in [0, ", kMaxAlternatives,
                     "] (0: one), got ", config.max_alternatives()));
  }
  so.max_alternatives =
      std::clamp(config.max_alternatives(), 1, std::max(1, options.max_alternatives_cap));
  auto boost = SpeechContexts(config, options);
  if (!boost.ok()) return boost.status();
  so.boost = *std::move(boost);
  so.interim_results = request.interim_results();
  so.feed_ms = options.feed_ms;
  // Early partials exist only to be shown.
  so.first_partial_ms = so.interim_results ? options.first_partial_ms : 0;
  so.max_audio_seconds = options.max_stream_seconds;
  auto endpointing = MergeEndpointing(config.endpointing_config(), options.endpointing);
  if (!endpointing.ok()) return endpointing.status();
  so.endpointing = *endpointing;
  switch (config.lact_scope()) {
    case pb::LACT_SCOPE_STREAM: so.lact_scope = LactScope::kStream; break;
    case pb::LACT_SCOPE_UTTERANCE: so.lact_scope = LactScope::kUtterance; break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("RecognitionConfig.lact_scope: unknown value ",
                                                     static_cast<int>(config.lact_scope())));
  }
  if (request.single_utterance() && !so.endpointing.enabled) {
    return absl::InvalidArgumentError(
        "StreamingRecognitionConfig.single_utterance needs endpointing (endpointing_config."
        "enabled is false)");
  }
  so.single_utterance = request.single_utterance();
  so.speech_events = request.enable_voice_activity_events();
  const auto& timeout = request.voice_activity_timeout();
  auto start = TimeoutSeconds("speech_start_timeout", timeout.speech_start_timeout());
  if (!start.ok()) return start.status();
  auto end = TimeoutSeconds("speech_end_timeout", timeout.speech_end_timeout());
  if (!end.ok()) return end.status();
  so.speech_start_timeout_s = *start;
  so.speech_end_timeout_s = *end;
  return so;
}

}  // namespace lact::server
