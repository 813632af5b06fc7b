// Endpointing through gRPC (issue 19), with the demo model (models/demo) on espeak-ng speech that
// tools/make_synthetic_corpus.py makes at test time: a 4-minute long-form chapter streamed with
// the server's defaults (finals per pause counted from the audio itself, WER against one-final
// mode, bounded responses), single_utterance, voice-activity events and timeouts, Recognize's
// per-utterance results, and bad settings. Audio is fed faster than real time.
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/audio/audio_io.h"
#include "core/corpus/scoring.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

namespace fs = std::filesystem;
using Event = pb::StreamingRecognizeResponse;

constexpr int kRate = 16000;
const std::string kSource = LACT_SOURCE_DIR;

// The server's default window (the demo model is measured at it).
Window DefaultWindow() { return Window{640, 2560, 640}; }

// One long-form chapter of the synthetic corpus: its files in order, their transcripts, and
// the whole chapter's audio (the files back to back).
struct Chapter {
  std::vector<std::vector<float>> files;
  std::string reference;  // every transcript, in order
  std::vector<float> audio;
};

Chapter* MakeChapter() {
  const std::string dir = MakeTempDir("lact_endpointing_");
  const std::string cmd =
      absl::StrCat("/usr/bin/python3 ", kSource, "/tools/make_synthetic_corpus.py --out ", dir,
                   "/synth --long_form --chapters 1 --chapter_minutes 4 --jobs 2 --quiet 2> ", dir,
                   "/corpus.log");
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << "make_synthetic_corpus.py failed: see " << dir << "/corpus.log";
    return nullptr;
  }
  std::vector<std::string> flacs, transcripts;
  for (const auto& e : fs::recursive_directory_iterator(dir + "/synth")) {
    if (e.path().extension() == ".flac") flacs.push_back(e.path().string());
    if (absl::EndsWith(e.path().string(), ".trans.txt")) transcripts.push_back(e.path().string());
  }
  std::sort(flacs.begin(), flacs.end());
  std::map<std::string, std::string> text;  // utterance id -> transcript
  for (const auto& t : transcripts) {
    std::ifstream in(t);
    for (std::string line; std::getline(in, line);) {
      const size_t space = line.find(' ');
      text[line.substr(0, space)] = line.substr(space + 1);
    }
  }
  auto* c = new Chapter;
  for (const auto& f : flacs) {
    auto audio = ReadAudioFile(f, kRate);
    if (!audio.ok()) {
      ADD_FAILURE() << audio.status();
      return nullptr;
    }
    c->audio.insert(c->audio.end(), audio->begin(), audio->end());
    c->files.push_back(std::move(*audio));
    const std::string id = fs::path(f).stem().string();
    absl::StrAppend(&c->reference, c->reference.empty() ? "" : " ", text[id]);
  }
  return c;
}

// Pauses of at least `min_ms` inside `audio` (not before the first sound or after the last),
// judged on the audio alone: 10 ms frames whose energy is within 6 dB of the local noise floor
// (the 10th percentile of frame energies over the surrounding 10 s).
int CountPauses(const std::vector<float>& audio, int min_ms) {
  const size_t hop = kRate / 100;
  std::vector<double> db;
  for (size_t at = 0; at + hop <= audio.size(); at += hop) {
    double e = 0;
    for (size_t i = at; i < at + hop; ++i) e += static_cast<double>(audio[i]) * audio[i];
    db.push_back(10 * std::log10(e / hop + 1e-10));
  }
  const size_t half = 500;  // 5 s on each side
  std::vector<bool> quiet(db.size());
  for (size_t i = 0; i < db.size(); ++i) {
    std::vector<double> w(db.begin() + static_cast<std::ptrdiff_t>(i > half ? i - half : 0),
                          db.begin() + static_cast<std::ptrdiff_t>(std::min(db.size(), i + half)));
    std::nth_element(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(w.size() / 10), w.end());
    quiet[i] = db[i] < w[w.size() / 10] + 6;
  }
  int pauses = 0;
  size_t run = 0;
  bool sound_seen = false;
  for (size_t i = 0; i < quiet.size(); ++i) {
    if (quiet[i]) {
      ++run;
      continue;
    }
    if (sound_seen && run * 10 >= static_cast<size_t>(min_ms)) ++pauses;
    sound_seen = true;
    run = 0;
  }
  return pauses;
}

std::vector<float> Zeros(double seconds) {
  return std::vector<float>(static_cast<size_t>(seconds * kRate), 0.0f);
}

std::vector<float> Concat(std::initializer_list<std::vector<float>> parts) {
  std::vector<float> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// LINEAR16 at 16 kHz in 100 ms messages, sent as fast as the server takes them.
StreamSpec Spec(const std::vector<float>& audio, const pb::StreamingRecognitionConfig& streaming) {
  StreamSpec spec;
  std::vector<std::string> chunks = SplitBytes(ToLinear16(audio), kRate / 10 * 2);
  spec.messages = ConfigThenAudio(streaming.config(), streaming.interim_results(), chunks);
  *spec.messages[0].mutable_streaming_config() = streaming;
  spec.interval = absl::ZeroDuration();
  spec.deadline = absl::Seconds(600);
  return spec;
}

pb::StreamingRecognitionConfig Streaming(bool interim = false) {
  pb::StreamingRecognitionConfig s;
  *s.mutable_config() = MakeConfig(pb::LINEAR16, kRate);
  s.mutable_config()->clear_enable_lact();
  s.set_interim_results(interim);
  return s;
}

double Seconds(const google::protobuf::Duration& d) { return d.seconds() + d.nanos() * 1e-9; }

// The responses as a sequence of tokens: "BEGIN", "END", "EOSU", "TIMEOUT", "final" (interims
// left out).
std::vector<std::string> Sequence(const StreamResult& r) {
  std::vector<std::string> out;
  for (const auto& response : r.responses) {
    switch (response.speech_event_type()) {
      case Event::SPEECH_ACTIVITY_BEGIN: out.push_back("BEGIN"); continue;
      case Event::SPEECH_ACTIVITY_END: out.push_back("END"); continue;
      case Event::END_OF_SINGLE_UTTERANCE: out.push_back("EOSU"); continue;
      case Event::SPEECH_ACTIVITY_TIMEOUT: out.push_back("TIMEOUT"); continue;
      default: break;
    }
    for (const auto& result : response.results()) {
      if (result.is_final()) out.push_back("final");
    }
  }
  return out;
}

class EndpointingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    chapter_ = MakeChapter();
    server_ = new ServerProcess(kSource + "/models/demo", DefaultWindow(),
                                {"--max_stream_seconds=1500", "--metrics_port=-1"});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete chapter_;
  }
  void SetUp() override {
    ASSERT_NE(chapter_, nullptr);
    ASSERT_GE(chapter_->files.size(), 10u);
    ASSERT_TRUE(server_->ok()) << server_->log();
  }
  static StreamResult Run(const std::vector<float>& audio,
                          const pb::StreamingRecognitionConfig& streaming) {
    return RunStream(server_->stub().get(), Spec(audio, streaming));
  }

  static Chapter* chapter_;
  static ServerProcess* server_;
};
Chapter* EndpointingTest::chapter_ = nullptr;
ServerProcess* EndpointingTest::server_ = nullptr;

// Issue 19, acceptance 1.
TEST_F(EndpointingTest, LongFormStreamGetsAFinalPerPauseAtTheSameWer) {
  const int pauses = CountPauses(chapter_->audio, 600);
  ASSERT_GE(chapter_->audio.size(), 240u * kRate);  // >= 4 minutes
  ASSERT_GE(pauses, 20);
  const StreamResult on = Run(chapter_->audio, Streaming(/*interim=*/true));
  ASSERT_TRUE(on.status.ok()) << on.status.error_message();
  ServerProcess off_server(kSource + "/models/demo", DefaultWindow(),
                           {"--max_stream_seconds=1500", "--metrics_port=-1", "--endpointing=off"});
  ASSERT_TRUE(off_server.ok()) << off_server.log();
  const StreamResult off =
      RunStream(off_server.stub().get(), Spec(chapter_->audio, Streaming(/*interim=*/true)));
  ASSERT_TRUE(off.status.ok()) << off.status.error_message();
  EXPECT_EQ(off.finals, 1);

  const double expected = pauses + 1;
  EXPECT_GE(on.finals, 0.8 * expected) << "pauses " << pauses;
  EXPECT_LE(on.finals, 1.2 * expected) << "pauses " << pauses;
  const double wer_on = 100 * eval::ScoreUtterance(chapter_->reference, on.final_transcript).wer();
  const double wer_off =
      100 * eval::ScoreUtterance(chapter_->reference, off.final_transcript).wer();
  // Cutting the stream must not cost accuracy. It may gain some: one beam over the whole 4.5
  // minutes (endpointing off) degrades with the length (docs/language_model.md, "The beam
  // collapses on long streams"; with the general-English LM: 5.1% off vs 4.4% on).
  EXPECT_LE(wer_on, wer_off + 0.5) << "WER on " << wer_on << " off " << wer_off;
  size_t largest = 0, largest_off = 0;
  for (const auto& r : on.responses) largest = std::max(largest, r.ByteSizeLong());
  for (const auto& r : off.responses) largest_off = std::max(largest_off, r.ByteSizeLong());
  EXPECT_LE(largest, 4096u);
  std::cout << "long-form chapter: " << chapter_->audio.size() / kRate << " s, " << pauses
            << " pauses >= 600 ms, " << on.finals << " finals; WER " << wer_on
            << "% (endpointing off: " << wer_off << "%); largest response " << largest
            << " B (off: " << largest_off << " B)\n";
  // Finals come in time order, each with its end in the stream.
  double last_end = 0;
  for (const auto& response : on.responses) {
    for (const auto& result : response.results()) {
      if (!result.is_final()) continue;
      EXPECT_GE(Seconds(result.result_end_time()), last_end);
      last_end = Seconds(result.result_end_time());
    }
  }
}

// Issue 19, acceptance 2: a 20-minute stream (the chapter over and over, fed as fast as the
// server takes it): the server's RSS after 1200 s of acknowledged audio is within 16 MiB of its
// RSS after 120 s, and the largest response of the second half is no larger than the first
// half's (both bounded by an utterance).
TEST_F(EndpointingTest, TwentyMinuteStreamKeepsMemoryAndResponsesFlat) {
  constexpr double kSeconds = 1200;
  pb::StreamingRecognitionConfig s = Streaming(/*interim=*/true);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  auto stub = server_->stub();
  auto stream = stub->StreamingRecognize(&context);
  pb::StreamingRecognizeRequest first;
  *first.mutable_streaming_config() = s;
  ASSERT_TRUE(stream->Write(first));
  int64_t rss_120 = 0, rss_1200 = 0;
  size_t largest_first = 0, largest_second = 0;
  int finals = 0;
  std::thread reader([&] {
    pb::StreamingRecognizeResponse r;
    while (stream->Read(&r)) {
      const double acknowledged = Seconds(r.audio_received());
      if (rss_120 == 0 && acknowledged >= 120) rss_120 = RssBytes(server_->pid());
      if (rss_1200 == 0 && acknowledged >= kSeconds) rss_1200 = RssBytes(server_->pid());
      size_t& largest = acknowledged < kSeconds / 2 ? largest_first : largest_second;
      largest = std::max(largest, r.ByteSizeLong());
      for (const auto& result : r.results()) finals += result.is_final() ? 1 : 0;
    }
  });
  const std::string pcm = ToLinear16(chapter_->audio);
  const size_t message = kRate / 10 * 2;  // 100 ms
  const size_t total = static_cast<size_t>(kSeconds * kRate * 2);
  pb::StreamingRecognizeRequest audio;
  for (size_t sent = 0; sent < total;) {
    const size_t at = sent % pcm.size();
    audio.set_audio_content(pcm.substr(at, std::min({message, pcm.size() - at, total - sent})));
    if (!stream->Write(audio)) break;
    sent += audio.audio_content().size();
  }
  stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GT(rss_120, 0);
  ASSERT_GT(rss_1200, 0);
  std::cout << "20-minute stream: RSS " << rss_120 / 1048576.0 << " MiB at 120 s, "
            << rss_1200 / 1048576.0 << " MiB at 1200 s; " << finals << " finals; largest response "
            << largest_first << " B (first half), " << largest_second << " B (second half)\n";
  EXPECT_LE(rss_1200 - rss_120, int64_t{16} << 20);
  EXPECT_LE(largest_second, largest_first);
  EXPECT_LE(largest_first, 4096u);
  EXPECT_GE(finals, 4 * 40);  // the chapter's ~48 utterances, four times and more
}

// Issue 19, acceptance 4: silence only.
TEST_F(EndpointingTest, SilenceOnlyTimesOutWithoutAFinal) {
  pb::StreamingRecognitionConfig s = Streaming();
  s.set_enable_voice_activity_events(true);
  s.mutable_voice_activity_timeout()->mutable_speech_start_timeout()->set_seconds(2);
  const StreamResult r = Run(Zeros(10), s);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(Sequence(r), std::vector<std::string>{"TIMEOUT"});
  EXPECT_EQ(r.finals, 0);
  EXPECT_NEAR(Seconds(r.responses.back().speech_event_offset()), 2.0, 1e-6);
}

// Issue 19, acceptance 4: speech then silence.
TEST_F(EndpointingTest, SpeechThenSilenceGivesBeginEndAndFinal) {
  pb::StreamingRecognitionConfig s = Streaming();
  s.set_enable_voice_activity_events(true);
  const StreamResult r = Run(Concat({Zeros(1), chapter_->files[0], Zeros(3)}), s);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const std::vector<std::string> seq = Sequence(r);
  ASSERT_GE(seq.size(), 3u);
  ASSERT_EQ(seq.size() % 3, 0u) << absl::StrJoin(seq, " ");
  for (size_t i = 0; i < seq.size(); i += 3) {
    EXPECT_EQ(std::vector<std::string>(seq.begin() + i, seq.begin() + i + 3),
              (std::vector<std::string>{"BEGIN", "END", "final"}))
        << absl::StrJoin(seq, " ");
  }
  EXPECT_FALSE(r.final_transcripts.at(0).empty());
  // The speech begins after the leading second of silence and ends before the final's end.
  const double begin = Seconds(r.responses.front().speech_event_offset());
  EXPECT_GE(begin, 0.9);
  EXPECT_LT(begin, 1.0 + chapter_->files[0].size() / double{kRate});
}

// Issue 19, acceptance 4: the end timeout after speech.
TEST_F(EndpointingTest, SilenceAfterSpeechTimesOutAfterTheLastFinal) {
  pb::StreamingRecognitionConfig s = Streaming();
  s.set_enable_voice_activity_events(true);
  s.mutable_voice_activity_timeout()->mutable_speech_end_timeout()->set_seconds(2);
  const StreamResult r = Run(Concat({chapter_->files[0], Zeros(8), chapter_->files[1]}), s);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const std::vector<std::string> seq = Sequence(r);
  ASSERT_GE(seq.size(), 4u);
  EXPECT_EQ(seq.back(), "TIMEOUT") << absl::StrJoin(seq, " ");
  EXPECT_EQ(seq[seq.size() - 2], "final");
  EXPECT_EQ(seq[seq.size() - 3], "END");
  // The timeout is 2 s of audio after the last END; the second file was never recognised.
  double end_offset = 0, timeout_offset = 0;
  for (const auto& response : r.responses) {
    if (response.speech_event_type() == Event::SPEECH_ACTIVITY_END)
      end_offset = Seconds(response.speech_event_offset());
    if (response.speech_event_type() == Event::SPEECH_ACTIVITY_TIMEOUT)
      timeout_offset = Seconds(response.speech_event_offset());
  }
  EXPECT_NEAR(timeout_offset - end_offset, 2.0, 1e-6);
  EXPECT_LT(timeout_offset, chapter_->files[0].size() / double{kRate} + 8);
}

// Issue 19, acceptance 4: single_utterance.
TEST_F(EndpointingTest, SingleUtteranceEndsTheCallAfterTheFirstFinal) {
  const std::vector<float> audio =
      Concat({chapter_->files[0], Zeros(2), chapter_->files[1], Zeros(2), chapter_->files[2]});
  const StreamResult all = Run(audio, Streaming());
  ASSERT_TRUE(all.status.ok());
  ASSERT_GE(all.finals, 3);
  pb::StreamingRecognitionConfig s = Streaming();
  s.set_single_utterance(true);
  const StreamResult one = Run(audio, s);
  ASSERT_TRUE(one.status.ok()) << one.status.error_message();
  EXPECT_EQ(Sequence(one), (std::vector<std::string>{"EOSU", "final"}));
  ASSERT_EQ(one.final_transcripts.size(), 1u);
  EXPECT_EQ(one.final_transcripts[0], all.final_transcripts[0]);
}

// Issue 19, acceptance 4: bad values name the field.
TEST_F(EndpointingTest, BadSettingsAreInvalidArgumentNamingTheField) {
  struct Case {
    const char* field;
    std::function<void(pb::StreamingRecognitionConfig*)> set;
  };
  const std::vector<Case> cases = {
      {"stop_threshold",
       [](auto* s) { s->mutable_config()->mutable_endpointing_config()->set_stop_threshold(1.5); }},
      {"start_history",
       [](auto* s) { s->mutable_config()->mutable_endpointing_config()->set_start_history(5); }},
      {"stop_history_eou",
       [](auto* s) {
         s->mutable_config()->mutable_endpointing_config()->set_stop_history(300);
         s->mutable_config()->mutable_endpointing_config()->set_stop_history_eou(400);
       }},
      {"max_utterance_seconds",
       [](auto* s) {
         s->mutable_config()->mutable_endpointing_config()->set_max_utterance_seconds(0.5);
       }},
      {"speech_start_timeout",
       [](auto* s) {
         s->mutable_voice_activity_timeout()->mutable_speech_start_timeout()->set_seconds(-1);
       }},
      {"single_utterance",
       [](auto* s) {
         s->set_single_utterance(true);
         s->mutable_config()->mutable_endpointing_config()->set_enabled(false);
       }},
      {"lact_scope",
       [](auto* s) { s->mutable_config()->set_lact_scope(static_cast<pb::LactScope>(7)); }},
  };
  for (const Case& c : cases) {
    pb::StreamingRecognitionConfig s = Streaming();
    c.set(&s);
    const StreamResult r = Run(Zeros(1), s);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_NE(r.status.error_message().find(c.field), std::string::npos)
        << c.field << ": " << r.status.error_message();
  }
}

// Recognize: one result per utterance, and the joined transcript for old clients.
TEST_F(EndpointingTest, RecognizeReturnsOneResultPerUtterance) {
  const std::vector<float> audio =
      Concat({chapter_->files[0], Zeros(2), chapter_->files[1], Zeros(2), chapter_->files[2]});
  pb::RecognizeRequest request;
  *request.mutable_config() = MakeConfig(pb::LINEAR16, kRate);
  request.set_audio_content(ToLinear16(audio));
  pb::RecognizeResponse response;
  grpc::ClientContext context;
  const grpc::Status status = server_->stub()->Recognize(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(response.results_size(), 3);
  std::string joined;
  double last_end = 0;
  for (const auto& result : response.results()) {
    ASSERT_EQ(result.alternatives_size(), 1);
    const std::string& t = result.alternatives(0).transcript();
    if (!t.empty()) absl::StrAppend(&joined, joined.empty() ? "" : " ", t);
    EXPECT_GT(Seconds(result.result_end_time()), last_end);
    last_end = Seconds(result.result_end_time());
  }
  ASSERT_EQ(response.alternatives_size(), 1);
  EXPECT_EQ(response.alternatives(0).transcript(), joined);
  // The same as streaming the clip.
  EXPECT_EQ(joined, Run(audio, Streaming()).final_transcript);
}

}  // namespace
}  // namespace lact::server::testing
