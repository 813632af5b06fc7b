#include "core/tools/transcribe/transcription.h"

#include "absl/strings/str_cat.h"
#include "core/audio/audio_io.h"

namespace lact {
namespace {

// Offline: the whole clip at once (its attention spans all of it: memory grows with the square
// of the length, hence --max_offline_seconds).
absl::StatusOr<Decoded> TranscribeOffline(const OnlineRecognizer& rec,
                                          const std::vector<float>& audio,
                                          const TranscribeSettings& s) {
  auto r = rec.DecodeOffline(audio, s.use_lact, s.max_alternatives, s.boost);
  if (!r.ok()) return r.status();
  Decoded d;
  d.ctc = r->ctc;
  d.hidden = r->hidden, d.lact_out = r->lact, d.logits = r->logits;
  UtteranceResult whole;  // the clip is one utterance
  whole.text = d.ctc.text;
  whole.words = d.ctc.words;
  whole.confidence = d.ctc.confidence;
  whole.alternatives = std::move(r->alternatives);
  whole.end_frame = d.logits.size(0);
  whole.end_s = static_cast<double>(whole.end_frame) * rec.model().frame_seconds();
  whole.start_s = whole.words.empty() ? 0.0 : whole.words.front().start_s;
  whole.at_input_end = true;
  d.utterances.push_back(std::move(whole));
  return d;
}

// Streaming: the audio in pieces of --step-ms through the streaming window (the server's code),
// read from the file a block at a time: memory stays flat however long the file is.
class StreamingTranscription {
 public:
  StreamingTranscription(const OnlineRecognizer& rec, const TranscribeSettings& s) : rec_(rec) {
    StreamOptions options;
    options.enable_lact = s.use_lact;
    options.capture = s.dumping;
    options.endpointing = s.endpointing;
    options.lact_scope = s.lact_scope;
    options.max_alternatives = s.max_alternatives;
    options.boost = s.boost;
    stream_ = rec.CreateStream(options);
    piece_ = static_cast<size_t>(rec.model().sample_rate()) * rec.config().step_ms / 1000;
  }
  // Feeds whole pieces of `audio` (at the model's rate), keeping the rest for the next call.
  absl::Status Feed(const std::vector<float>& audio) {
    pending_.insert(pending_.end(), audio.begin(), audio.end());
    size_t at = 0;
    for (; pending_.size() - at >= piece_; at += piece_) {
      if (auto s = FeedPiece(pending_.data() + at, piece_); !s.ok()) return s;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(at));
    return absl::OkStatus();
  }
  absl::StatusOr<Decoded> Finish() {
    if (!pending_.empty()) {
      if (auto s = FeedPiece(pending_.data(), pending_.size()); !s.ok()) return s;
    }
    stream_->InputFinished();
    while (!stream_->is_final()) {
      if (auto s = Decode(); !s.ok()) return s;
    }
    Decoded d;
    d.utterances = std::move(utterances_);
    for (const UtteranceResult& u : d.utterances) {  // the finals, joined
      if (u.text.empty()) continue;
      absl::StrAppend(&d.ctc.text, d.ctc.text.empty() ? "" : " ", u.text);
      d.ctc.words.insert(d.ctc.words.end(), u.words.begin(), u.words.end());
    }
    d.hidden = stream_->captured_hidden();
    d.lact_out = stream_->captured_lact();
    d.logits = stream_->captured_logits();
    return d;
  }

 private:
  absl::Status FeedPiece(const float* samples, size_t n) {
    const int rate = rec_.model().sample_rate();
    if (auto s = stream_->AcceptWaveform(rate, samples, n); !s.ok()) return s;
    while (rec_.IsReady(*stream_)) {
      if (auto s = Decode(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  // One model step; keeps the utterances it finished.
  absl::Status Decode() {
    if (auto s = rec_.DecodeStreams({stream_.get()}); !s.ok()) return s;
    for (auto& u : stream_->TakeUtterances()) utterances_.push_back(std::move(u));
    return absl::OkStatus();
  }

  const OnlineRecognizer& rec_;
  std::unique_ptr<OnlineStream> stream_;
  size_t piece_ = 0;
  std::vector<float> pending_;  // audio not yet fed (less than a piece)
  std::vector<UtteranceResult> utterances_;
};

}  // namespace

absl::StatusOr<Decoded> TranscribeFile(const OnlineRecognizer& rec, const std::string& path,
                                       const TranscribeSettings& s) {
  const double max_offline_seconds = s.max_offline_seconds;
  const int rate = rec.model().sample_rate();
  auto reader = AudioFileReader::Open(path, rate);
  if (!reader.ok()) return reader.status();
  const double declared = (*reader)->declared_seconds();
  const bool within_bound = declared >= 0 && declared <= max_offline_seconds;
  if (!s.streaming && within_bound) {
    auto audio = ReadAudioFile(path, rate);
    if (!audio.ok()) return audio.status();
    return TranscribeOffline(rec, *audio, s);
  }
  if (s.dumping && !within_bound) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dump-* writes inputs of at most --max_offline_seconds (",
                     max_offline_seconds, " s); this one is ",
                     declared < 0 ? std::string("of unknown length") : absl::StrCat(declared, " s"),
                     " (cut it, or raise --max_offline_seconds)"));
  }
  StreamingTranscription transcription(rec, s);
  std::vector<float> block;
  while (true) {
    block.clear();
    auto more = (*reader)->Read(rate, &block);  // ~1 s of the file at a time
    if (!more.ok()) return more.status();
    if (auto s = transcription.Feed(block); !s.ok()) return s;
    if (!*more) break;
  }
  return transcription.Finish();
}

}  // namespace lact
