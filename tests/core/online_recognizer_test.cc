// The streaming recognizer: committed text only grows, memory stays flat on long input, batched
// decoding equals decoding alone, session mode, and input errors.
#include "core/streaming/online_recognizer.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/core/streaming_test_util.h"

namespace lact {
namespace {

const std::string kFixtures = LACT_TEST_FIXTURES;

// tiny_group + the lact_momentum adapter (chunk 16) in one model folder.
std::shared_ptr<const AsrModel> Model() {
  static auto model = testing_util::LoadTinyLactModel(kFixtures, "online_recognizer_model");
  return model;
}

std::vector<float> LongAudio() { return testing_util::LongTestAudio(kFixtures); }

// Feeds `audio` in pieces of `piece` samples, decoding whenever ready; returns every result seen.
std::vector<RecognitionResult> RunStream(const OnlineRecognizer& rec, OnlineStream& s,
                                         const std::vector<float>& audio, size_t piece) {
  std::vector<RecognitionResult> seen;
  for (size_t at = 0; at < audio.size(); at += piece) {
    EXPECT_TRUE(
        s.AcceptWaveform(16000, audio.data() + at, std::min(piece, audio.size() - at)).ok());
    while (rec.IsReady(s)) {
      EXPECT_TRUE(rec.DecodeStreams({&s}).ok());
      seen.push_back(s.result());
    }
  }
  s.InputFinished();
  while (!s.is_final()) {
    EXPECT_TRUE(rec.DecodeStreams({&s}).ok());
    seen.push_back(s.result());
  }
  return seen;
}

StreamingConfig SmallWindow() { return testing_util::SmallStreamingWindow(); }

TEST(OnlineRecognizerTest, CommittedTextOnlyGrowsAndFinalIsStable) {
  auto rec = *OnlineRecognizer::Create(Model(), SmallWindow());
  auto s = rec->CreateStream();
  auto results = RunStream(*rec, *s, LongAudio(), 1234);
  ASSERT_GT(results.size(), 5u);
  for (size_t i = 1; i < results.size(); ++i) {
    const std::string& prev = results[i - 1].committed_text;
    const std::string& cur = results[i].committed_text;
    ASSERT_EQ(cur.compare(0, prev.size(), prev), 0)
        << "step " << i << ": '" << prev << "' -> '" << cur << "'";
    ASSERT_GE(results[i].committed_frames, results[i - 1].committed_frames);
    // Committed words keep their times once a later word exists.
    for (size_t w = 0; w + 1 < results[i - 1].committed_words.size(); ++w) {
      EXPECT_EQ(results[i].committed_words[w].word, results[i - 1].committed_words[w].word);
      EXPECT_DOUBLE_EQ(results[i].committed_words[w].start_s,
                       results[i - 1].committed_words[w].start_s);
    }
  }
  EXPECT_TRUE(results.back().is_final);
  EXPECT_FALSE(results.back().committed_text.empty());
  EXPECT_EQ(results.back().text, results.back().committed_text);
  EXPECT_EQ(results.back().committed_frames,
            Model()->encoder().config().NumFrames(LongAudio().size()));
  // Decoding more after the final changes nothing.
  EXPECT_FALSE(rec->IsReady(*s));
}

TEST(OnlineRecognizerTest, InterimsShowProvisionalTextBeforeTheEnd) {
  auto rec = *OnlineRecognizer::Create(Model(), SmallWindow());
  auto s = rec->CreateStream();
  auto results = RunStream(*rec, *s, LongAudio(), 4800);
  bool saw_provisional = false;
  for (const auto& r : results) {
    if (!r.is_final && r.text.size() > r.committed_text.size()) saw_provisional = true;
  }
  EXPECT_TRUE(saw_provisional);
}

// provisional_text off (the server's Recognize, interim_results off): every result's text is
// its committed text, and the committed texts and the final are those of a stream that decodes
// its lookahead, with greedy decoding and with the beam search.
TEST(OnlineRecognizerTest, WithoutProvisionalTextResultsAreTheCommittedText) {
  for (const char* method : {"greedy", "beam"}) {
    DecodingConfig decoding;
    decoding.method = method;
    auto rec = *OnlineRecognizer::Create(Model(), SmallWindow(), decoding);
    StreamOptions off;
    off.provisional_text = false;
    auto with = rec->CreateStream();
    auto without = rec->CreateStream(off);
    auto a = RunStream(*rec, *with, LongAudio(), 4800);
    auto b = RunStream(*rec, *without, LongAudio(), 4800);
    ASSERT_EQ(a.size(), b.size()) << method;
    bool provisional_seen = false;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(b[i].text, b[i].committed_text) << method << " step " << i;
      EXPECT_EQ(b[i].words.size(), b[i].committed_words.size()) << method << " step " << i;
      EXPECT_EQ(b[i].committed_text, a[i].committed_text) << method << " step " << i;
      provisional_seen |= a[i].text != a[i].committed_text;
    }
    EXPECT_TRUE(provisional_seen) << method << ": the lookahead never showed, nothing was compared";
    EXPECT_TRUE(b.back().is_final);
    EXPECT_EQ(b.back().text, a.back().text) << method;
    EXPECT_FALSE(b.back().text.empty()) << method;
  }
}

TEST(OnlineRecognizerTest, MemoryStaysFlatAsTheInputGrows) {
  // 60 s of audio fed in 100 ms pieces: the audio held never exceeds the window
  // (left context + step + lookahead + one piece + receptive field), however long the stream.
  StreamingConfig c = SmallWindow();
  auto rec = *OnlineRecognizer::Create(Model(), c);
  auto s = rec->CreateStream();
  std::vector<float> base = LongAudio();
  std::vector<float> audio;
  while (audio.size() < 60 * 16000) audio.insert(audio.end(), base.begin(), base.end());
  const size_t piece = 1600;
  const int64_t bound_samples =
      (c.left_context_ms + c.step_ms + c.lookahead_ms) * 16 + piece + 400 + 320;
  int64_t peak_early = 0, peak_late = 0;
  for (size_t at = 0; at < audio.size(); at += piece) {
    ASSERT_TRUE(
        s->AcceptWaveform(16000, audio.data() + at, std::min(piece, audio.size() - at)).ok());
    while (rec->IsReady(*s)) ASSERT_TRUE(rec->DecodeStreams({s.get()}).ok());
    int64_t held = s->buffered_audio_bytes() / 4;
    (at < audio.size() / 3 ? peak_early : peak_late) =
        std::max(at < audio.size() / 3 ? peak_early : peak_late, held);
  }
  EXPECT_LE(peak_late, bound_samples * 2)
      << "capacity may double once; more means the buffer grows";
  EXPECT_LE(peak_late, peak_early * 2 + piece);
  // The fast-weight state is fixed-size too: at most one open chunk of rows on top of a fresh one.
  const auto& lc = Model()->lact()->config();
  const int64_t open_chunk_bytes =
      lc.num_lact_layers * lc.chunk_size * (2 * lc.hidden_size + 4 * lc.num_lact_heads) * 4;
  EXPECT_LE(s->lact_state_bytes(), Model()->lact()->NewState().ByteSize() + open_chunk_bytes);
}

TEST(OnlineRecognizerTest, BatchedStreamsEqualEachAlone) {
  auto rec = *OnlineRecognizer::Create(Model(), SmallWindow());
  std::vector<float> audio = LongAudio();
  // Three streams at different positions and lengths.
  std::vector<std::vector<float>> inputs = {
      audio, std::vector<float>(audio.begin() + 3000, audio.end()),
      std::vector<float>(audio.begin(), audio.begin() + 50000)};
  std::vector<std::string> alone;
  std::vector<torch::Tensor> alone_lact, alone_hidden;
  for (const auto& in : inputs) {
    StreamOptions o;
    o.capture = true;
    auto s = rec->CreateStream(o);
    alone.push_back(RunStream(*rec, *s, in, 4000).back().committed_text);
    alone_lact.push_back(s->captured_lact());
    alone_hidden.push_back(s->captured_hidden());
  }
  StreamOptions o;
  o.capture = true;
  std::vector<std::unique_ptr<OnlineStream>> streams;
  for (size_t i = 0; i < inputs.size(); ++i) streams.push_back(rec->CreateStream(o));
  std::vector<size_t> fed(inputs.size(), 0);
  // Same arrival schedule per stream as alone (a piece, then decode while ready), but every
  // decode runs the ready streams together in one DecodeStreams call.
  for (int round = 0; round < 1000; ++round) {
    bool all_final = true;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (fed[i] < inputs[i].size()) {
        size_t n = std::min<size_t>(4000, inputs[i].size() - fed[i]);
        ASSERT_TRUE(streams[i]->AcceptWaveform(16000, inputs[i].data() + fed[i], n).ok());
        fed[i] += n;
      } else if (!streams[i]->input_finished()) {
        streams[i]->InputFinished();
      }
      all_final = all_final && streams[i]->is_final();
    }
    if (all_final) break;
    for (;;) {
      std::vector<OnlineStream*> ready;
      for (auto& s : streams) {
        if (rec->IsReady(*s)) ready.push_back(s.get());
      }
      if (ready.empty()) break;
      ASSERT_TRUE(rec->DecodeStreams(ready).ok());
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(streams[i]->is_final());
    EXPECT_EQ(streams[i]->result().committed_text, alone[i]) << "stream " << i;
    ASSERT_EQ(streams[i]->captured_lact().sizes(), alone_lact[i].sizes());
    // Equal up to float32 summation order (a batched matmul reduces in another order; LaCT's
    // updates carry such differences forward): max|diff| <= 1e-4 max|ref|.
    const float scale = alone_lact[i].abs().max().item<float>();
    EXPECT_LE((streams[i]->captured_lact() - alone_lact[i]).abs().max().item<float>(),
              1e-4f * scale)
        << "stream " << i << " max diff "
        << (streams[i]->captured_lact() - alone_lact[i]).abs().max().item<float>()
        << " hidden diff "
        << (streams[i]->captured_hidden() - alone_hidden[i]).abs().max().item<float>();
  }
}

TEST(OnlineRecognizerTest, SessionModeKeepsFastWeightsAcrossUtterances) {
  auto rec = *OnlineRecognizer::Create(Model(), SmallWindow());
  std::vector<float> audio = LongAudio();
  for (bool keep : {false, true}) {
    StreamOptions o;
    o.keep_lact_state = keep;
    o.capture = true;
    auto s = rec->CreateStream(o);
    RunStream(*rec, *s, audio, 8000);
    torch::Tensor first = s->captured_lact();
    s->Reset();
    EXPECT_TRUE(s->result().committed_text.empty());
    RunStream(*rec, *s, audio, 8000);
    torch::Tensor second = s->captured_lact();
    // A reset state reproduces the first utterance exactly; a kept (adapted) one does not.
    EXPECT_EQ(torch::equal(first, second), !keep) << "keep_lact_state=" << keep;
  }
}

TEST(OnlineRecognizerTest, LactOffStreamsEqualTheEncoderOutput) {
  auto rec = *OnlineRecognizer::Create(Model(), SmallWindow());
  StreamOptions o;
  o.enable_lact = false;
  o.capture = true;
  auto s = rec->CreateStream(o);
  RunStream(*rec, *s, LongAudio(), 8000);
  EXPECT_EQ(s->lact_state_bytes(), 0);
  EXPECT_TRUE(torch::equal(s->captured_lact(), s->captured_hidden()));
}

TEST(OnlineRecognizerTest, RejectsBadInput) {
  auto rec = *OnlineRecognizer::Create(Model(), SmallWindow());
  auto s = rec->CreateStream();
  std::vector<float> x(1000, 0.1f);
  ASSERT_TRUE(s->AcceptWaveform(8000, x.data(), x.size()).ok());  // resampled
  EXPECT_EQ(s->AcceptWaveform(16000, x.data(), x.size()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s->AcceptWaveform(8000, x.data(), 0).code(), absl::StatusCode::kOk);
  s->InputFinished();
  EXPECT_EQ(s->AcceptWaveform(8000, x.data(), x.size()).code(),
            absl::StatusCode::kFailedPrecondition);
  auto bad = rec->CreateStream();
  EXPECT_EQ(bad->AcceptWaveform(50, x.data(), x.size()).code(), absl::StatusCode::kInvalidArgument);
  StreamingConfig c;
  c.step_ms = 0;
  EXPECT_FALSE(OnlineRecognizer::Create(Model(), c).ok());
  // A stream too short for one frame ends final with empty text.
  auto tiny = rec->CreateStream();
  ASSERT_TRUE(tiny->AcceptWaveform(16000, x.data(), 100).ok());
  tiny->InputFinished();
  ASSERT_TRUE(rec->IsReady(*tiny));
  ASSERT_TRUE(rec->DecodeStreams({tiny.get()}).ok());
  EXPECT_TRUE(tiny->is_final());
  EXPECT_EQ(tiny->result().committed_text, "");
}

// Endpointing that cuts the tiny random model's output often: an utterance starts at almost any
// non-blank frame and is forced to end after 1 s.
EndpointingConfig FrequentEndpoints() {
  EndpointingConfig c;
  c.start_threshold = 0.05;
  c.max_utterance_seconds = 1;
  return c;
}

// RunStream's schedule, keeping every finished utterance, each frame where the LaCT state was
// reset (LactScope::kUtterance) and each end decision's frame.
std::vector<UtteranceResult> RunUtterances(const OnlineRecognizer& rec, OnlineStream& s,
                                           const std::vector<float>& audio,
                                           std::vector<int64_t>* resets,
                                           std::vector<int64_t>* ends = nullptr) {
  std::vector<UtteranceResult> out;
  const auto decode = [&] {
    EXPECT_TRUE(rec.DecodeStreams({&s}).ok());
    for (auto& u : s.TakeUtterances()) out.push_back(std::move(u));
    for (const auto& e : s.TakeEvents()) {
      if (ends != nullptr && e.kind == EndpointEvent::Kind::kEnd) ends->push_back(e.frame);
    }
    const int64_t r = s.last_lact_reset_frame();
    if (r >= 0 && (resets->empty() || resets->back() != r)) resets->push_back(r);
  };
  const size_t piece = 4000;
  for (size_t at = 0; at < audio.size(); at += piece) {
    EXPECT_TRUE(
        s.AcceptWaveform(16000, audio.data() + at, std::min(piece, audio.size() - at)).ok());
    while (rec.IsReady(s)) decode();
  }
  s.InputFinished();
  while (!s.is_final()) decode();
  return out;
}

TEST(OnlineRecognizerTest, StreamScopeLactIgnoresEndpoints) {
  auto rec = *OnlineRecognizer::Create(Model(), SmallWindow());
  StreamOptions off;
  off.capture = true;
  auto plain = rec->CreateStream(off);
  std::vector<int64_t> resets;
  const auto one = RunUtterances(*rec, *plain, LongAudio(), &resets);
  ASSERT_EQ(one.size(), 1u);
  StreamOptions on = off;
  on.endpointing = FrequentEndpoints();
  auto cut = rec->CreateStream(on);
  const auto many = RunUtterances(*rec, *cut, LongAudio(), &resets);
  ASSERT_GE(many.size(), 3u);  // the endpoints happened
  EXPECT_TRUE(resets.empty());
  // The fast weights depend on the audio alone: the same LaCT output, bit for bit.
  EXPECT_TRUE(torch::equal(cut->captured_lact(), plain->captured_lact()));
  // Utterances tile the stream in order.
  for (size_t i = 1; i < many.size(); ++i) {
    EXPECT_EQ(many[i].start_frame, many[i - 1].end_frame);
    EXPECT_GE(many[i].start_s, many[i - 1].start_s);
  }
}

TEST(OnlineRecognizerTest, UtteranceScopeLactRestartsAtEachEndpoint) {
  auto rec = *OnlineRecognizer::Create(Model(), SmallWindow());
  StreamOptions o;
  o.capture = true;
  o.endpointing = FrequentEndpoints();
  o.lact_scope = LactScope::kUtterance;
  auto s = rec->CreateStream(o);
  std::vector<int64_t> resets, ends;
  RunUtterances(*rec, *s, LongAudio(), &resets, &ends);
  ASSERT_GE(resets.size(), 2u);
  // Each reset is at the first committed frame of the step after an end decision (a step is
  // 15 frames here).
  for (int64_t r : resets) {
    bool after_an_end = false;
    for (int64_t e : ends) after_an_end |= e <= r && r - e < 15;
    EXPECT_TRUE(after_an_end) << r;
  }
  const torch::Tensor hidden = s->captured_hidden(), lact = s->captured_lact();
  // From a reset frame on (up to the next one), the output is that of a fresh state fed the
  // same encoder frames.
  const int64_t r0 = resets[0], r1 = resets[1];
  LactState fresh = Model()->lact()->NewState();
  torch::InferenceMode guard;
  auto ys = Model()->lact()->Forward({&fresh}, {hidden.narrow(0, r0, r1 - r0)});
  ASSERT_TRUE(ys.ok()) << ys.status();
  const torch::Tensor want = (*ys)[0], got = lact.narrow(0, r0, r1 - r0);
  const float scale = want.abs().max().item<float>();
  EXPECT_LE((got - want).abs().max().item<float>(), 1e-4f * scale);
  // Without the reset the same frames give another output (the state had adapted).
  LactState carried = Model()->lact()->NewState();
  auto zs = Model()->lact()->Forward({&carried}, {hidden.narrow(0, 0, r1)});
  ASSERT_TRUE(zs.ok());
  EXPECT_GT(((*zs)[0].narrow(0, r0, r1 - r0) - want).abs().max().item<float>(), 1e-3f * scale);
}

}  // namespace
}  // namespace lact

namespace lact {
namespace {

// Early partials (StreamingConfig::first_partial_ms): before the first step, provisional-only
// decodes each time 100 ms more audio has arrived; they commit nothing, so with the same pieces
// fed the committed results, the final words and every committed frame's logits are bit-identical
// to decoding without them. LaCT streams (their state only peeked by the early decodes).
TEST(OnlineRecognizerTest, EarlyPartialsComeBeforeTheFirstStepAndCommitNothing) {
  const std::vector<float> audio = LongAudio();
  StreamingConfig plain_config = SmallWindow();  // first step after 300 + 200 ms of audio
  plain_config.first_partial_ms = 0;
  StreamingConfig early_config = plain_config;
  early_config.first_partial_ms = 100;
  auto plain_rec = *OnlineRecognizer::Create(Model(), plain_config);
  auto early_rec = *OnlineRecognizer::Create(Model(), early_config);
  StreamOptions o;
  o.capture = true;
  auto plain = plain_rec->CreateStream(o);
  auto early = early_rec->CreateStream(o);
  const std::vector<RecognitionResult> a = RunStream(*plain_rec, *plain, audio, 800);
  const std::vector<RecognitionResult> b = RunStream(*early_rec, *early, audio, 800);
  // The early decodes: audio < 500 ms, nothing committed; the first once 100 ms of frames have
  // arrived (5 frames: the 150 ms piece, the conv stack's receptive field being 25 ms).
  std::vector<RecognitionResult> early_results, committing;
  for (const RecognitionResult& r : b)
    (r.committed_frames == 0 ? early_results : committing).push_back(r);
  ASSERT_GE(early_results.size(), 3u);
  EXPECT_NEAR(early_results[0].audio_seconds, 0.15, 1e-9);
  for (const RecognitionResult& r : early_results) {
    EXPECT_LT(r.audio_seconds, 0.5);
    EXPECT_EQ(r.committed_text, "");
  }
  EXPECT_FALSE(early_results.back().text.empty());  // provisional text before the first step
  for (const RecognitionResult& r : a) EXPECT_GE(r.audio_seconds, 0.5);
  // Every committing decode is the plain run's, in order; the final and the frames are equal.
  ASSERT_EQ(committing.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(committing[i].committed_frames, a[i].committed_frames) << i;
    EXPECT_EQ(committing[i].committed_text, a[i].committed_text) << i;
    EXPECT_EQ(committing[i].text, a[i].text) << i;
  }
  EXPECT_TRUE(b.back().is_final);
  EXPECT_EQ(b.back().words.size(), a.back().words.size());
  EXPECT_TRUE(torch::equal(early->captured_logits(), plain->captured_logits()));
  EXPECT_TRUE(torch::equal(early->captured_lact(), plain->captured_lact()));
  // A negative value is refused.
  early_config.first_partial_ms = -1;
  EXPECT_FALSE(OnlineRecognizer::Create(Model(), early_config).ok());
}

}  // namespace
}  // namespace lact
