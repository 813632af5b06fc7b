// client/stream_sender: the --simulate_realtime send schedule, with a fake clock (exact) and
// with the real clock (measured), and the send log's lookups used for latency attribution.
#include "client/stream_sender.h"

#include <gtest/gtest.h>

namespace lact::eval {
namespace {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

double Seconds(SteadyClock::duration d) { return duration<double>(d).count(); }

// Virtual time: sleeping jumps to the deadline; writes may advance it to model their cost.
class FakeClock : public Clock {
 public:
  SteadyTime Now() override { return now_; }
  void SleepUntil(SteadyTime deadline) override {
    ++sleeps_;
    if (deadline > now_) now_ = deadline;
  }
  void Advance(SteadyClock::duration d) { now_ += d; }
  int sleeps() const { return sleeps_; }

 private:
  SteadyTime now_ = SteadyTime() + std::chrono::hours(1);
  int sleeps_ = 0;
};

std::vector<EncodedChunk> Chunks(int n, double chunk_s) {
  std::vector<EncodedChunk> chunks;
  for (int k = 0; k < n; ++k) chunks.push_back({std::string(10, 'x'), (k + 1) * chunk_s});
  return chunks;
}

TEST(StreamSender, RealtimeSendsEachChunkWhenItsAudioIsComplete) {
  FakeClock clock;
  SendOptions options;
  options.simulate_realtime = true;
  StreamSender sender(options, &clock);
  SendLog log;
  const SteadyTime start = clock.Now();
  const auto chunks = Chunks(20, 0.1);
  const size_t sent = sender.Send(
      chunks, start,
      [&](const EncodedChunk&) {
        clock.Advance(milliseconds(3));  // each write costs 3 ms
        return true;
      },
      &log);
  EXPECT_EQ(sent, 20u);
  const auto records = log.records();
  ASSERT_EQ(records.size(), 20u);
  for (size_t k = 0; k < records.size(); ++k) {
    // Absolute deadlines: the 3 ms write cost does not accumulate.
    EXPECT_NEAR(Seconds(records[k].sent_at - start), 0.1 * (k + 1), 1e-6) << k;
    EXPECT_DOUBLE_EQ(records[k].audio_end_s, 0.1 * (k + 1));
  }
}

TEST(StreamSender, RealtimeCatchesUpAfterASlowWrite) {
  FakeClock clock;
  SendOptions options;
  options.simulate_realtime = true;
  StreamSender sender(options, &clock);
  SendLog log;
  const SteadyTime start = clock.Now();
  int writes = 0;
  sender.Send(
      Chunks(10, 0.1), start,
      [&](const EncodedChunk&) {
        if (++writes == 2) clock.Advance(milliseconds(350));  // the 2nd write blocks 350 ms
        return true;
      },
      &log);
  const auto r = log.records();
  ASSERT_EQ(r.size(), 10u);
  EXPECT_NEAR(Seconds(r[1].sent_at - start), 0.2, 1e-6);
  // Chunks 3..5 were due at 0.3..0.5 s but the clock is at 0.55 s: sent at once, then back on
  // schedule from chunk 6 (due 0.6 s).
  EXPECT_NEAR(Seconds(r[2].sent_at - start), 0.55, 1e-6);
  EXPECT_NEAR(Seconds(r[4].sent_at - start), 0.55, 1e-6);
  EXPECT_NEAR(Seconds(r[5].sent_at - start), 0.6, 1e-6);
  EXPECT_NEAR(Seconds(r[9].sent_at - start), 1.0, 1e-6);
}

TEST(StreamSender, RealtimeFactorScalesThePace) {
  FakeClock clock;
  SendOptions options;
  options.simulate_realtime = true;
  options.realtime_factor = 2.0;
  StreamSender sender(options, &clock);
  SendLog log;
  const SteadyTime start = clock.Now();
  sender.Send(
      Chunks(4, 0.1), start, [](const EncodedChunk&) { return true; }, &log);
  EXPECT_NEAR(Seconds(log.records().back().sent_at - start), 0.2, 1e-6);
  options.realtime_factor = 0;
  EXPECT_FALSE(options.Validate().ok());
}

TEST(StreamSender, WithoutRealtimeSendsAtOnce) {
  FakeClock clock;
  StreamSender sender(SendOptions{}, &clock);
  SendLog log;
  const SteadyTime start = clock.Now();
  sender.Send(
      Chunks(50, 0.1), start, [](const EncodedChunk&) { return true; }, &log);
  EXPECT_EQ(clock.sleeps(), 0);
  EXPECT_EQ(log.records().back().sent_at, start);
}

TEST(StreamSender, StopsWhenTheWriteFails) {
  FakeClock clock;
  StreamSender sender(SendOptions{}, &clock);
  SendLog log;
  int writes = 0;
  const size_t sent = sender.Send(
      Chunks(10, 0.1), clock.Now(), [&](const EncodedChunk&) { return ++writes < 4; }, &log);
  EXPECT_EQ(sent, 3u);
  EXPECT_EQ(writes, 4);
}

// The real clock: 0.6 s of audio in 50 ms chunks must take 0.6 s, each chunk leaving no earlier
// than its audio is complete and (on a loaded 2-core CI machine) not much later.
TEST(StreamSender, RealClockHoldsTheAudioPace) {
  SendOptions options;
  options.simulate_realtime = true;
  StreamSender sender(options, RealClock());
  SendLog log;
  const SteadyTime start = SteadyClock::now();
  sender.Send(
      Chunks(12, 0.05), start, [](const EncodedChunk&) { return true; }, &log);
  const SteadyTime end = SteadyClock::now();
  const auto r = log.records();
  ASSERT_EQ(r.size(), 12u);
  for (size_t k = 0; k < r.size(); ++k) {
    const double at = Seconds(r[k].sent_at - start);
    EXPECT_GE(at, 0.05 * (k + 1) - 1e-4) << "chunk " << k << " sent early";
    EXPECT_LE(at, 0.05 * (k + 1) + 0.040) << "chunk " << k << " sent late";
  }
  EXPECT_GE(Seconds(end - start), 0.6 - 1e-4);
  EXPECT_LE(Seconds(end - start), 0.7);
}

TEST(SendLog, FindsTheChunkThatCompletedTheAudio) {
  SendLog log;
  SteadyTime t;
  EXPECT_FALSE(log.SendTimeForAudio(0.1, &t));
  const SteadyTime base = SteadyTime() + std::chrono::hours(1);
  for (int k = 0; k < 5; ++k) log.Append({base + milliseconds(100 * (k + 1)), 0.1 * (k + 1)});
  ASSERT_TRUE(log.SendTimeForAudio(0.25, &t));
  EXPECT_EQ(t, base + milliseconds(300));  // chunk [0.2, 0.3) completed 0.25 s
  ASSERT_TRUE(log.SendTimeForAudio(0.3, &t));
  EXPECT_EQ(t, base + milliseconds(300));  // exactly at a chunk's end
  ASSERT_TRUE(log.SendTimeForAudio(0.0, &t));
  EXPECT_EQ(t, base + milliseconds(100));
  ASSERT_TRUE(log.SendTimeForAudio(9.0, &t));
  EXPECT_EQ(t, base + milliseconds(500));  // beyond what was sent: the last chunk
  EXPECT_FALSE(log.LastSendBefore(base, &t));
  ASSERT_TRUE(log.LastSendBefore(base + milliseconds(250), &t));
  EXPECT_EQ(t, base + milliseconds(200));
}

}  // namespace
}  // namespace lact::eval
