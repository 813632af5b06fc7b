#include "server/service_context.h"

#include "server/call_registry.h"
#include "server/session_config.h"
#include "server/stream_session.h"

namespace lact::server {

absl::StatusOr<std::shared_ptr<StreamSession>> ServiceContext::StartSession(
    Call& call, const lact::asr::v1::StreamingRecognitionConfig& request,
    const OnlineRecognizer& on, size_t max_outbox) const {
  absl::StatusOr<SessionOptions> so = SessionOptionsFromRequest(request, options);
  if (!so.ok()) return so.status();
  so->max_outbox = max_outbox;
  auto session = StreamSession::Create(call.id, on, scheduler, metrics, *so);
  absl::MutexLock lock(&call.mu);
  if (!call.abort_status.ok()) return call.abort_status;  // shutdown began meanwhile
  call.session = session;
  return session;
}

}  // namespace lact::server
