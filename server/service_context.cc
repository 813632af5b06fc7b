#include "server/service_context.h"

#include "server/call_registry.h"
#include "server/stream_session.h"

namespace lact::server {

absl::StatusOr<std::shared_ptr<StreamSession>> ServiceContext::StartSession(
    Call& call, const lact::asr::v1::RecognitionConfig& config) const {
  SessionOptions so;
  so.enable_lact = (config.has_enable_lact() ? config.enable_lact() : options.lact_default) &&
                   options.model_has_lact;
  so.word_times = config.enable_word_time_offsets();
  so.feed_ms = options.feed_ms;
  so.max_audio_seconds = options.max_stream_seconds;
  auto session = StreamSession::Create(call.id, recognizer, scheduler, metrics, so);
  absl::MutexLock lock(&call.mu);
  if (!call.abort_status.ok()) return call.abort_status;  // shutdown began meanwhile
  call.session = session;
  return session;
}

}  // namespace lact::server
