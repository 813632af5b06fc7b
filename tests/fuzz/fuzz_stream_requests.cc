// Fuzz target: the request sequence of a StreamingRecognize call (server/stream_request_handler.cc,
// what StreamingCall (server/streaming_call.cc) runs for every message, a slice at a time, and for
// the half-close; OnMessage here runs the same BeginMessage + ContinueMessage):
// config first, its validation, the decoder it creates, audio_content messages of every encoding,
// messages in the wrong place, a second config, the half-close, a cancel. No gRPC: the handler is
// driven directly, with the real audio decoders (server/{audio,pcm,opus,ogg_opus}_decoder.cc) and
// the protobuf messages of proto/lact/asr/v1/asr.proto.
//
// The session is not a real StreamSession (that needs LibTorch, a model and the scheduler's
// threads, which would bring the rate from thousands of inputs per second to a few): it is a
// RecordingSink that keeps StreamSession::AddAudio's contract (the --max_stream_seconds rule and
// its OUT_OF_RANGE message, one sample rate per call, nothing after FinishInput) and checks what
// the handler hands it.
//
// Input layout (tests/fuzz/make_seed_corpus.py writes seeds in it):
//   byte 0  bits 0-1: the model's rate, kModelRates; bits 2-3: --max_stream_seconds,
//           kMaxSeconds (small limits, so that short inputs reach them); bit 4: the session
//           factory fails (UNAVAILABLE, as when shutdown begins meanwhile); bit 5: the call ends
//           with a cancel (the handler is dropped) instead of a half-close; bit 7: repair the CRC
//           of every Ogg page in an audio message (see fuzz_audio_decoder.cc)
//   then operations, each one byte (% 5) and its operands, until the input ends:
//     0 config     4 bytes: encoding (kEncodings, incl. unknown values), sample_rate_hertz
//                  (kRates), audio_channel_count ((int8_t) % 4), flags (bit 0: no config inside
//                  streaming_config, 1: interim_results, 2: enable_word_time_offsets,
//                  3: enable_lact set, 4: its value)
//     1 audio      a length byte L (255: the rest of the input), then L bytes of audio_content
//     2 raw        a length byte L, then L bytes parsed as a serialized StreamingRecognizeRequest
//                  (bytes that do not parse are skipped: gRPC would have failed the call)
//     3 empty      a request with neither streaming_config nor audio_content
//     4 half-close OnHalfClose now (later operations must then be refused)
//   at the end OnHalfClose, unless bit 5 of byte 0 says cancel.
//
// Checks beyond "no crash, no sanitizer report": every error is a clean absl::Status (a known
// code and a non-empty message); the first error ends the call (every later call returns it and
// the sink sees nothing more); a config is accepted only first and only when valid; the sink gets
// non-empty batches of finite samples at one rate > 0, nothing after FinishInput, FinishInput
// exactly when the half-close succeeds; the audio accepted never exceeds --max_stream_seconds;
// and no message decodes to much more than the stream has left (an Ogg Opus bomb).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "lact/asr/v1/asr.pb.h"
#include "server/stream_request_handler.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace pb = lact::asr::v1;
using lact::server::StreamRequestHandler;

constexpr int kModelRates[] = {16000, 48000, 8000, 44100};
constexpr double kMaxSeconds[] = {1, 0.25, 600, 0.02};
constexpr int kEncodings[] = {
    pb::ENCODING_UNSPECIFIED, pb::LINEAR16, pb::FLOAT32, pb::OGG_OPUS, pb::OPUS, 5, -1, 1 << 30};
constexpr int kRates[] = {0,     8000,  12000,  16000, 24000,  48000,
                          44100, 22050, 192000, 7999,  192001, -16000};
// The most one Opus packet decodes to (120 ms at 48 kHz).
constexpr int64_t kMaxOpusPacketSamples = 5760;

// What the harness knows about the call, shared with the sink.
struct Record {
  double max_seconds = 0;
  int rate = 0;          // of the first batch
  int64_t accepted = 0;  // samples accepted
  int64_t batches = 0;
  bool finished = false;      // FinishInput called
  bool refused = false;       // AddAudio returned an error
  int64_t message_bytes = 0;  // size of the audio_content being handled (0: the half-close)
};

// StreamSession::AddAudio's contract without the model.
class RecordingSink final : public lact::server::AudioSink {
 public:
  explicit RecordingSink(Record* record) : r_(record) {}
  absl::Status AddAudio(int sample_rate, const std::vector<float>& samples, absl::Time) override {
    LACT_FUZZ_CHECK(!r_->finished);
    LACT_FUZZ_CHECK(!r_->refused);  // the first error ends the call
    LACT_FUZZ_CHECK(!samples.empty());
    LACT_FUZZ_CHECK(sample_rate > 0);
    if (r_->rate == 0) r_->rate = sample_rate;
    LACT_FUZZ_CHECK(sample_rate == r_->rate);  // one decoder per call: one rate
    for (float v : samples) LACT_FUZZ_CHECK(std::isfinite(v));
    // No message decodes to much more than the stream has left: PCM gives at most bytes / 2
    // samples (+ a frame carried over), raw Opus one packet; beyond that only what the limit
    // still allows (an Ogg Opus message of tiny 120 ms packets would otherwise be a memory bomb).
    const auto n = static_cast<int64_t>(samples.size());
    const int64_t allowance =
        lact::server::SampleAllowance(r_->max_seconds, sample_rate, r_->accepted);
    LACT_FUZZ_CHECK(n <= r_->message_bytes / 2 + 8 || n <= kMaxOpusPacketSamples || n <= allowance);
    ++r_->batches;
    // StreamSession::AddAudio's rule and message.
    if (static_cast<double>(r_->accepted + n) / sample_rate > r_->max_seconds) {
      r_->refused = true;
      return lact::server::StreamDurationError(r_->max_seconds);
    }
    r_->accepted += n;
    return absl::OkStatus();
  }
  void FinishInput(absl::Time) override {
    LACT_FUZZ_CHECK(!r_->finished);
    LACT_FUZZ_CHECK(!r_->refused);
    r_->finished = true;
  }

 private:
  Record* r_;
};

// A clean error: a code the handler may give and a message for the client.
void CheckError(const absl::Status& s, bool factory_fails) {
  LACT_FUZZ_CHECK(!s.message().empty());
  const absl::StatusCode c = s.code();
  LACT_FUZZ_CHECK(c == absl::StatusCode::kInvalidArgument || c == absl::StatusCode::kOutOfRange ||
                  c == absl::StatusCode::kFailedPrecondition ||
                  (factory_fails && c == absl::StatusCode::kUnavailable));
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  // A length byte, then that many bytes (255 or past the end: the rest of the input).
  std::string Bytes() {
    size_t len = Byte();
    if (len == 255 || len > size_ - pos_) len = size_ - pos_;
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Reader in(data, size);
  const uint8_t head = in.Byte();
  lact::server::StreamRequestSettings settings;
  settings.model_sample_rate = kModelRates[head & 3];
  settings.max_stream_seconds = kMaxSeconds[(head >> 2) & 3];
  const bool factory_fails = (head & 0x10) != 0;
  const bool cancel = (head & 0x20) != 0;
  const bool repair_crcs = (head & 0x80) != 0;

  Record record;
  record.max_seconds = settings.max_stream_seconds;
  int factory_calls = 0;
  StreamRequestHandler handler(
      settings,
      [&](const pb::StreamingRecognitionConfig& config)
          -> absl::StatusOr<std::unique_ptr<lact::server::AudioSink>> {
        ++factory_calls;
        LACT_FUZZ_CHECK(lact::server::AudioFormatFromConfig(config.config()).ok());  // validated
        if (factory_fails) return absl::UnavailableError("the server is shutting down");
        return std::make_unique<RecordingSink>(&record);
      });

  // LACT_FUZZ_VERBOSE=1: print every handler call's result (to see what a seed reaches).
  static const bool verbose = std::getenv("LACT_FUZZ_VERBOSE") != nullptr;
  absl::Status first_error;  // the error that ended the call
  bool half_closed = false;
  absl::Time now = absl::UnixEpoch();
  // Runs one handler call and checks its result against what came before.
  auto after = [&](const absl::Status& s, bool was_started) {
    if (!first_error.ok()) {  // ended: the same error again, nothing else touched
      LACT_FUZZ_CHECK(s == first_error);
      return;
    }
    if (s.ok()) {
      LACT_FUZZ_CHECK(handler.status().ok());
      LACT_FUZZ_CHECK(handler.started());
      return;
    }
    CheckError(s, factory_fails);
    if (s.code() == absl::StatusCode::kFailedPrecondition) {  // a call after the half-close
      LACT_FUZZ_CHECK(half_closed);
      return;
    }
    LACT_FUZZ_CHECK(handler.status() == s);
    LACT_FUZZ_CHECK(handler.started() == was_started);
    first_error = s;
  };
  auto on_message = [&](const pb::StreamingRecognizeRequest& request, int64_t audio_bytes) {
    now += absl::Milliseconds(20);
    const bool was_started = handler.started();
    const bool was_ok = first_error.ok() && !half_closed;
    record.message_bytes = audio_bytes;
    const absl::Status s = handler.OnMessage(request, now);
    if (verbose) {
      std::fprintf(stderr, "  OnMessage(%s, %lld bytes of audio): %s\n",
                   request.has_streaming_config() ? "streaming_config"
                   : request.has_audio_content()  ? "audio_content"
                                                  : "empty",
                   static_cast<long long>(audio_bytes), s.ToString().c_str());
    }
    after(s, was_started);
    if (!was_ok) return;
    if (!was_started) {
      // Only a first message with a valid config starts the call.
      const bool valid =
          request.has_streaming_config() && request.streaming_config().has_config() &&
          lact::server::AudioFormatFromConfig(request.streaming_config().config()).ok();
      LACT_FUZZ_CHECK(s.ok() == (valid && !factory_fails));
      LACT_FUZZ_CHECK(factory_calls == (valid ? 1 : 0));
    } else if (!request.has_audio_content()) {
      LACT_FUZZ_CHECK(s.code() ==
                      absl::StatusCode::kInvalidArgument);  // a second config, or nothing
    }
    LACT_FUZZ_CHECK(factory_calls <= 1);
  };
  auto on_half_close = [&] {
    now += absl::Milliseconds(20);
    const bool was_started = handler.started();
    const bool was_ok = first_error.ok() && !half_closed;
    record.message_bytes = 0;
    const absl::Status s = handler.OnHalfClose(now);
    if (verbose) {
      std::fprintf(stderr, "  OnHalfClose: %s (accepted %lld samples at %d Hz)\n",
                   s.ToString().c_str(), static_cast<long long>(record.accepted), record.rate);
    }
    after(s, was_started);
    if (was_ok) {
      LACT_FUZZ_CHECK(s.ok() == record.finished);
      if (!was_started)
        LACT_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument);  // no config
      half_closed = half_closed || s.ok();
    }
  };

  while (!in.empty()) {
    pb::StreamingRecognizeRequest request;
    switch (in.Byte() % 5) {
      case 0: {
        pb::RecognitionConfig config;
        const int encoding = kEncodings[in.Byte() % (sizeof kEncodings / sizeof kEncodings[0])];
        config.set_encoding(static_cast<pb::AudioEncoding>(encoding));
        config.set_sample_rate_hertz(kRates[in.Byte() % (sizeof kRates / sizeof kRates[0])]);
        config.set_audio_channel_count(static_cast<int8_t>(in.Byte()) % 4);
        const uint8_t flags = in.Byte();
        if (flags & 8) config.set_enable_lact((flags & 16) != 0);
        config.set_enable_word_time_offsets((flags & 4) != 0);
        pb::StreamingRecognitionConfig* sc = request.mutable_streaming_config();
        sc->set_interim_results((flags & 2) != 0);
        if (!(flags & 1)) *sc->mutable_config() = config;
        on_message(request, 0);
        break;
      }
      case 1: {
        std::string audio = in.Bytes();
        if (repair_crcs) lact::fuzz::RepairOggCrcs(&audio);
        const auto bytes = static_cast<int64_t>(audio.size());
        request.set_audio_content(std::move(audio));
        on_message(request, bytes);
        break;
      }
      case 2: {
        if (!request.ParseFromString(in.Bytes())) break;
        on_message(request, static_cast<int64_t>(request.audio_content().size()));
        break;
      }
      case 3: on_message(request, 0); break;
      case 4: on_half_close(); break;
    }
  }
  if (!cancel) on_half_close();

  // What the handler counted is what the sink accepted, and never past the limit.
  LACT_FUZZ_CHECK(handler.accepted_samples() == record.accepted);
  if (record.rate > 0) {
    LACT_FUZZ_CHECK(static_cast<double>(record.accepted) / record.rate <=
                    settings.max_stream_seconds);
  }
  if (record.finished) LACT_FUZZ_CHECK(half_closed && first_error.ok());
  if (!first_error.ok()) LACT_FUZZ_CHECK(!record.finished);
  return 0;
}
