#include "client/eval_summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lact::eval {

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

LatencyStats ComputeLatencyStats(std::vector<double> values_ms) {
  LatencyStats stats;
  if (values_ms.empty()) return stats;
  std::sort(values_ms.begin(), values_ms.end());
  stats.count = static_cast<int64_t>(values_ms.size());
  stats.mean = std::accumulate(values_ms.begin(), values_ms.end(), 0.0) /
               static_cast<double>(values_ms.size());
  stats.p50 = Quantile(values_ms, 0.50);
  stats.p90 = Quantile(values_ms, 0.90);
  stats.p95 = Quantile(values_ms, 0.95);
  stats.p99 = Quantile(values_ms, 0.99);
  stats.max = values_ms.back();
  return stats;
}

EvalSummary Summarize(const RunInfo& run, const std::vector<std::string>& lact_order,
                      const std::vector<double>& phase_wall_s,
                      const std::vector<UtteranceResult>& results,
                      const std::vector<FailedStream>& failures) {
  EvalSummary summary;
  summary.run = run;
  for (size_t v = 0; v < lact_order.size(); ++v) {
    VariantSummary variant;
    variant.lact = lact_order[v];
    variant.wall_s = v < phase_wall_s.size() ? phase_wall_s[v] : 0;
    CorpusScore corpus;
    std::vector<double> interim, final, first, from_onset, stream;
    CalibrationTally calibration;
    int64_t oracle_errors = 0;
    for (const UtteranceResult& r : results) {
      if (r.lact != variant.lact) continue;
      ++variant.utterances;
      corpus.Add(r.score);
      oracle_errors += r.oracle_word_errors;
      if (!r.word_confidences.empty()) {
        calibration.AddUtterance(r.reference, r.hypothesis, r.word_confidences);
      }
      variant.audio_s += r.duration_s;
      interim.insert(interim.end(), r.interim_latencies_ms.begin(), r.interim_latencies_ms.end());
      final.insert(final.end(), r.final_latencies_ms.begin(), r.final_latencies_ms.end());
      if (r.first_interim_ms >= 0) {
        first.push_back(r.first_interim_ms);
        from_onset.push_back(r.first_interim_ms - r.speech_onset_ms);
      }
      stream.push_back(r.stream_s);
      variant.finals += r.finals;
      variant.largest_response_bytes =
          std::max(variant.largest_response_bytes, r.largest_response_bytes);
      variant.speech_events += r.speech_events;
    }
    for (const FailedStream& f : failures) {
      if (f.lact == variant.lact) ++variant.failures;
    }
    variant.words = corpus.words();
    variant.chars = corpus.chars();
    variant.wer = corpus.wer();
    variant.cer = corpus.cer();
    variant.oracle_wer = variant.words.reference_length > 0
                             ? static_cast<double>(oracle_errors) /
                                   static_cast<double>(variant.words.reference_length)
                             : 0;
    variant.word_confidence = calibration.Summary();
    variant.rtfx = variant.wall_s > 0 ? variant.audio_s / variant.wall_s : 0;
    variant.interim = ComputeLatencyStats(std::move(interim));
    variant.final = ComputeLatencyStats(std::move(final));
    variant.first_interim = ComputeLatencyStats(std::move(first));
    variant.first_interim_from_onset = ComputeLatencyStats(std::move(from_onset));
    variant.stream_s = ComputeLatencyStats(std::move(stream));
    summary.audio_s += variant.audio_s;
    summary.wall_s += variant.wall_s;
    summary.variants.push_back(std::move(variant));
  }
  summary.failures = static_cast<int64_t>(failures.size());
  summary.rtfx = summary.wall_s > 0 ? summary.audio_s / summary.wall_s : 0;
  return summary;
}

}  // namespace lact::eval
