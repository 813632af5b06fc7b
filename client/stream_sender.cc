#include "client/stream_sender.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "absl/strings/str_cat.h"

namespace lact::eval {
namespace {

class SteadyClockImpl : public Clock {
 public:
  SteadyTime Now() override { return SteadyClock::now(); }
  void SleepUntil(SteadyTime deadline) override { std::this_thread::sleep_until(deadline); }
};

}  // namespace

Clock* RealClock() {
  static SteadyClockImpl clock;
  return &clock;
}

absl::Status SendOptions::Validate() const {
  if (!(realtime_factor > 0) || !std::isfinite(realtime_factor)) {
    return absl::InvalidArgumentError(
        absl::StrCat("realtime factor must be a positive number, got ", realtime_factor));
  }
  return absl::OkStatus();
}

void SendLog::Append(const SendRecord& record) {
  absl::MutexLock lock(&mu_);
  records_.push_back(record);
}

bool SendLog::SendTimeForAudio(double audio_s, SteadyTime* sent_at) const {
  absl::MutexLock lock(&mu_);
  if (records_.empty()) return false;
  // Tolerate rounding between the server's duration and ours (well under one sample at 16 kHz).
  constexpr double kEpsilonS = 1e-5;
  auto it = std::lower_bound(records_.begin(), records_.end(), audio_s - kEpsilonS,
                             [](const SendRecord& r, double a) { return r.audio_end_s < a; });
  if (it == records_.end()) it = std::prev(records_.end());
  *sent_at = it->sent_at;
  return true;
}

bool SendLog::LastSendBefore(SteadyTime t, SteadyTime* sent_at) const {
  absl::MutexLock lock(&mu_);
  auto it = std::upper_bound(records_.begin(), records_.end(), t,
                             [](SteadyTime a, const SendRecord& r) { return a < r.sent_at; });
  if (it == records_.begin()) return false;
  *sent_at = std::prev(it)->sent_at;
  return true;
}

std::vector<SendRecord> SendLog::records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

SteadyTime StreamSender::DueTime(const EncodedChunk& chunk, SteadyTime start) const {
  const double wall_s = chunk.audio_end_s / options_.realtime_factor;
  return start +
         std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(wall_s));
}

size_t StreamSender::Send(const std::vector<EncodedChunk>& chunks, SteadyTime start,
                          const ChunkWriter& write, SendLog* log) const {
  size_t sent = 0;
  for (const EncodedChunk& chunk : chunks) {
    if (options_.simulate_realtime) {
      const SteadyTime due = DueTime(chunk, start);
      if (clock_->Now() < due) clock_->SleepUntil(due);
    }
    // Logged before the write, so a response to this chunk always finds its record.
    log->Append(SendRecord{clock_->Now(), chunk.audio_end_s});
    if (!write(chunk)) break;
    ++sent;
  }
  return sent;
}

}  // namespace lact::eval
