// The send side of one stream: writes pre-encoded audio chunks, paced at the audio's own speed
// with --simulate_realtime (as a microphone would deliver them) or as fast as the transport
// takes them otherwise, and records when each chunk went out so that responses can be matched
// to the audio that caused them (latency as riva_streaming_asr_client measures it).
//
// Schedule: chunk k, covering audio up to `audio_end_s`, is due at start + audio_end_s /
// realtime_factor, i.e. when its last sample would have been captured. Deadlines are absolute
// (from the start), so time lost in one write is made up in the next wait and errors do not
// accumulate over a long stream.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "client/audio_encoder.h"

namespace lact::eval {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;

// Time source for the sender; tests substitute a fake one.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() = 0;
  virtual void SleepUntil(SteadyTime deadline) = 0;
};

// std::chrono::steady_clock and std::this_thread::sleep_until.
Clock* RealClock();

struct SendOptions {
  bool simulate_realtime = false;
  // Audio seconds per wall second when simulating real time (1 = the audio's own pace).
  double realtime_factor = 1.0;

  absl::Status Validate() const;
};

// When one chunk was written and how much of the stream's audio had then been sent.
struct SendRecord {
  SteadyTime sent_at;
  double audio_end_s = 0;  // end of the chunk's audio, from the stream start
};

// Thread-safe record of a stream's sends: the sender appends, the response reader looks up.
class SendLog {
 public:
  void Append(const SendRecord& record);
  // The send time of the first chunk whose audio reaches `audio_s` (the chunk that completed
  // that much audio); the last chunk's time when `audio_s` is beyond everything sent so far;
  // false when nothing was sent.
  bool SendTimeForAudio(double audio_s, SteadyTime* sent_at) const;
  // The send time of the last chunk sent at or before `t`; false when none was.
  bool LastSendBefore(SteadyTime t, SteadyTime* sent_at) const;
  std::vector<SendRecord> records() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<SendRecord> records_ ABSL_GUARDED_BY(mu_);
};

// Writes one chunk; returns false when the stream is broken (the server ended it), which stops
// the sending.
using ChunkWriter = std::function<bool(const EncodedChunk& chunk)>;

class StreamSender {
 public:
  StreamSender(const SendOptions& options, Clock* clock) : options_(options), clock_(clock) {}

  // Sends `chunks` in order through `write`, appending a record to `log` just before each write.
  // `start` is the stream's time origin (the schedule's zero). Returns the number of chunks
  // written (fewer than chunks.size() when `write` failed).
  size_t Send(const std::vector<EncodedChunk>& chunks, SteadyTime start, const ChunkWriter& write,
              SendLog* log) const;

  // When chunk `chunk` is due, relative to `start` (ignores simulate_realtime).
  SteadyTime DueTime(const EncodedChunk& chunk, SteadyTime start) const;

 private:
  SendOptions options_;
  Clock* clock_;
};

}  // namespace lact::eval
