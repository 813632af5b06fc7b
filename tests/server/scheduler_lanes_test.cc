// SchedulerOptions::offline, the lane lact_server gives Recognize: in-process, two recognizers on
// the tiny fixture model (tests/fixtures tiny_group + lact_momentum) share one Scheduler, the
// server tests' streaming window and a long window as Recognize's. Every model call runs the
// windows of one recognizer, at most offline_max_batch of the long ones; each session gets the
// transcript of its audio decoded alone on its own recognizer; and the worker takes the lane
// whose oldest ready stream has waited longest (neither lane starves the other).
#include <torch/torch.h>

#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/streaming/asr_model.h"
#include "core/streaming/online_recognizer.h"
#include "server/scheduler.h"
#include "server/stream_session.h"
#include "tests/server/server_test_util.h"
#include "tests/server/session_test_util.h"

namespace lact::server {
namespace {

constexpr int kRate = 16000;
constexpr uint64_t kFirstClipId = 100;  // sessions of the long-window lane have ids from here

// The model calls the worker ran: each call's session ids, in order.
class BatchLog {
 public:
  void Add(const std::vector<uint64_t>& ids) {
    absl::MutexLock lock(&mu_);
    batches_.push_back(ids);
  }
  std::vector<std::vector<uint64_t>> batches() const {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::vector<uint64_t>> batches_;
};

class SchedulerLanesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);
    auto model = AsrModel::Load(testing::MakeLactModelDir());
    ASSERT_TRUE(model.ok()) << model.status();
    const testing::Window w;
    StreamingConfig streams;
    streams.step_ms = w.step_ms;
    streams.left_context_ms = w.left_context_ms;
    streams.lookahead_ms = w.lookahead_ms;
    streams.first_partial_ms = 0;     // one decode per step: the order test counts them
    StreamingConfig clips = streams;  // as ServerConfig::recognize_window makes it, shorter
    clips.step_ms = 4000;
    clips.left_context_ms = 640;
    clips.lookahead_ms = 640;
    clips.last_window_reaches_back = false;
    auto s = OnlineRecognizer::Create(*model, streams);
    auto c = OnlineRecognizer::Create(*model, clips);
    ASSERT_TRUE(s.ok() && c.ok());
    streams_ = s->release();
    clips_ = c->release();
  }
  static void TearDownTestSuite() {
    delete streams_;
    delete clips_;
  }

  static SessionOptions Options(bool clip) {
    SessionOptions so;
    so.feed_ms = testing::Window{}.step_ms;
    so.interim_results = !clip;  // Recognize shows none
    return so;
  }
  static std::shared_ptr<StreamSession> Open(uint64_t id, Scheduler* scheduler) {
    const bool clip = id >= kFirstClipId;
    return StreamSession::Create(id, clip ? *clips_ : *streams_, scheduler, nullptr, Options(clip));
  }
  static const OnlineRecognizer& RecognizerOf(uint64_t id) {
    return id >= kFirstClipId ? *clips_ : *streams_;
  }

  static OnlineRecognizer* streams_;
  static OnlineRecognizer* clips_;
};
OnlineRecognizer* SchedulerLanesTest::streams_ = nullptr;
OnlineRecognizer* SchedulerLanesTest::clips_ = nullptr;

// Four streams (100 ms messages) and three clips (one message each, as Recognize hands its clip
// over) at once: no model call mixes the lanes, clip calls hold at most offline_max_batch, and
// every session ends with its audio's transcript decoded alone on its own recognizer.
TEST_F(SchedulerLanesTest, EachCallRunsOneRecognizerAndTranscriptsMatchDecodingAlone) {
  BatchLog log;
  SchedulerOptions options;
  options.max_batch = 3;
  options.max_queue_delay = absl::Milliseconds(2);
  options.offline = clips_;
  options.offline_max_batch = 2;
  options.before_decode = [&log](int64_t, const std::vector<uint64_t>& ids) { log.Add(ids); };
  Scheduler scheduler(*streams_, options, nullptr);
  scheduler.Start();
  std::map<uint64_t, std::vector<float>> audio;
  for (uint64_t i = 0; i < 4; ++i)
    audio[1 + i] = testing::SyntheticAudio(2.0 + 0.35 * i, kRate, 200 + i);
  for (uint64_t i = 0; i < 3; ++i) {
    audio[kFirstClipId + i] = testing::SyntheticAudio(9.0 + 1.3 * i, kRate, 300 + i);
  }
  std::map<uint64_t, std::string> text;
  std::map<uint64_t, absl::Status> status;
  absl::Mutex mu;
  std::vector<std::thread> clients;
  for (const auto& [id, samples] : audio) {
    clients.emplace_back([&, id = id, &samples = samples] {
      auto session = Open(id, &scheduler);
      const size_t message = id >= kFirstClipId ? samples.size() : 1600;
      absl::Status s;
      for (size_t at = 0; at < samples.size() && s.ok(); at += message) {
        const size_t end = std::min(samples.size(), at + message);
        s = session->AddAudio(
            kRate, std::vector<float>(samples.begin() + at, samples.begin() + end), absl::Now());
      }
      if (s.ok()) session->FinishInput(absl::Now());
      std::string t;
      if (s.ok()) s = testing::AwaitFinals(*session, &t);
      if (!s.ok()) session->Abort(s);
      absl::MutexLock lock(&mu);
      text[id] = t;
      status[id] = s;
    });
  }
  for (auto& t : clients) t.join();
  scheduler.Stop();

  int clip_calls = 0, stream_calls = 0;
  for (const std::vector<uint64_t>& ids : log.batches()) {
    ASSERT_FALSE(ids.empty());
    const bool clip = ids.front() >= kFirstClipId;
    for (uint64_t id : ids) EXPECT_EQ(id >= kFirstClipId, clip) << "a call mixed the lanes";
    EXPECT_LE(ids.size(), clip ? 2u : 3u);
    ++(clip ? clip_calls : stream_calls);
  }
  EXPECT_GE(clip_calls, 3);  // 9-11.6 s clips in 4 s steps: 3 calls each, 2 clips a call at most
  EXPECT_GT(stream_calls, 0);
  EXPECT_EQ(scheduler.batches_run(), clip_calls + stream_calls);
  int non_empty = 0;
  for (const auto& [id, samples] : audio) {
    ASSERT_TRUE(status[id].ok()) << "session " << id << ": " << status[id];
    EXPECT_EQ(text[id], testing::DecodeAlone(RecognizerOf(id), samples, Options(false).feed_ms))
        << "session " << id;
    non_empty += !text[id].empty();
  }
  EXPECT_GT(non_empty, 0) << "the fixture model should produce some text";
  EXPECT_EQ(StreamSession::live_count(), 0);
}

// With the worker held in its first call (stream 1), a clip (101) becomes ready, then stream 2:
// the clip's call comes next (its lane's oldest waited longest), then stream 2's, then stream 1's
// second step (ready again only after its first). A worker that always served the streams first
// would run 2 and 1 before the clip.
TEST_F(SchedulerLanesTest, TheLaneWhoseOldestWaitedLongestGoesFirst) {
  BatchLog log;
  absl::Notification in_first_call, release;
  SchedulerOptions options;
  options.max_batch = 1;
  options.max_queue_delay = absl::ZeroDuration();
  options.offline = clips_;
  options.offline_max_batch = 1;
  options.before_decode = [&](int64_t index, const std::vector<uint64_t>& ids) {
    log.Add(ids);
    if (index == 0) {
      in_first_call.Notify();
      release.WaitForNotification();
    }
  };
  Scheduler scheduler(*streams_, options, nullptr);
  scheduler.Start();
  // 1 s: one step of 320 ms + 320 ms lookahead is ready at once, the second once it has run.
  const std::vector<float> second = testing::SyntheticAudio(1.0, kRate, 401);
  auto first = Open(1, &scheduler);
  ASSERT_TRUE(first->AddAudio(kRate, second, absl::Now()).ok());
  ASSERT_TRUE(in_first_call.WaitForNotificationWithTimeout(absl::Seconds(60)));
  auto clip = Open(kFirstClipId + 1, &scheduler);
  ASSERT_TRUE(clip->AddAudio(kRate, testing::SyntheticAudio(2.0, kRate, 402), absl::Now()).ok());
  clip->FinishInput(absl::Now());
  auto stream = Open(2, &scheduler);
  ASSERT_TRUE(stream->AddAudio(kRate, second, absl::Now()).ok());
  release.Notify();
  for (auto* s : {first.get(), stream.get()}) s->FinishInput(absl::Now());
  for (auto* s : {first.get(), clip.get(), stream.get()}) {
    std::string text;
    EXPECT_TRUE(testing::AwaitFinals(*s, &text).ok());
  }
  scheduler.Stop();
  const auto batches = log.batches();
  ASSERT_GE(batches.size(), 4u);
  EXPECT_EQ(batches[0], std::vector<uint64_t>{1});
  EXPECT_EQ(batches[1], std::vector<uint64_t>{kFirstClipId + 1});
  EXPECT_EQ(batches[2], std::vector<uint64_t>{2});
  EXPECT_EQ(batches[3], std::vector<uint64_t>{1});
}

}  // namespace
}  // namespace lact::server
