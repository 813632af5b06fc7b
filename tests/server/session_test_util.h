// In-process helpers for tests that drive StreamSessions through a Scheduler directly (no gRPC):
// waiting for a session's finals, and the transcript of an audio decoded alone.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace lact {
class OnlineRecognizer;
}

namespace lact::server {

class StreamSession;

namespace testing {

// Waits for the session's finals until the stream ends (60 s without any update: an error) and
// joins their transcripts with spaces.
absl::Status AwaitFinals(StreamSession& session, std::string* text);

// `audio` (16 kHz) decoded alone on `recognizer`, fed as `lact_transcribe --streaming` feeds it
// (pieces of `feed_ms`, decoding while ready): the committed transcript.
std::string DecodeAlone(const OnlineRecognizer& recognizer, const std::vector<float>& audio,
                        int feed_ms);

}  // namespace testing
}  // namespace lact::server
