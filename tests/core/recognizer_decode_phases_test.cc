// OnlineRecognizer::RunModelStep + FinishStep (the server's --decode_threads path): with the
// beam search and an n-gram LM, finishing the streams of each model step on separate threads,
// at once and in reverse order, gives every stream exactly the results (texts, committed texts,
// word times, final flags) of DecodeStreams, step by step; with greedy decoding too.
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/audio/audio_io.h"
#include "core/streaming/online_recognizer.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = LACT_TEST_FIXTURES;

// tiny_group + lact_momentum + the beam-search fixture's LM (the same 32-token vocabulary).
std::shared_ptr<const AsrModel> ModelWithLm() {
  static auto model = [] {
    const std::string dir = testing_util::TinyLactModelDir(kFixtures, "decode_phases_model");
    fs::copy(kFixtures + "/beam_search/language_model", dir + "/language_model",
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    auto m = AsrModel::Load(dir);
    EXPECT_TRUE(m.ok()) << m.status();
    return *m;
  }();
  return model;
}

std::string Describe(const RecognitionResult& r) {
  std::string s = r.text + "|" + r.committed_text + "|" + std::to_string(r.committed_frames) + "|" +
                  (r.is_final ? "final" : "") + "|";
  for (const WordInfo& w : r.words) s += w.word + "@" + std::to_string(w.start_s) + " ";
  return s;
}

// Four streams of one recording at different offsets, fed 3000 samples a round, every ready
// stream decoded together; `threaded` finishes each step's streams on their own threads.
std::vector<std::vector<std::string>> RunStreams(const OnlineRecognizer& rec, bool threaded) {
  auto audio = ReadAudioFile(kFixtures + "/tiny_group/expected_long/input.wav", 16000);
  EXPECT_TRUE(audio.ok()) << audio.status();
  std::vector<std::vector<float>> inputs;
  for (size_t from : {0, 2000, 7000, 20000})
    inputs.emplace_back(audio->begin() + from, audio->end());
  std::vector<std::unique_ptr<OnlineStream>> streams;
  for (size_t i = 0; i < inputs.size(); ++i) streams.push_back(rec.CreateStream());
  std::vector<std::vector<std::string>> seen(inputs.size());
  std::vector<size_t> fed(inputs.size(), 0);
  for (int round = 0; round < 2000; ++round) {
    bool all_final = true;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const size_t n = std::min<size_t>(3000, inputs[i].size() - fed[i]);
      if (n > 0) {
        EXPECT_TRUE(streams[i]->AcceptWaveform(16000, inputs[i].data() + fed[i], n).ok());
        fed[i] += n;
      } else if (!streams[i]->input_finished()) {
        streams[i]->InputFinished();
      }
      all_final = all_final && streams[i]->is_final();
    }
    if (all_final) break;
    std::vector<OnlineStream*> ready;
    for (auto& s : streams) {
      if (rec.IsReady(*s)) ready.push_back(s.get());
    }
    if (ready.empty()) continue;
    if (!threaded) {
      EXPECT_TRUE(rec.DecodeStreams(ready).ok());
    } else {
      auto pending = rec.RunModelStep(ready);
      EXPECT_TRUE(pending.ok()) << pending.status();
      std::vector<std::thread> threads;
      for (auto it = pending->rbegin(); it != pending->rend(); ++it) {
        threads.emplace_back([&rec, step = *it] { rec.FinishStep(step); });
      }
      for (auto& t : threads) t.join();
    }
    for (size_t i = 0; i < streams.size(); ++i) {
      for (OnlineStream* r : ready) {
        if (r == streams[i].get()) seen[i].push_back(Describe(r->result()));
      }
    }
  }
  for (auto& s : streams) EXPECT_TRUE(s->is_final());
  return seen;
}

TEST(RecognizerDecodePhasesTest, FinishingOnThreadsEqualsDecodeStreamsWithBeamSearch) {
  DecodingConfig beam;
  beam.method = "beam";
  beam.beam_size = 16;
  auto rec = OnlineRecognizer::Create(ModelWithLm(), StreamingConfig{}, beam);
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_TRUE((*rec)->beam_search().has_value());
  const auto inline_results = RunStreams(**rec, /*threaded=*/false);
  const auto threaded_results = RunStreams(**rec, /*threaded=*/true);
  ASSERT_EQ(inline_results.size(), threaded_results.size());
  int words = 0;
  for (size_t i = 0; i < inline_results.size(); ++i) {
    ASSERT_GT(inline_results[i].size(), 2u) << "stream " << i << " decoded a few steps";
    EXPECT_EQ(threaded_results[i], inline_results[i]) << "stream " << i;
    words += inline_results[i].back().find('@') != std::string::npos;
  }
  EXPECT_GT(words, 0) << "the beam search put out words (else the comparison says little)";
}

TEST(RecognizerDecodePhasesTest, FinishingOnThreadsEqualsDecodeStreamsGreedy) {
  DecodingConfig greedy;
  greedy.method = "greedy";
  auto rec = OnlineRecognizer::Create(ModelWithLm(), StreamingConfig{}, greedy);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(RunStreams(**rec, /*threaded=*/true), RunStreams(**rec, /*threaded=*/false));
}

}  // namespace
}  // namespace lact
