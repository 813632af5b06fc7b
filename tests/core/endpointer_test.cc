// The endpointing rule (core/endpointing): hand-built frame sequences (20 ms frames) with the
// event frames worked out from the rule's definition in endpointing_config.h.
#include "core/endpointing/endpointer.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lact {
namespace {

using Kind = EndpointEvent::Kind;

// Runs of frames: {speech?, count}.
std::vector<bool> Frames(std::initializer_list<std::pair<bool, int>> runs) {
  std::vector<bool> out;
  for (const auto& [speech, n] : runs) out.insert(out.end(), n, speech);
  return out;
}

std::vector<EndpointEvent> Endpoints(const EndpointingConfig& config,
                                     const std::vector<bool>& frames) {
  Endpointer ep(config, 20.0);
  std::vector<EndpointEvent> events;
  ep.Accept(frames, &events);
  return events;
}

std::string Describe(const std::vector<EndpointEvent>& events) {
  std::string s;
  for (const auto& e : events) {
    s += e.kind == Kind::kStart ? "start@" : e.kind == Kind::kEnd ? "end@" : "eos@";
    s += std::to_string(e.frame) + (e.forced ? "(forced) " : " ");
  }
  return s;
}

TEST(Endpointer, SilenceOnlyHasNoEvents) {
  EXPECT_TRUE(Endpoints(EndpointingConfig{}, Frames({{false, 5000}})).empty());
}

TEST(Endpointer, OneUtteranceBetweenSilences) {
  // Defaults: start 3 of 15 frames, end-of-speech 12 of 12 silent, end 40 of 40 silent (39.2).
  const auto events =
      Endpoints(EndpointingConfig{}, Frames({{false, 50}, {true, 100}, {false, 100}}));
  // Speech frames 50..149: the third speech frame (52) starts it, reported at the first (50);
  // silence from 150: 12 silent frames -> end of speech after frame 161, 40 -> end after 189.
  EXPECT_EQ(Describe(events), "start@50 eos@162 end@190 ");
}

TEST(Endpointer, AnySplitOfTheFramesGivesTheSameEvents) {
  const std::vector<bool> frames = Frames(
      {{false, 30}, {true, 70}, {false, 20}, {true, 45}, {false, 60}, {true, 5}, {false, 90}});
  const std::string whole = Describe(Endpoints(EndpointingConfig{}, frames));
  for (size_t piece : {1u, 7u, 32u, 33u}) {
    Endpointer ep(EndpointingConfig{}, 20.0);
    std::vector<EndpointEvent> events;
    for (size_t at = 0; at < frames.size(); at += piece) {
      const size_t n = std::min(piece, frames.size() - at);
      ep.Accept(std::vector<bool>(frames.begin() + at, frames.begin() + at + n), &events);
    }
    EXPECT_EQ(Describe(events), whole) << "pieces of " << piece;
    EXPECT_EQ(ep.frames(), static_cast<int64_t>(frames.size()));
  }
}

TEST(Endpointer, APauseShorterThanTheStopWindowDoesNotEndTheUtterance) {
  // A 400 ms pause (20 frames) inside speech: end of speech is signalled, the utterance goes on.
  const auto events =
      Endpoints(EndpointingConfig{}, Frames({{false, 20}, {true, 60}, {false, 20}, {true, 60}}));
  EXPECT_EQ(Describe(events), "start@20 eos@92 ");
}

TEST(Endpointer, OneSpeechFrameInThePauseDelaysTheEndUntilItLeavesTheWindow) {
  // Silence 100..199 except frame 120: 40 silent frames in a row only after frame 160.
  auto frames = Frames({{false, 50}, {true, 50}, {false, 100}});
  frames[120] = true;
  const auto events = Endpoints(EndpointingConfig{}, frames);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, Kind::kEnd);
  EXPECT_EQ(events.back().frame, 161);  // frames 121..160 are the first 40 silent ones
}

TEST(Endpointer, SpeechThatNeverPausesIsCutAtMaxUtteranceSeconds) {
  EndpointingConfig c;
  c.max_utterance_seconds = 2;  // 100 frames
  const auto events = Endpoints(c, Frames({{false, 10}, {true, 300}}));
  // The start rule needs a full window in the current state: frames 0..14 (speech from 10)
  // start it at decision frame 15, reported at 10; forced end 100 frames later (115); a new
  // window of 15 speech frames starts the next at 130 (reported at 115), forced at 230, and so on.
  EXPECT_EQ(Describe(events), "start@10 end@115(forced) start@115 end@230(forced) start@230 ");
}

TEST(Endpointer, ThresholdsAndWindowsFollowTheConfig) {
  EndpointingConfig c;
  c.start_history_ms = 200;  // 10 frames
  c.start_threshold = 0.5;   // 5 speech frames
  c.stop_history_ms = 400;   // 20 frames
  c.stop_threshold = 0.9;    // 18 silent frames of 20
  c.stop_history_eou_ms = 100;
  // Alternating speech/silence never has 5 speech frames in 10 ... until 6 speech in a row.
  std::vector<bool> frames;
  for (int i = 0; i < 40; ++i) frames.push_back(i % 3 == 0);  // 1 in 3: at most 4 of 10
  auto rest = Frames({{true, 30}, {false, 18}, {true, 2}, {false, 30}});
  frames.insert(frames.end(), rest.begin(), rest.end());
  const auto events = Endpoints(c, frames);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().kind, Kind::kStart);
  // Speech 40..69, silence 70..87: the 20-frame window ending at frame 87 holds speech 68, 69
  // and 18 silent frames: 18 of 20 = 0.9, enough -> end after frame 87 (the defaults, 0.98 of
  // 40 frames, would need 40 silent frames in a row).
  EXPECT_EQ(events.back().kind, Kind::kEnd);
  EXPECT_EQ(events.back().frame, 88);
  EXPECT_EQ(Describe(Endpoints(EndpointingConfig{}, frames)).find("end@88"), std::string::npos);
}

TEST(EndpointingConfig, DefaultsAreValidAndBadValuesNameTheField) {
  EXPECT_TRUE(EndpointingConfig{}.Validate().ok());
  auto error = [](auto mutate) {
    EndpointingConfig c;
    mutate(c);
    return std::string(c.Validate().message());
  };
  EXPECT_NE(error([](auto& c) { c.start_history_ms = 0; }).find("start_history"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c.stop_history_ms = 20000; }).find("stop_history"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c.start_threshold = 0; }).find("start_threshold"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c.stop_threshold = 1.5; }).find("stop_threshold"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c.stop_threshold_eou = std::nan(""); }).find("stop_threshold_eou"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c.stop_history_eou_ms = 1000; }).find("stop_history_eou"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c.max_utterance_seconds = 0.5; }).find("max_utterance_seconds"),
            std::string::npos);
  EXPECT_TRUE(error([](auto& c) { c.max_utterance_seconds = 0; }).empty());
}

}  // namespace
}  // namespace lact
