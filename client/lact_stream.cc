// lact_stream: streams audio files, or raw 16-bit PCM from standard input (a microphone through
// `arecord -f S16_LE -r 16000 -c 1` or `sox -d`), to lact_server in real time and prints what
// comes back: the open utterance's interim text on one refreshing line (on a terminal), and each
// final on its own line with its times. In the manner of Riva's riva_streaming_asr_client
// --print_transcripts and vosk-server's microphone example. See --help.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/server_flags.h"
#include "client/stream_client.h"
#include "core/audio/audio_io.h"
#include "core/flags/flag_names.h"
#include "core/flags/lact_flag.h"
#include "lact/asr/v1/asr.grpc.pb.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(bool, realtime, true, "Send the audio at the pace it plays (false: as fast as the server "
          "takes it)");
ABSL_FLAG(int32_t, pcm_rate, 16000, "Sample rate of raw 16-bit mono PCM read from standard input "
          "(input '-')");
ABSL_FLAG(int32_t, message_ms, 100, "Audio per request message (ms)");
ABSL_FLAG(bool, interim, true, "Show the open utterance's interim text on one refreshing line "
          "(only when standard output is a terminal)");
ABSL_FLAG(bool, events, false, "Ask for voice-activity events and print them as '# ...' lines");
// clang-format on

namespace {

namespace pb = lact::asr::v1;

// Where the audio comes from: a file (any rate, sent at 16 kHz) or raw PCM on standard input.
class AudioSource {
 public:
  virtual ~AudioSource() = default;
  // Appends up to `frames` more samples; false once the input is exhausted.
  virtual absl::StatusOr<bool> Next(int64_t frames, std::vector<int16_t>* out) = 0;
  virtual int sample_rate() const = 0;
};

class FileSource final : public AudioSource {
 public:
  explicit FileSource(std::unique_ptr<lact::AudioFileReader> reader) : reader_(std::move(reader)) {}
  absl::StatusOr<bool> Next(int64_t frames, std::vector<int16_t>* out) override {
    floats_.clear();
    auto more = reader_->Read(frames, &floats_);
    if (!more.ok()) return more.status();
    for (float x : floats_) {
      out->push_back(static_cast<int16_t>(std::lrint(std::clamp(x, -1.0f, 1.0f) * 32767.0f)));
    }
    return *more;
  }
  int sample_rate() const override { return reader_->sample_rate(); }

 private:
  std::unique_ptr<lact::AudioFileReader> reader_;
  std::vector<float> floats_;
};

class StdinSource final : public AudioSource {
 public:
  explicit StdinSource(int rate) : rate_(rate) {}
  absl::StatusOr<bool> Next(int64_t frames, std::vector<int16_t>* out) override {
    std::vector<int16_t> buffer(static_cast<size_t>(frames));
    const size_t n = std::fread(buffer.data(), sizeof(int16_t), buffer.size(), stdin);
    out->insert(out->end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
    if (n < buffer.size() && std::ferror(stdin)) {
      return absl::DataLossError("error reading standard input");
    }
    return n == buffer.size();
  }
  int sample_rate() const override { return rate_; }

 private:
  int rate_;
};

// Prints the responses of one call: interims on one refreshing terminal line, finals as lines
// "[start - end] transcript" (the first word's start to the last word's end; without words, the
// previous final's end to this one's result_end_time).
class Printer {
 public:
  explicit Printer(bool interim) : interim_(interim && isatty(STDOUT_FILENO)) {}

  void Add(const pb::StreamingRecognizeResponse& response) {
    if (response.speech_event_type() != pb::StreamingRecognizeResponse::SPEECH_EVENT_UNSPECIFIED) {
      // The server sends only the events asked for (--events).
      Line(absl::StrFormat(
          "# %s at %.2f s",
          pb::StreamingRecognizeResponse::SpeechEventType_Name(response.speech_event_type()),
          lact::eval::DurationSeconds(response.speech_event_offset())));
      return;
    }
    for (const auto& result : response.results()) {
      const std::string text =
          result.alternatives_size() > 0 ? result.alternatives(0).transcript() : std::string();
      if (!result.is_final()) {
        if (interim_) {
          std::printf("\r\033[K%s", text.c_str());
          std::fflush(stdout);
        }
        continue;
      }
      const double end = lact::eval::DurationSeconds(result.result_end_time());
      double from = last_end_, to = end;
      if (result.alternatives_size() > 0 && result.alternatives(0).words_size() > 0) {
        const auto& words = result.alternatives(0).words();
        from = lact::eval::DurationSeconds(words.begin()->start_time());
        to = lact::eval::DurationSeconds(words.rbegin()->end_time());
      }
      last_end_ = end;
      ++finals_;
      if (!text.empty()) Line(absl::StrFormat("[%7.3f - %7.3f] %s", from, to, text));
    }
  }
  int finals() const { return finals_; }

 private:
  void Line(const std::string& line) {
    if (interim_) std::printf("\r\033[K");
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  const bool interim_;
  double last_end_ = 0;
  int finals_ = 0;
};

pb::StreamingRecognizeRequest ConfigRequest(int rate, lact::LactMode lact) {
  pb::StreamingRecognizeRequest first;
  pb::StreamingRecognitionConfig* s = first.mutable_streaming_config();
  s->set_interim_results(absl::GetFlag(FLAGS_interim));
  s->set_enable_voice_activity_events(absl::GetFlag(FLAGS_events));
  pb::RecognitionConfig* c = s->mutable_config();
  c->set_encoding(pb::LINEAR16);
  c->set_sample_rate_hertz(rate);
  c->set_audio_channel_count(1);
  c->set_enable_word_time_offsets(true);
  if (lact == lact::LactMode::kOn || lact == lact::LactMode::kOff) {
    c->set_enable_lact(lact == lact::LactMode::kOn);
  }
  return first;
}

// One stream: `source` to the server, responses printed as they come. The call's status.
absl::Status StreamOne(const lact::eval::ServerChannel& server, AudioSource& source,
                       lact::LactMode lact) {
  auto stub = pb::StreamingAsr::NewStub(server.channel);
  grpc::ClientContext context;
  lact::eval::AddBearerToken(server.auth_token, &context);
  auto stream = stub->StreamingRecognize(&context);
  Printer printer(absl::GetFlag(FLAGS_interim));
  std::thread reader([&] {
    pb::StreamingRecognizeResponse response;
    while (stream->Read(&response)) printer.Add(response);
  });
  const int rate = source.sample_rate();
  const int64_t frames =
      std::max<int64_t>(1, int64_t{rate} * absl::GetFlag(FLAGS_message_ms) / 1000);
  const bool realtime = absl::GetFlag(FLAGS_realtime);
  absl::Status read_status;
  bool writing = stream->Write(ConfigRequest(rate, lact));
  const absl::Time start = absl::Now();
  int64_t sent = 0;  // samples
  std::vector<int16_t> samples;
  for (bool more = true; writing && more;) {
    samples.clear();
    auto next = source.Next(frames, &samples);
    if (!next.ok()) {
      read_status = next.status();
      break;
    }
    more = *next;
    if (samples.empty()) continue;
    pb::StreamingRecognizeRequest audio;
    audio.set_audio_content(reinterpret_cast<const char*>(samples.data()),
                            samples.size() * sizeof(int16_t));
    writing = stream->Write(audio);
    sent += static_cast<int64_t>(samples.size());
    if (realtime)
      absl::SleepFor(start + absl::Seconds(static_cast<double>(sent) / rate) - absl::Now());
  }
  if (!read_status.ok()) context.TryCancel();
  stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  if (!read_status.ok()) return read_status;
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("the server ended the stream: ", status.error_message()));
  }
  return absl::OkStatus();
}

int Run(int argc, char** argv) {
  const char* const kUsage =
      R"(Streams audio to lact_server and prints each utterance's final as it comes.
Usage: lact_stream [--server HOST:PORT] [--realtime=false] [--events] [--lact auto|on|off]
                   [--use_ssl --ssl_root_cert CA.pem] [--auth_token_file F] FILE... | -
  FILE: WAV/FLAC/... (any rate; sent as 16 kHz LINEAR16); '-': raw 16-bit little-endian mono
  PCM on standard input at --pcm_rate, e.g.
    arecord -f S16_LE -r 16000 -c 1 | lact_stream -
Each final prints as "[start - end] transcript" (seconds from the stream's start); on a terminal
the open utterance's interim text shows on one refreshing line.)";
  std::vector<std::string> inputs = lact::ParseFlags(argc, argv, kUsage);
  if (inputs.empty()) {
    std::cerr << "lact_stream: no input: give audio files, or '-' for PCM on standard input\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_message_ms) < 10 || absl::GetFlag(FLAGS_message_ms) > 10000) {
    std::cerr << "lact_stream: --message_ms must be in [10, 10000]\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_pcm_rate) < 8000 || absl::GetFlag(FLAGS_pcm_rate) > 192000) {
    std::cerr << "lact_stream: --pcm_rate must be in [8000, 192000]\n";
    return 2;
  }
  auto lact = lact::GetLactFlag(lact::LactMode::kAuto,
                                {lact::LactMode::kAuto, lact::LactMode::kOn, lact::LactMode::kOff});
  if (!lact.ok()) {
    std::cerr << "lact_stream: " << lact.status().message() << "\n";
    return 2;
  }
  auto server = lact::eval::ConnectFromFlags("lact_stream");
  if (!server.ok()) {
    std::cerr << "lact_stream: " << server.status().message() << "\n";
    return server.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  int failures = 0;
  for (const std::string& input : inputs) {
    if (inputs.size() > 1) std::printf("== %s\n", input.c_str());
    std::unique_ptr<AudioSource> source;
    if (input == "-") {
      source = std::make_unique<StdinSource>(absl::GetFlag(FLAGS_pcm_rate));
    } else {
      auto reader = lact::AudioFileReader::Open(input, 16000);
      if (!reader.ok()) {
        std::cerr << "lact_stream: " << reader.status().message() << "\n";
        ++failures;
        continue;
      }
      source = std::make_unique<FileSource>(*std::move(reader));
    }
    if (absl::Status s = StreamOne(*server, *source, *lact); !s.ok()) {
      std::cerr << "lact_stream: " << input << ": " << s.message() << "\n";
      ++failures;
    }
  }
  return failures > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
