// A stream's last window (OnlineRecognizer::PlanStep once its input has finished) reaches back
// to the steady window's length (left context + step + lookahead), so that a finishing stream
// joins the steady streams' encoder call instead of making one of its own (one call per distinct
// window length), and a step with nothing left to decode makes no encoder call. With
// StreamingConfig::last_window_reaches_back false (Recognize's long windows) it starts
// left_context before its first uncommitted frame, like every other window.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "core/streaming/online_recognizer.h"
#include "tests/core/streaming_test_util.h"

namespace lact {
namespace {

const std::string kFixtures = LACT_TEST_FIXTURES;

std::shared_ptr<const AsrModel> Model() {
  static auto model = testing_util::LoadTinyLactModel(kFixtures, "last_window_model");
  return model;
}

std::vector<float> LongAudio() { return testing_util::LongTestAudio(kFixtures); }

StreamingConfig SmallWindow() { return testing_util::SmallStreamingWindow(); }

double FrameMs() { return Model()->frame_seconds() * 1000.0; }

int64_t SteadyFrames(const StreamingConfig& c) {
  return c.left_frames(FrameMs()) + c.step_frames(FrameMs()) + c.lookahead_frames(FrameMs());
}

int64_t FramesOf(const std::vector<float>& audio) {
  return Model()->encoder().config().NumFrames(static_cast<int64_t>(audio.size()));
}

// Feeds `audio` in 100 ms pieces, decoding while the stream is ready.
void Feed(const OnlineRecognizer& rec, OnlineStream& s, const std::vector<float>& audio) {
  for (size_t at = 0; at < audio.size(); at += 1600) {
    ASSERT_TRUE(
        s.AcceptWaveform(16000, audio.data() + at, std::min<size_t>(1600, audio.size() - at)).ok());
    while (rec.IsReady(s)) ASSERT_TRUE(rec.DecodeStreams({&s}).ok());
  }
}

TEST(LastWindowTest, HasTheSteadyLengthAndReachesBackForIt) {
  const StreamingConfig c = SmallWindow();
  auto rec = *OnlineRecognizer::Create(Model(), c);
  const int64_t steady = SteadyFrames(c), left = c.left_frames(FrameMs());
  // Lengths that leave different remainders after the last steady step.
  for (size_t seconds_x10 : {52, 55, 58, 60}) {
    std::vector<float> audio = LongAudio();
    audio.resize(std::min(audio.size(), seconds_x10 * 1600));
    auto s = rec->CreateStream();
    Feed(*rec, *s, audio);
    s->InputFinished();
    bool reached_back = false;
    while (!s->is_final()) {
      const StepPlan p = rec->PlanStep(*s);
      const int64_t committed = s->result().committed_frames;
      EXPECT_EQ(p.window_end_frame - p.window_start_frame, steady) << seconds_x10;
      EXPECT_LE(p.window_start_frame, std::max<int64_t>(0, committed - left)) << seconds_x10;
      EXPECT_GT(p.commit_end_frame, committed) << seconds_x10;
      reached_back |= p.window_start_frame < committed - left;
      ASSERT_TRUE(rec->DecodeStreams({s.get()}).ok()) << seconds_x10;
    }
    EXPECT_TRUE(reached_back) << seconds_x10 << ": the last window was already steady";
    EXPECT_EQ(s->result().committed_frames, FramesOf(audio)) << seconds_x10;
  }
}

TEST(LastWindowTest, ShorterStreamsStartAtTheirFirstFrame) {
  const StreamingConfig c = SmallWindow();
  auto rec = *OnlineRecognizer::Create(Model(), c);
  std::vector<float> audio = LongAudio();
  audio.resize(9600);  // 0.6 s: fewer frames than a steady window
  auto s = rec->CreateStream();
  Feed(*rec, *s, audio);
  s->InputFinished();
  const StepPlan p = rec->PlanStep(*s);
  EXPECT_EQ(p.window_start_frame, 0);
  EXPECT_EQ(p.window_end_frame, FramesOf(audio));
  EXPECT_LT(p.window_end_frame, SteadyFrames(c));
  while (!s->is_final()) ASSERT_TRUE(rec->DecodeStreams({s.get()}).ok());
}

// A finishing stream and a steady one share one encoder call, and each result is the one the
// stream gets decoded alone.
TEST(LastWindowTest, JoinsTheSteadyStreamsEncoderCall) {
  auto rec = *OnlineRecognizer::Create(Model(), SmallWindow());
  const std::vector<float> audio = LongAudio();
  const std::vector<float> head(audio.begin(), audio.begin() + 4 * 16000 + 700);
  auto steady = rec->CreateStream();
  auto finishing = rec->CreateStream();
  // `steady` has a full step beyond its warm-up waiting; `finishing` has ended.
  Feed(*rec, *steady, head);
  ASSERT_TRUE(steady->AcceptWaveform(16000, audio.data() + head.size(), 8000).ok());
  ASSERT_TRUE(rec->HasFullStep(*steady));
  Feed(*rec, *finishing, head);
  finishing->InputFinished();
  ASSERT_TRUE(rec->IsReady(*finishing));
  const StepPlan sp = rec->PlanStep(*steady), fp = rec->PlanStep(*finishing);
  ASSERT_GT(sp.window_start_frame, 0) << "past its warm-up";
  EncoderStepStats stats;
  auto pending = rec->RunModelStep({steady.get(), finishing.get()}, &stats);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(stats.padding_frames, 0) << "the CPU's auto: one call per length, nothing padded";
  EXPECT_EQ(stats.window_frames, 2 * SteadyFrames(SmallWindow()));
  EXPECT_EQ(stats.calls, 1) << "steady window " << sp.window_end_frame - sp.window_start_frame
                            << " frames, last window "
                            << fp.window_end_frame - fp.window_start_frame;
  for (const PendingStep& p : *pending) rec->FinishStep(p);
  while (!finishing->is_final()) ASSERT_TRUE(rec->DecodeStreams({finishing.get()}).ok());

  auto alone = rec->CreateStream();
  Feed(*rec, *alone, head);
  alone->InputFinished();
  while (!alone->is_final()) ASSERT_TRUE(rec->DecodeStreams({alone.get()}).ok());
  EXPECT_EQ(finishing->result().text, alone->result().text);
  EXPECT_FALSE(alone->result().text.empty());
}

// The whole input at once (a Recognize clip: several last steps, no early partials) plans the
// same windows as real-time pieces, so the final is the same; the audio the last windows reach
// back for is still held.
TEST(LastWindowTest, BurstAndRealTimeFeedingGiveTheSameFinal) {
  const StreamingConfig c = SmallWindow();
  auto rec = *OnlineRecognizer::Create(Model(), c);
  for (size_t samples : {size_t{70000}, size_t{83000}, size_t{96000}}) {
    std::vector<float> audio = LongAudio();
    audio.resize(std::min(audio.size(), samples));
    auto paced = rec->CreateStream();
    Feed(*rec, *paced, audio);
    paced->InputFinished();
    while (!paced->is_final()) ASSERT_TRUE(rec->DecodeStreams({paced.get()}).ok());

    auto burst = rec->CreateStream();
    ASSERT_TRUE(burst->AcceptWaveform(16000, audio.data(), audio.size()).ok());
    burst->InputFinished();
    int last_steps = 0;
    while (!burst->is_final()) {
      const StepPlan p = rec->PlanStep(*burst);
      EXPECT_EQ(p.window_end_frame - p.window_start_frame,
                std::min(SteadyFrames(c), p.window_end_frame))
          << samples;
      last_steps += p.window_end_frame == FramesOf(audio);
      ASSERT_TRUE(rec->DecodeStreams({burst.get()}).ok()) << samples;
    }
    EXPECT_GE(last_steps, 1) << samples;
    EXPECT_EQ(burst->result().text, paced->result().text) << samples;
    EXPECT_FALSE(burst->result().text.empty()) << samples;
  }
}

// Without lookahead, audio that ends on a step boundary is all committed before the input
// finishes: the last step has nothing to decode and makes no encoder call.
TEST(LastWindowTest, NothingLeftMakesNoEncoderCall) {
  StreamingConfig c = SmallWindow();
  c.lookahead_ms = 0;
  auto rec = *OnlineRecognizer::Create(Model(), c);
  const auto& cfg = Model()->encoder().config();
  const int64_t frames = 3 * c.step_frames(FrameMs());
  std::vector<float> audio = LongAudio();
  audio.resize((frames - 1) * cfg.SamplesPerFrame() + cfg.ReceptiveField());
  auto s = rec->CreateStream();
  Feed(*rec, *s, audio);
  ASSERT_EQ(s->result().committed_frames, frames);
  const std::string committed = s->result().committed_text;
  s->InputFinished();
  ASSERT_TRUE(rec->IsReady(*s)) << "the final result is still owed";
  EncoderStepStats stats;
  stats.calls = -1;
  auto pending = rec->RunModelStep({s.get()}, &stats);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(stats.calls, 0);
  EXPECT_EQ(stats.window_frames, 0);
  for (const PendingStep& p : *pending) rec->FinishStep(p);
  EXPECT_TRUE(s->is_final());
  EXPECT_EQ(s->result().text, committed);
}

// Without reaching back, every window of the stream, the last included, starts left_context
// before its first uncommitted frame: the last one is shorter than a steady one, the encoder runs
// fewer frames, and every frame is still committed exactly once.
TEST(LastWindowTest, WithoutReachingBackTheLastWindowKeepsItsLeftContextOnly) {
  StreamingConfig c = SmallWindow();
  c.last_window_reaches_back = false;
  auto rec = *OnlineRecognizer::Create(Model(), c);
  auto reaching = *OnlineRecognizer::Create(Model(), SmallWindow());
  const int64_t steady = SteadyFrames(c), left = c.left_frames(FrameMs());
  for (size_t seconds_x10 : {52, 55, 58}) {
    std::vector<float> audio = LongAudio();
    audio.resize(std::min(audio.size(), seconds_x10 * 1600));
    int64_t encoded[2] = {0, 0};
    for (int r = 0; r < 2; ++r) {
      const OnlineRecognizer& on = r == 0 ? *rec : *reaching;
      auto s = on.CreateStream();
      Feed(on, *s, audio);
      s->InputFinished();
      while (!s->is_final()) {
        const StepPlan p = on.PlanStep(*s);
        const int64_t committed = s->result().committed_frames;
        if (r == 0) {
          EXPECT_EQ(p.window_start_frame, std::max<int64_t>(0, committed - left)) << seconds_x10;
          EXPECT_LT(p.window_end_frame - p.window_start_frame, steady) << seconds_x10;
        }
        EncoderStepStats stats;
        auto pending = on.RunModelStep({s.get()}, &stats);
        ASSERT_TRUE(pending.ok()) << pending.status();
        for (const PendingStep& step : *pending) on.FinishStep(step);
        encoded[r] += stats.window_frames;
      }
      EXPECT_EQ(s->result().committed_frames, FramesOf(audio)) << seconds_x10;
    }
    EXPECT_LT(encoded[0], encoded[1]) << seconds_x10 << ": the last window re-encoded as much";
  }
}

}  // namespace
}  // namespace lact
