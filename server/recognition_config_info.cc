#include "server/recognition_config_info.h"

#include <filesystem>

#include "core/streaming/online_recognizer.h"

namespace lact::server {

namespace pb = lact::asr::v1;

pb::EndpointingConfig EndpointingToProto(const EndpointingConfig& c) {
  pb::EndpointingConfig p;
  p.set_enabled(c.enabled);
  p.set_start_history(c.start_history_ms);
  p.set_start_threshold(static_cast<float>(c.start_threshold));
  p.set_stop_history(c.stop_history_ms);
  p.set_stop_threshold(static_cast<float>(c.stop_threshold));
  p.set_stop_history_eou(c.stop_history_eou_ms);
  p.set_stop_threshold_eou(static_cast<float>(c.stop_threshold_eou));
  p.set_max_utterance_seconds(c.max_utterance_seconds);
  return p;
}

pb::GetRecognitionConfigResponse RecognitionConfigInfo(const OnlineRecognizer& recognizer,
                                                       const ServerConfig& config,
                                                       bool lact_available) {
  const AsrModel& model = recognizer.model();
  pb::GetRecognitionConfigResponse r;
  std::filesystem::path dir(model.dir());
  if (!dir.has_filename()) dir = dir.parent_path();  // "models/demo/"
  r.set_model_name(dir.filename().string());
  r.set_sample_rate_hertz(model.sample_rate());
  r.set_frame_seconds(model.frame_seconds());
  for (int64_t id = 0; id < model.vocab().size(); ++id) r.add_vocabulary(model.vocab().token(id));
  r.set_decoder(recognizer.beam_search() ? "beam" : "greedy");
  r.set_beam_search_on_request(!recognizer.beam_search() && recognizer.BeamSearchAvailable());
  if (const auto& beam = recognizer.beam_search_on_request()) {
    r.set_language_model(model.language_model() != nullptr);
    pb::GetRecognitionConfigResponse::BeamSearch* b = r.mutable_beam_search();
    b->set_beam_size(beam->beam_size);
    b->set_lm_weight(beam->lm_weight);
    b->set_word_score(beam->word_score);
    b->set_token_threshold(beam->token_threshold);
    b->set_unk_penalty(beam->unk_penalty);
  }
  r.set_confidence_calibrated(!recognizer.confidence_calibration().identity());
  r.set_lact_available(lact_available);
  r.set_lact_default(lact_available && config.lact);
  if (lact_available) r.set_lact_config_json(model.lact()->config().ToJson());
  auto* window = r.mutable_streaming_window();
  window->set_step_ms(config.streaming.step_ms);
  window->set_left_context_ms(config.streaming.left_context_ms);
  window->set_lookahead_ms(config.streaming.lookahead_ms);
  const StreamingConfig clips = config.recognize_window();
  auto* recognize = r.mutable_recognize_window();
  recognize->set_step_ms(clips.step_ms);
  recognize->set_left_context_ms(clips.left_context_ms);
  recognize->set_lookahead_ms(clips.lookahead_ms);
  *r.mutable_endpointing() = EndpointingToProto(config.endpointing);
  auto* limits = r.mutable_limits();
  limits->set_max_streams(config.max_streams);
  limits->set_max_streams_per_peer(config.max_streams_per_peer);
  limits->set_max_speech_context_phrases(config.speech_context_limits.max_phrases);
  limits->set_max_speech_context_phrase_chars(config.speech_context_limits.max_phrase_chars);
  limits->set_max_speech_context_boost(config.speech_context_limits.max_abs_boost);
  limits->set_max_stream_seconds(config.max_stream_seconds);
  limits->set_max_message_bytes(config.max_message_bytes);
  limits->set_stream_idle_timeout_seconds(config.stream_idle_timeout_s);
  limits->set_max_batch(config.max_batch);
  r.set_device(model.device().str());
  r.set_dtype(model.encoder().precision().Name());
  return r;
}

}  // namespace lact::server
