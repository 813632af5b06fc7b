// Fuzz target: the server's audio input path (server/audio_decoder.cc, pcm_decoder.cc,
// opus_decoder.cc, ogg_opus_decoder.cc): what a client's RecognitionConfig and audio_content
// messages go through before any model work. Driven like asr_service.cc drives it:
// AudioFormat::Validate + CreateAudioDecoder for the declared format, Decode for every
// audio_content message until the first error, Finish at the client's half-close.
//
// Input layout (tests/fuzz/make_seed_corpus.py writes seeds in it):
//   byte 0  encoding: % 5 -> UNSPECIFIED, LINEAR16, FLOAT32, OGG_OPUS, OPUS
//   byte 1  sample_rate_hertz: index into kRates (% size)
//   byte 2  audio_channel_count: (int8_t) value % 4 (negative and 3 are invalid)
//   byte 3  bits 0-6: the model's rate (preferred_rate), index into kPreferred (% size);
//           bit 7: repair the CRC of every Ogg page in the audio before decoding (libogg drops a
//           page whose CRC is wrong, so without this almost every mutation of an Ogg seed would
//           stop at the page layer and never reach the Opus header and packet code)
//   then messages: one length byte L, then L bytes; L = 255 means "the rest of the input".
// Every decoded sample must be finite.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/audio_decoder.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

constexpr int kRates[] = {0,     8000,  12000,  16000, 24000,  48000,
                          44100, 22050, 192000, 7999,  192001, -16000};
constexpr int kPreferred[] = {16000, 48000, 8000, 44100};
constexpr lact::server::AudioEncoding kEncodings[] = {
    lact::server::AudioEncoding::kUnspecified, lact::server::AudioEncoding::kLinear16,
    lact::server::AudioEncoding::kFloat32, lact::server::AudioEncoding::kOggOpus,
    lact::server::AudioEncoding::kOpus};

void CheckFinite(const std::vector<float>& samples, size_t from) {
  for (size_t i = from; i < samples.size(); ++i) LACT_FUZZ_CHECK(std::isfinite(samples[i]));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  lact::server::AudioFormat format;
  format.encoding = kEncodings[data[0] % 5];
  format.sample_rate_hertz = kRates[data[1] % (sizeof kRates / sizeof kRates[0])];
  format.channel_count = static_cast<int8_t>(data[2]) % 4;
  const int preferred = kPreferred[(data[3] & 0x7f) % (sizeof kPreferred / sizeof kPreferred[0])];
  const bool repair_crcs = (data[3] & 0x80) != 0;
  (void)format.ToString();
  auto decoder = lact::server::CreateAudioDecoder(format, preferred);
  if (!decoder.ok()) {
    LACT_FUZZ_CHECK(!format.Validate().ok());
    return 0;
  }
  lact::server::AudioDecoder& d = **decoder;
  // The audio_content messages: their bytes back to back in `audio`, and their lengths.
  std::string audio;
  std::vector<size_t> lengths;
  for (size_t pos = 4; pos < size;) {
    size_t len = data[pos++];
    if (len == 255 || len > size - pos) len = size - pos;
    audio.append(reinterpret_cast<const char*>(data + pos), len);
    lengths.push_back(len);
    pos += len;
  }
  if (repair_crcs && format.encoding == lact::server::AudioEncoding::kOggOpus)
    lact::fuzz::RepairOggCrcs(&audio);
  std::vector<float> out;
  size_t offset = 0;
  for (size_t len : lengths) {
    const size_t before = out.size();
    absl::Status s = d.Decode(std::string_view(audio).substr(offset, len), &out);
    offset += len;
    if (!s.ok()) {
      LACT_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument);
      return 0;  // an error leaves the decoder unusable: the server ends the stream
    }
    CheckFinite(out, before);
    LACT_FUZZ_CHECK(out.empty() || d.sample_rate() > 0);
  }
  const size_t before = out.size();
  absl::Status s = d.Finish(&out);
  if (s.ok())
    CheckFinite(out, before);
  else
    LACT_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  return 0;
}
