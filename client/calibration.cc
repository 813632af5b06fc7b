#include "client/calibration.h"

#include <algorithm>
#include <cmath>

#include "core/corpus/scoring.h"

namespace lact::eval {

void CalibrationTally::AddUtterance(const std::string& reference, const std::string& hypothesis,
                                    const std::vector<double>& confidences) {
  const std::vector<std::string> ref = SplitWords(NormalizeTranscript(reference));
  const std::vector<std::string> hyp = SplitWords(NormalizeTranscript(hypothesis));
  if (hyp.size() != confidences.size()) {
    ++skipped_;
    return;
  }
  const std::vector<bool> hits = HypothesisHits(ref, hyp);
  for (size_t i = 0; i < hyp.size(); ++i) Add(confidences[i], hits[i]);
}

void CalibrationTally::Add(double confidence, bool correct) {
  confidence_.push_back(std::isfinite(confidence) ? std::clamp(confidence, 0.0, 1.0) : 0.0);
  correct_.push_back(correct);
}

CalibrationSummary CalibrationTally::Summary(int num_bins) const {
  CalibrationSummary s;
  const int nb = std::max(1, num_bins);
  s.bins.resize(static_cast<size_t>(nb));
  for (int b = 0; b < nb; ++b) {
    s.bins[static_cast<size_t>(b)].lower = static_cast<double>(b) / nb;
    s.bins[static_cast<size_t>(b)].upper = static_cast<double>(b + 1) / nb;
  }
  std::vector<double> conf_sum(static_cast<size_t>(nb), 0.0);
  std::vector<int64_t> right(static_cast<size_t>(nb), 0);
  double total_confidence = 0;
  for (size_t i = 0; i < confidence_.size(); ++i) {
    const int b = std::min(nb - 1, static_cast<int>(confidence_[i] * nb));
    ++s.bins[static_cast<size_t>(b)].count;
    conf_sum[static_cast<size_t>(b)] += confidence_[i];
    right[static_cast<size_t>(b)] += correct_[i] ? 1 : 0;
    total_confidence += confidence_[i];
    s.correct += correct_[i] ? 1 : 0;
  }
  s.words = static_cast<int64_t>(confidence_.size());
  s.skipped_utterances = skipped_;
  if (s.words == 0) return s;
  s.mean_confidence = total_confidence / static_cast<double>(s.words);
  for (size_t b = 0; b < s.bins.size(); ++b) {
    ReliabilityBin& bin = s.bins[b];
    if (bin.count == 0) continue;
    bin.mean_confidence = conf_sum[b] / static_cast<double>(bin.count);
    bin.accuracy = static_cast<double>(right[b]) / static_cast<double>(bin.count);
    s.ece += static_cast<double>(bin.count) / static_cast<double>(s.words) *
             std::fabs(bin.accuracy - bin.mean_confidence);
  }
  return s;
}

}  // namespace lact::eval
