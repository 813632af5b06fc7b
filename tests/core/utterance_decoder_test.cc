// UtteranceDecoder: a stream's CTC output cut into utterances by the endpointer. Sequences of
// frame ids are built by hand (speech runs separated by blank pauses), so the expected cuts and
// times follow from the rule in endpointing_config.h, not from the code under test.
#include "core/streaming/utterance_decoder.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lact {
namespace {

constexpr double kFrameSeconds = 0.02;

const Vocab& TestVocab() {
  static const Vocab* vocab = [] {
    absl::StatusOr<Vocab> v = Vocab::FromTokens(
        {"<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "H", "C"});
    EXPECT_TRUE(v.ok()) << v.status();
    return new Vocab(std::move(v).value());
  }();
  return *vocab;
}

// Frame ids for `text` (letters and spaces): each letter 2 frames then a blank, a space is a
// delimiter frame.
void AppendSpeech(const std::string& text, std::vector<int64_t>* ids) {
  for (char c : text) {
    if (c == ' ') {
      ids->push_back(TestVocab().word_delimiter_id());
      continue;
    }
    const int64_t id = TestVocab().id(std::string(1, c));
    ids->insert(ids->end(), {id, id, TestVocab().blank_id()});
  }
}
void AppendPause(int frames, std::vector<int64_t>* ids) {
  ids->insert(ids->end(), frames, TestVocab().blank_id());
}

torch::Tensor Ids(const std::vector<int64_t>& ids, size_t from, size_t n) {
  return torch::tensor(std::vector<int64_t>(ids.begin() + from, ids.begin() + from + n),
                       torch::kInt64);
}

// Feeds `ids` in pieces of `piece` frames, then Finish(); returns every utterance.
std::vector<UtteranceResult> Decode(const std::vector<int64_t>& ids, size_t piece,
                                    const EndpointingConfig& config,
                                    std::vector<EndpointEvent>* events = nullptr) {
  UtteranceDecoder d(TestVocab(), nullptr, kFrameSeconds, std::nullopt, {config, false});
  std::vector<UtteranceResult> out;
  for (size_t at = 0; at < ids.size(); at += piece) {
    d.Accept(Ids(ids, at, std::min(piece, ids.size() - at)), torch::Tensor());
    for (auto& u : d.TakeUtterances()) out.push_back(std::move(u));
    if (events != nullptr) {
      for (const auto& e : d.TakeEvents()) events->push_back(e);
    }
  }
  d.Finish();
  for (auto& u : d.TakeUtterances()) out.push_back(std::move(u));
  return out;
}

TEST(UtteranceDecoderTest, PausesCutUtterancesWithStreamTimes) {
  std::vector<int64_t> ids;
  AppendPause(10, &ids);
  const int64_t first_speech = static_cast<int64_t>(ids.size());
  AppendSpeech("THE CAT", &ids);
  const int64_t speech_end = static_cast<int64_t>(ids.size());  // after the last blank
  AppendPause(60, &ids);
  const int64_t second_start = static_cast<int64_t>(ids.size());
  AppendSpeech("A TEN", &ids);
  AppendPause(20, &ids);  // shorter than the 800 ms stop window: ended by the input's end

  EndpointingConfig config;  // defaults: stop = 40 non-speech frames of 40
  std::vector<EndpointEvent> events;
  const std::vector<UtteranceResult> u = Decode(ids, 1, config, &events);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].text, "THE CAT");
  EXPECT_FALSE(u[0].at_input_end);
  EXPECT_FALSE(u[0].forced);
  // The last speech frame is speech_end - 2 (a letter's 2nd frame, then a blank): the stop
  // window is full of non-speech 40 frames later, and the end is the frame after that one.
  EXPECT_EQ(u[0].end_frame, speech_end - 2 + 40 + 1);
  EXPECT_EQ(u[0].speech_start_frame, first_speech);
  EXPECT_DOUBLE_EQ(u[0].start_s, first_speech * kFrameSeconds);
  ASSERT_EQ(u[0].words.size(), 2u);
  EXPECT_DOUBLE_EQ(u[0].words[0].start_s, first_speech * kFrameSeconds);
  EXPECT_EQ(u[1].text, "A TEN");
  EXPECT_TRUE(u[1].at_input_end);
  EXPECT_EQ(u[1].start_frame, u[0].end_frame);
  EXPECT_EQ(u[1].end_frame, static_cast<int64_t>(ids.size()));
  ASSERT_EQ(u[1].words.size(), 2u);
  // Times from the stream's start, not from the utterance's.
  EXPECT_DOUBLE_EQ(u[1].words[0].start_s, second_start * kFrameSeconds);
  EXPECT_DOUBLE_EQ(u[1].start_s, second_start * kFrameSeconds);

  // Events: start, end, start (the second utterance never ends by a pause).
  std::vector<EndpointEvent::Kind> kinds;
  for (const auto& e : events) {
    if (e.kind != EndpointEvent::Kind::kEndOfSpeech) kinds.push_back(e.kind);
  }
  EXPECT_EQ(kinds, (std::vector<EndpointEvent::Kind>{EndpointEvent::Kind::kStart,
                                                     EndpointEvent::Kind::kEnd,
                                                     EndpointEvent::Kind::kStart}));

  // Any split of the frames into steps gives the same utterances.
  for (size_t piece : {7u, 32u, 1000u}) {
    const std::vector<UtteranceResult> v = Decode(ids, piece, config);
    ASSERT_EQ(v.size(), u.size()) << piece;
    for (size_t i = 0; i < u.size(); ++i) {
      EXPECT_EQ(v[i].text, u[i].text) << piece;
      EXPECT_EQ(v[i].end_frame, u[i].end_frame) << piece;
      EXPECT_DOUBLE_EQ(v[i].words.back().end_s, u[i].words.back().end_s) << piece;
    }
  }
}

TEST(UtteranceDecoderTest, OffGivesOneFinalEqualToTheWholeDecode) {
  std::vector<int64_t> ids;
  AppendSpeech("THE CAT ", &ids);  // the delimiter: "CAT" and "A" stay two words
  AppendPause(60, &ids);
  AppendSpeech("A TEN", &ids);
  const std::vector<UtteranceResult> u = Decode(ids, 16, EndpointingConfig::Off());
  ASSERT_EQ(u.size(), 1u);
  EXPECT_TRUE(u[0].at_input_end);
  const CtcResult whole = GreedyDecodeIds(Ids(ids, 0, ids.size()), TestVocab(), kFrameSeconds);
  EXPECT_EQ(u[0].text, whole.text);
  EXPECT_EQ(u[0].text, "THE CAT A TEN");
}

TEST(UtteranceDecoderTest, SilenceGetsOneEmptyFinalAndATrailingPauseNone) {
  std::vector<int64_t> silence;
  AppendPause(200, &silence);
  std::vector<UtteranceResult> u = Decode(silence, 16, EndpointingConfig());
  ASSERT_EQ(u.size(), 1u);  // a stream always ends with a final
  EXPECT_EQ(u[0].text, "");
  EXPECT_TRUE(u[0].at_input_end);

  std::vector<int64_t> ids;
  AppendSpeech("THE CAT", &ids);
  AppendPause(100, &ids);  // ends the utterance; nothing after it
  u = Decode(ids, 16, EndpointingConfig());
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].text, "THE CAT");
  EXPECT_FALSE(u[0].at_input_end);
}

TEST(UtteranceDecoderTest, MaxUtteranceLengthForcesFinalsInEndlessSpeech) {
  std::vector<int64_t> ids;
  while (ids.size() < 400) AppendSpeech("HE ATE ", &ids);  // 8 s of speech, never a pause
  EndpointingConfig config;
  config.max_utterance_seconds = 2;  // 100 frames
  const std::vector<UtteranceResult> u = Decode(ids, 32, config);
  ASSERT_GE(u.size(), 4u);
  for (size_t i = 0; i + 1 < u.size(); ++i) {
    EXPECT_TRUE(u[i].forced) << i;
    EXPECT_FALSE(u[i].text.empty()) << i;
    EXPECT_LE(u[i].end_frame - u[i].start_frame, 100 + 15) << i;  // + the start window
  }
  EXPECT_TRUE(u.back().at_input_end);
}

}  // namespace
}  // namespace lact
