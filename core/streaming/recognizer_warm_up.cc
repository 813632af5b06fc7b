#include "core/streaming/recognizer_warm_up.h"

#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/util/status_macros.h"

namespace lact {

absl::Status WarmUpOptions::Validate() const {
  if (max_batch < 1) return absl::InvalidArgumentError("warm-up: max_batch must be >= 1");
  if (budget < absl::ZeroDuration())
    return absl::InvalidArgumentError("warm-up: the budget must be >= 0");
  return absl::OkStatus();
}

std::string WarmUpReport::ToString() const {
  return absl::StrCat("batch sizes ", absl::StrJoin(batch_sizes, ","), ", ", decodes,
                      " decodes in ", absl::StrFormat("%.2f", seconds), " s",
                      complete ? "" : " (budget reached before the largest batch)");
}

std::vector<int> WarmUpBatchSizes(int max_batch) {
  std::vector<int> sizes;
  for (int b = 1; b < max_batch; b *= 2) sizes.push_back(b);
  sizes.push_back(max_batch);
  return sizes;
}

namespace {

// Quiet noise with a slow tone: deterministic, not silence (the decoder and any endpointer
// see varying frames), at the model's rate.
std::vector<float> WarmUpAudio(int64_t n, int rate) {
  std::vector<float> samples(static_cast<size_t>(n));
  uint32_t state = 12345;
  for (int64_t i = 0; i < n; ++i) {
    state = state * 1664525u + 1013904223u;
    const float noise = (static_cast<float>(state >> 8) / 16777216.0f - 0.5f) * 0.02f;
    samples[static_cast<size_t>(i)] =
        noise + 0.05f * std::sin(2.0f * 3.14159265f * 220.0f * static_cast<float>(i) / rate);
  }
  return samples;
}

// One batch of `n` streams through their whole lives: step-sized pieces, a decode of every ready
// stream together after each piece (as the scheduler batches them), then the end of input.
absl::Status RunBatch(const OnlineRecognizer& recognizer, const WarmUpOptions& options, int n,
                      const std::vector<float>& audio, int64_t* decodes) {
  std::vector<std::unique_ptr<OnlineStream>> streams;
  for (int i = 0; i < n; ++i) streams.push_back(recognizer.CreateStream(options.stream));
  const int rate = recognizer.model().sample_rate();
  const size_t piece = static_cast<size_t>(rate) * recognizer.config().step_ms / 1000;
  auto decode_ready = [&]() -> absl::Status {
    std::vector<OnlineStream*> ready;
    for (auto& s : streams) {
      if (recognizer.IsReady(*s)) ready.push_back(s.get());
    }
    if (ready.empty()) return absl::OkStatus();
    ++*decodes;
    return recognizer.DecodeStreams(ready);
  };
  for (size_t at = 0; at < audio.size(); at += piece) {
    for (auto& s : streams) {
      LACT_RETURN_IF_ERROR(
          s->AcceptWaveform(rate, audio.data() + at, std::min(piece, audio.size() - at)));
    }
    LACT_RETURN_IF_ERROR(decode_ready());
  }
  for (auto& s : streams) s->InputFinished();
  for (int guard = 0; guard < 1000; ++guard) {
    bool all_final = true;
    for (auto& s : streams) all_final = all_final && s->is_final();
    if (all_final) return absl::OkStatus();
    LACT_RETURN_IF_ERROR(decode_ready());
  }
  return absl::InternalError("warm-up: the streams did not finish");
}

}  // namespace

absl::StatusOr<WarmUpReport> WarmUpRecognizer(const OnlineRecognizer& recognizer,
                                              const WarmUpOptions& options) {
  LACT_RETURN_IF_ERROR(options.Validate());
  WarmUpReport report;
  const absl::Time start = absl::Now();
  // Long enough for the window to grow to its full left context, run at full size for two steps
  // and end in a partial step (a flush window of another length).
  const StreamingConfig& c = recognizer.config();
  const int64_t ms = c.left_context_ms + c.lookahead_ms + 3 * c.step_ms + c.step_ms / 2;
  const std::vector<float> audio =
      WarmUpAudio(ms * recognizer.model().sample_rate() / 1000, recognizer.model().sample_rate());
  const std::vector<int> sizes = WarmUpBatchSizes(options.max_batch);
  for (int n : sizes) {
    // The first size always runs (a budget of zero runs nothing); later ones while time is left.
    if (options.budget <= absl::ZeroDuration()) break;
    if (!report.batch_sizes.empty() && absl::Now() - start >= options.budget) break;
    LACT_RETURN_IF_ERROR(RunBatch(recognizer, options, n, audio, &report.decodes));
    report.batch_sizes.push_back(n);
  }
  report.complete = report.batch_sizes.size() == sizes.size();
  report.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return report;
}

}  // namespace lact
