// Calibration of word confidences (RecognitionConfig.enable_word_confidence) against the
// reference: each hypothesis word is correct when the word alignment of the utterance
// (core/corpus/scoring HypothesisHits) pairs it with an equal reference word. Words are put in
// equal-width confidence bins; a bin's accuracy against its mean confidence is the reliability
// diagram, and the expected calibration error is
//   ECE = sum over bins b of (n_b / N) * |accuracy_b - mean_confidence_b|.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lact::eval {

struct ReliabilityBin {
  double lower = 0, upper = 0;  // confidence range [lower, upper) ([lower, 1] for the last)
  int64_t count = 0;
  double mean_confidence = 0;  // of its words (0 when empty)
  double accuracy = 0;         // share of its words that are correct (0 when empty)
};

struct CalibrationSummary {
  int64_t words = 0;               // hypothesis words with a confidence
  int64_t correct = 0;             // of them, correct
  int64_t skipped_utterances = 0;  // whose confidences did not match their words one to one
  double ece = 0;                  // expected calibration error (0 without words)
  double mean_confidence = 0;
  std::vector<ReliabilityBin> bins;
};

class CalibrationTally {
 public:
  // One utterance: its reference and hypothesis texts (normalised here as for WER) and the
  // hypothesis words' confidences, in order. An utterance whose normalised hypothesis has another
  // number of words than `confidences` is counted as skipped.
  void AddUtterance(const std::string& reference, const std::string& hypothesis,
                    const std::vector<double>& confidences);
  // One word. Confidences outside [0, 1] are clamped.
  void Add(double confidence, bool correct);
  // `num_bins` >= 1 equal-width bins over [0, 1].
  CalibrationSummary Summary(int num_bins = 10) const;

  // The words added, in order: their confidences (clamped) and whether each was right.
  const std::vector<double>& confidences() const { return confidence_; }
  const std::vector<bool>& correct() const { return correct_; }

 private:
  std::vector<double> confidence_;
  std::vector<bool> correct_;
  int64_t skipped_ = 0;
};

}  // namespace lact::eval
