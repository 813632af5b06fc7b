#include "tests/server/session_test_util.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "core/streaming/online_recognizer.h"
#include "server/stream_session.h"

namespace lact::server::testing {

absl::Status AwaitFinals(StreamSession& session, std::string* text) {
  uint64_t version = 0;
  while (true) {
    SessionUpdate u;
    absl::Status s = session.WaitForUpdate(version, absl::Now() + absl::Seconds(60), &u);
    if (!s.ok()) return s;
    for (const SessionMessage& m : u.messages) {
      if (m.event != SpeechEvent::kNone || m.result.text.empty()) continue;
      if (!text->empty()) *text += ' ';
      *text += m.result.text;
    }
    if (u.ended) return absl::OkStatus();
    if (u.messages.empty() && u.interim.version == version) {
      return absl::DeadlineExceededError("no result for 60 s");
    }
    version = u.interim.version;
  }
}

std::string DecodeAlone(const OnlineRecognizer& recognizer, const std::vector<float>& audio,
                        int feed_ms) {
  constexpr int kRate = 16000;
  StreamOptions options;
  options.normalizer_block_ms = feed_ms;  // as StreamSession sets it
  auto s = recognizer.CreateStream(options);
  const size_t piece = static_cast<size_t>(kRate * feed_ms / 1000);
  for (size_t at = 0; at < audio.size(); at += piece) {
    EXPECT_TRUE(
        s->AcceptWaveform(kRate, audio.data() + at, std::min(piece, audio.size() - at)).ok());
    while (recognizer.IsReady(*s)) EXPECT_TRUE(recognizer.DecodeStreams({s.get()}).ok());
  }
  s->InputFinished();
  while (!s->is_final()) EXPECT_TRUE(recognizer.DecodeStreams({s.get()}).ok());
  return s->result().committed_text;
}

}  // namespace lact::server::testing
