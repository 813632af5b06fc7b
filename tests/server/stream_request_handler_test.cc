// StreamRequestHandler's messages in slices (server/stream_request_handler.h), what the callback
// StreamingRecognize (server/streaming_call.cc) relies on for backpressure without blocking: an
// audio message decoded by BeginMessage + ContinueMessage, one slice per call, hands the sink the
// same samples as the message decoded at once (OnMessage), for Ogg Opus (256-byte slices) and
// PCM (64 KiB); nothing else is accepted while a message is open. BeginAudio (Recognize's clip,
// not wrapped in a message) is the same as BeginMessage.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "server/stream_request_handler.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

// Keeps what it is given.
class RecordingSink final : public AudioSink {
 public:
  explicit RecordingSink(std::vector<float>* samples) : samples_(samples) {}
  absl::Status AddAudio(int /*sample_rate*/, const std::vector<float>& samples,
                        absl::Time /*arrival*/) override {
    samples_->insert(samples_->end(), samples.begin(), samples.end());
    return absl::OkStatus();
  }
  void FinishInput(absl::Time /*when*/) override {}

 private:
  std::vector<float>* samples_;
};

std::unique_ptr<StreamRequestHandler> MakeHandler(std::vector<float>* samples,
                                                  const pb::RecognitionConfig& config) {
  auto handler = std::make_unique<StreamRequestHandler>(
      StreamRequestSettings{},
      [samples](
          const pb::StreamingRecognitionConfig&) -> absl::StatusOr<std::unique_ptr<AudioSink>> {
        return std::make_unique<RecordingSink>(samples);
      });
  pb::StreamingRecognizeRequest first;
  *first.mutable_streaming_config()->mutable_config() = config;
  EXPECT_TRUE(handler->OnMessage(first, absl::Now()).ok());
  return handler;
}

pb::StreamingRecognizeRequest Audio(const std::string& bytes) {
  pb::StreamingRecognizeRequest r;
  r.set_audio_content(bytes);
  return r;
}

// `bytes` in one message: sliced into `expected_slices` ContinueMessage calls, the same samples
// as OnMessage.
void ExpectSlicedEqualsWhole(const pb::RecognitionConfig& config, const std::string& bytes,
                             size_t expected_slices) {
  std::vector<float> whole, sliced;
  auto a = MakeHandler(&whole, config);
  ASSERT_TRUE(a->OnMessage(Audio(bytes), absl::Now()).ok());
  ASSERT_TRUE(a->OnHalfClose(absl::Now()).ok());

  auto b = MakeHandler(&sliced, config);
  const pb::StreamingRecognizeRequest message = Audio(bytes);
  ASSERT_TRUE(b->BeginMessage(message, absl::Now()).ok());
  size_t slices = 0;
  while (b->message_open()) {
    // Nothing else while the message is open.
    EXPECT_EQ(b->BeginMessage(message, absl::Now()).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(b->OnHalfClose(absl::Now()).code(), absl::StatusCode::kFailedPrecondition);
    absl::StatusOr<bool> done = b->ContinueMessage();
    ASSERT_TRUE(done.ok()) << done.status();
    ++slices;
    EXPECT_EQ(*done, !b->message_open());
  }
  EXPECT_EQ(slices, expected_slices);
  EXPECT_EQ(b->ContinueMessage().status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(b->OnHalfClose(absl::Now()).ok());
  ASSERT_FALSE(whole.empty());
  EXPECT_EQ(sliced, whole);
}

TEST(StreamRequestHandlerTest, OggOpusMessageInSlicesDecodesAsWhole) {
  const std::string ogg = EncodeOggOpus(SyntheticAudio(3.0, 16000, 4), 16000);
  ASSERT_GT(ogg.size(), 1000u);
  ExpectSlicedEqualsWhole(MakeConfig(pb::OGG_OPUS, 0, 0), ogg, (ogg.size() + 255) / 256);
}

TEST(StreamRequestHandlerTest, PcmMessageInSlicesDecodesAsWhole) {
  // 5 s of LINEAR16: 160,000 bytes, 3 slices of 64 KiB; 2 s of FLOAT32: 128,000 bytes, 2.
  ExpectSlicedEqualsWhole(MakeConfig(pb::LINEAR16, 16000),
                          ToLinear16(SyntheticAudio(5.0, 16000, 5)), 3);
  ExpectSlicedEqualsWhole(MakeConfig(pb::FLOAT32, 16000), ToFloat32(SyntheticAudio(2.0, 16000, 6)),
                          2);
}

// Recognize's clip (server/unary_call.cc) is opened with BeginAudio on its bytes: the same
// slices and samples as the clip sent as a stream's message; refused before the config and while
// a message is open; an empty clip delivers nothing and the half-close still succeeds.
TEST(StreamRequestHandlerTest, BeginAudioIsBeginMessageWithoutTheMessage) {
  const pb::RecognitionConfig config = MakeConfig(pb::LINEAR16, 16000);
  const std::string bytes = ToLinear16(SyntheticAudio(5.0, 16000, 7));
  std::vector<float> as_message, as_clip;
  auto a = MakeHandler(&as_message, config);
  ASSERT_TRUE(a->OnMessage(Audio(bytes), absl::Now()).ok());
  ASSERT_TRUE(a->OnHalfClose(absl::Now()).ok());

  auto b = MakeHandler(&as_clip, config);
  ASSERT_TRUE(b->BeginAudio(bytes, absl::Now()).ok());
  EXPECT_EQ(b->BeginAudio(bytes, absl::Now()).code(), absl::StatusCode::kFailedPrecondition);
  int slices = 0;
  while (b->message_open()) {
    ASSERT_TRUE(b->ContinueMessage().ok());
    ++slices;
  }
  EXPECT_EQ(slices, 3);  // 160,000 bytes in 64 KiB slices
  ASSERT_TRUE(b->OnHalfClose(absl::Now()).ok());
  ASSERT_EQ(as_clip.size(), 80000u);
  EXPECT_EQ(as_clip, as_message);

  std::vector<float> none;
  StreamRequestHandler unstarted(
      StreamRequestSettings{},
      [&none](const pb::StreamingRecognitionConfig&) -> absl::StatusOr<std::unique_ptr<AudioSink>> {
        return std::make_unique<RecordingSink>(&none);
      });
  EXPECT_EQ(unstarted.BeginAudio(bytes, absl::Now()).code(), absl::StatusCode::kFailedPrecondition);
  auto empty = MakeHandler(&none, config);
  ASSERT_TRUE(empty->BeginAudio("", absl::Now()).ok());
  while (empty->message_open()) ASSERT_TRUE(empty->ContinueMessage().ok());
  ASSERT_TRUE(empty->OnHalfClose(absl::Now()).ok());
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace lact::server::testing
