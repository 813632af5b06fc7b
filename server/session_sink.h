// What both call handlers (server/streaming_call, server/unary_call) hand their
// StreamRequestHandler: the call's StreamSession as its AudioSink, and the handler's settings
// from the service's options.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/service_context.h"
#include "server/stream_request_handler.h"
#include "server/stream_session.h"

namespace lact::server {

// The call's StreamSession as the StreamRequestHandler's sink. It never waits (a reaction of
// gRPC's callback API must not block: the thread may be the one that would let the stream decode
// on); instead the call decodes no further slice of a message, and reads no message, while the
// session has no room (StreamSession::has_room). The buffer then stays under max_pending_seconds
// plus one slice.
class SessionSink final : public AudioSink {
 public:
  explicit SessionSink(std::shared_ptr<StreamSession> session) : session_(std::move(session)) {}
  absl::Status AddAudio(int sample_rate, const std::vector<float>& samples,
                        absl::Time arrival) override {
    return session_->AddAudio(sample_rate, samples, arrival, /*wait_for_room=*/false);
  }
  void FinishInput(absl::Time when) override { session_->FinishInput(when); }

 private:
  std::shared_ptr<StreamSession> session_;
};

inline StreamRequestSettings RequestSettingsFor(const AsrServiceOptions& options) {
  StreamRequestSettings settings;
  settings.model_sample_rate = options.model_sample_rate;
  settings.max_stream_seconds = options.max_stream_seconds;
  return settings;
}

}  // namespace lact::server
