// The model worker under a simulated device out-of-memory (issue 9): in-process, with a real
// OnlineRecognizer on the tiny fixture model (tests/fixtures tiny_group + lact_momentum), a
// Scheduler and StreamSessions exactly as lact_server wires them. A batch whose model step throws
// c10::OutOfMemoryError (injected through SchedulerOptions::before_decode, a test-only hook)
// fails its own streams with RESOURCE_EXHAUSTED; every other stream finishes with exactly the
// transcript it gets with no fault (and decoded alone), and no session is left alive.
#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <atomic>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "core/streaming/asr_model.h"
#include "core/streaming/online_recognizer.h"
#include "server/scheduler.h"
#include "server/stream_session.h"
#include "tests/server/server_test_util.h"
#include "tests/server/session_test_util.h"

namespace lact::server {
namespace {

constexpr int kRate = 16000;
constexpr int kStreams = 6;

struct Outcome {
  absl::Status status;
  std::string transcript;
};

class SchedulerFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);
    auto model = AsrModel::Load(testing::MakeLactModelDir());
    ASSERT_TRUE(model.ok()) << model.status();
    const testing::Window w;  // the window every server test uses
    StreamingConfig config;
    config.step_ms = w.step_ms;
    config.left_context_ms = w.left_context_ms;
    config.lookahead_ms = w.lookahead_ms;
    auto rec = OnlineRecognizer::Create(*model, config);
    ASSERT_TRUE(rec.ok()) << rec.status();
    recognizer_ = rec->release();
    for (int i = 0; i < kStreams; ++i) {
      audio_.push_back(testing::SyntheticAudio(2.0 + 0.35 * i, kRate, 100 + i));
    }
  }
  static void TearDownTestSuite() {
    delete recognizer_;
    recognizer_ = nullptr;
  }

  static std::string DecodeAlone(const std::vector<float>& audio) {
    return testing::DecodeAlone(*recognizer_, audio, testing::Window{}.step_ms);
  }

  // Runs every audio as a concurrent session (ids 1..kStreams) through one Scheduler with
  // `hook`; each session's end status and final transcript, by id.
  static std::map<uint64_t, Outcome> RunSessions(
      std::function<void(int64_t, const std::vector<uint64_t>&)> hook,
      int64_t* oom_batches = nullptr) {
    SchedulerOptions options;
    options.max_batch = 2;  // several batches per step: a fault hits only some streams
    options.max_queue_delay = absl::Milliseconds(2);
    options.before_decode = std::move(hook);
    Scheduler scheduler(*recognizer_, options, nullptr);
    scheduler.Start();
    SessionOptions so;
    so.enable_lact = true;
    so.feed_ms = testing::Window{}.step_ms;
    std::map<uint64_t, Outcome> out;
    absl::Mutex mu;
    std::vector<std::thread> clients;
    for (int i = 0; i < kStreams; ++i) {
      clients.emplace_back([&, i] {
        const uint64_t id = static_cast<uint64_t>(i + 1);
        auto session = StreamSession::Create(id, *recognizer_, &scheduler, nullptr, so);
        const std::vector<float>& audio = audio_[static_cast<size_t>(i)];
        absl::Status s;
        const size_t chunk = 1600;  // 100 ms messages
        for (size_t at = 0; at < audio.size() && s.ok(); at += chunk) {
          std::vector<float> piece(
              audio.begin() + static_cast<std::ptrdiff_t>(at),
              audio.begin() + static_cast<std::ptrdiff_t>(std::min(audio.size(), at + chunk)));
          s = session->AddAudio(kRate, piece, absl::Now());
        }
        if (s.ok()) session->FinishInput(absl::Now());
        std::string text;
        if (s.ok()) s = testing::AwaitFinals(*session, &text);
        if (!s.ok()) session->Abort(s);  // as the RPC handler does when its call ends
        absl::MutexLock lock(&mu);
        out[id] = Outcome{s, text};
      });
    }
    for (auto& t : clients) t.join();
    if (oom_batches != nullptr) *oom_batches = scheduler.out_of_memory_batches();
    scheduler.Stop();
    return out;
  }

  static OnlineRecognizer* recognizer_;
  static std::vector<std::vector<float>> audio_;
};

OnlineRecognizer* SchedulerFaultTest::recognizer_ = nullptr;
std::vector<std::vector<float>> SchedulerFaultTest::audio_;

TEST_F(SchedulerFaultTest, WithoutFaultsEverySessionGetsItsTranscriptAlone) {
  const auto outcomes = RunSessions(nullptr);
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kStreams));
  int non_empty = 0;
  for (int i = 0; i < kStreams; ++i) {
    const Outcome& o = outcomes.at(static_cast<uint64_t>(i + 1));
    ASSERT_TRUE(o.status.ok()) << "session " << i + 1 << ": " << o.status;
    EXPECT_EQ(o.transcript, DecodeAlone(audio_[static_cast<size_t>(i)])) << "session " << i + 1;
    non_empty += !o.transcript.empty();
  }
  EXPECT_GT(non_empty, 0) << "the fixture model should produce some text";
  EXPECT_EQ(StreamSession::live_count(), 0);
}

// What the hook throws, and the code the batch's streams must end with.
struct FaultCase {
  const char* name;
  std::function<void()> raise;
  absl::StatusCode code;
  const char* message_part;
};

class SchedulerFaultCaseTest : public SchedulerFaultTest,
                               public ::testing::WithParamInterface<int> {};

const std::vector<FaultCase>& Cases() {
  static const auto* cases = new std::vector<FaultCase>{
      {"cuda_oom",
       [] {
         TORCH_CHECK_WITH(OutOfMemoryError, false,
                          "CUDA out of memory. Tried to allocate 2.00 GiB (simulated)");
       },
       absl::StatusCode::kResourceExhausted, "out of memory"},
      {"host_bad_alloc", [] { throw std::bad_alloc(); }, absl::StatusCode::kResourceExhausted,
       "out of memory"},
      {"oom_in_a_runtime_error",
       [] { throw std::runtime_error("allocator: out of memory (simulated)"); },
       absl::StatusCode::kResourceExhausted, "out of memory"},
      {"other_error", [] { throw std::runtime_error("simulated kernel failure"); },
       absl::StatusCode::kInternal, "simulated kernel failure"},
  };
  return *cases;
}

TEST_P(SchedulerFaultCaseTest, AFailedBatchEndsOnlyItsStreams) {
  const FaultCase& c = Cases()[static_cast<size_t>(GetParam())];
  SCOPED_TRACE(c.name);
  std::map<uint64_t, std::string> alone;
  for (int i = 0; i < kStreams; ++i)
    alone[static_cast<uint64_t>(i + 1)] = DecodeAlone(audio_[static_cast<size_t>(i)]);

  // Batch 3 fails: by then every session has been decoded at least once (max_batch 2, 6 streams
  // fed concurrently), so the fault hits streams in the middle of their audio.
  constexpr int64_t kFaultyBatch = 3;
  absl::Mutex mu;
  std::set<uint64_t> failed;
  int64_t batches_seen = 0;
  int64_t oom_batches = -1;
  const auto outcomes = RunSessions(
      [&](int64_t batch, const std::vector<uint64_t>& ids) {
        absl::MutexLock lock(&mu);
        batches_seen = std::max(batches_seen, batch + 1);
        if (batch != kFaultyBatch) return;
        failed.insert(ids.begin(), ids.end());
        c.raise();
      },
      &oom_batches);
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kStreams));
  ASSERT_FALSE(failed.empty());
  EXPECT_LT(failed.size(), static_cast<size_t>(kStreams));
  EXPECT_GT(batches_seen, kFaultyBatch + 1) << "the worker must go on after the failed batch";
  EXPECT_EQ(oom_batches, c.code == absl::StatusCode::kResourceExhausted ? 1 : 0);
  for (const auto& [id, o] : outcomes) {
    SCOPED_TRACE(::testing::Message() << "session " << id);
    if (failed.count(id) > 0) {
      EXPECT_EQ(o.status.code(), c.code) << o.status;
      EXPECT_NE(o.status.message().find(c.message_part), std::string::npos) << o.status;
    } else {
      ASSERT_TRUE(o.status.ok()) << o.status;
      EXPECT_EQ(o.transcript, alone.at(id));
    }
  }
  EXPECT_EQ(StreamSession::live_count(), 0);
}

// Backpressure: a client sending faster than the model decodes is held back (AddAudio waits)
// once max_pending_seconds of audio wait for the recognizer; nothing is lost or reordered.
TEST_F(SchedulerFaultTest, AddAudioWaitsWhileTheRecognizerIsFarBehind) {
  const std::vector<float> audio = testing::SyntheticAudio(4.0, kRate, 321);
  SchedulerOptions options;
  Scheduler scheduler(*recognizer_, options, nullptr);  // not started yet: nothing is decoded
  SessionOptions so;
  so.feed_ms = testing::Window{}.step_ms;
  so.max_pending_seconds = 1.0;
  auto session = StreamSession::Create(1, *recognizer_, &scheduler, nullptr, so);
  auto piece = [&](double from_s, double to_s) {
    return std::vector<float>(audio.begin() + static_cast<std::ptrdiff_t>(from_s * kRate),
                              audio.begin() + static_cast<std::ptrdiff_t>(to_s * kRate));
  };
  // 2.5 s at once: taken whole (the first message always is), the stream becomes ready and waits
  // in the queue with most of it pending.
  ASSERT_TRUE(session->AddAudio(kRate, piece(0, 2.5), absl::Now()).ok());
  std::atomic<bool> started{false}, returned{false}, returned_after_start{false};
  std::thread sender([&] {
    EXPECT_TRUE(session->AddAudio(kRate, piece(2.5, 4.0), absl::Now()).ok());
    returned_after_start = started.load();
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(300));  // time for a wrong AddAudio to return
  EXPECT_FALSE(returned.load()) << "AddAudio returned with more than max_pending_seconds waiting";
  started = true;
  scheduler.Start();
  sender.join();
  EXPECT_TRUE(returned_after_start.load());
  session->FinishInput(absl::Now());
  std::string text;
  ASSERT_TRUE(testing::AwaitFinals(*session, &text).ok());
  EXPECT_EQ(text, DecodeAlone(audio));
  scheduler.Stop();
  session.reset();
  EXPECT_EQ(StreamSession::live_count(), 0);
}

// The outbox bound: a client that does not take its finals (the RPC writer stuck in flow
// control) holds its own stream's decoding back once max_outbox messages wait, instead of the
// server queueing finals without end; taking them lets decoding go on, and nothing is lost.
TEST_F(SchedulerFaultTest, UnsentFinalsHoldTheStreamBack) {
  const std::vector<float> audio = testing::SyntheticAudio(12.0, kRate, 777);
  SchedulerOptions options;
  Scheduler scheduler(*recognizer_, options, nullptr);
  scheduler.Start();
  SessionOptions so;
  so.feed_ms = testing::Window{}.step_ms;
  so.max_pending_seconds = 60;  // all the audio is taken at once
  so.max_outbox = 2;
  // An utterance starts at almost any non-blank frame of the tiny random model and is forced to
  // end after 1 s: a final about every second of audio.
  so.endpointing.enabled = true;
  so.endpointing.start_threshold = 0.05;
  so.endpointing.max_utterance_seconds = 1;
  auto session = StreamSession::Create(1, *recognizer_, &scheduler, nullptr, so);
  ASSERT_TRUE(session->AddAudio(kRate, audio, absl::Now()).ok());
  session->FinishInput(absl::Now());
  // Decoding stops while the finals wait: committed frames stop growing short of the end.
  int64_t frames = -1;
  for (int i = 0; i < 100 && session->committed_frames() != frames; ++i) {
    frames = session->committed_frames();
    absl::SleepFor(absl::Milliseconds(300));
  }
  const int64_t total_frames = static_cast<int64_t>(audio.size()) / 320;
  EXPECT_LT(frames, total_frames / 2) << "the stream was decoded on with its finals unsent";
  SessionUpdate first;
  ASSERT_TRUE(session->WaitForUpdate(0, absl::Now(), &first).ok());
  EXPECT_GE(first.messages.size(), 2u);
  EXPECT_LE(first.messages.size(), 3u);  // the bound, plus what the step in progress ended
  EXPECT_FALSE(first.ended);
  // Taking them resumes decoding; every final arrives, the stream ends.
  std::string text;
  for (const SessionMessage& m : first.messages) {
    if (!text.empty() && !m.result.text.empty()) text += ' ';
    text += m.result.text;
  }
  std::string rest;
  ASSERT_TRUE(testing::AwaitFinals(*session, &rest).ok());
  EXPECT_GT(session->committed_frames(), total_frames - 2);
  if (!text.empty() && !rest.empty()) text += ' ';
  text += rest;
  // The same finals as a session whose writer keeps up.
  so.max_outbox = 0;
  auto unbounded = StreamSession::Create(2, *recognizer_, &scheduler, nullptr, so);
  ASSERT_TRUE(unbounded->AddAudio(kRate, audio, absl::Now()).ok());
  unbounded->FinishInput(absl::Now());
  std::string want;
  ASSERT_TRUE(testing::AwaitFinals(*unbounded, &want).ok());
  EXPECT_EQ(text, want);
  EXPECT_FALSE(want.empty());
  scheduler.Stop();
  session.reset();
  unbounded.reset();
  EXPECT_EQ(StreamSession::live_count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Faults, SchedulerFaultCaseTest, ::testing::Range(0, 4),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(Cases()[static_cast<size_t>(info.param)].name);
                         });

}  // namespace
}  // namespace lact::server
