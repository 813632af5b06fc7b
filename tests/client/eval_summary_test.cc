#include "client/eval_summary.h"

#include <gtest/gtest.h>

#include "report_test_util.h"

namespace lact::eval {
namespace {

TEST(Quantile, InterpolatesBetweenRanks) {
  const std::vector<double> v = {10, 20, 30, 40, 50};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.0), 10);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.5), 30);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.9), 46);  // (5-1)*0.9 = 3.6 -> 40 + 0.6*10
  EXPECT_DOUBLE_EQ(Quantile(v, 1.0), 50);
  EXPECT_DOUBLE_EQ(Quantile({7}, 0.99), 7);
}

TEST(LatencyStats, Percentiles) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted input
  const LatencyStats s = ComputeLatencyStats(v);
  EXPECT_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_DOUBLE_EQ(s.p50, 50.5);
  EXPECT_DOUBLE_EQ(s.p90, 90.1);
  EXPECT_DOUBLE_EQ(s.p95, 95.05);
  EXPECT_DOUBLE_EQ(s.p99, 99.01);
  EXPECT_DOUBLE_EQ(s.max, 100);
  EXPECT_EQ(ComputeLatencyStats({}).count, 0);
}

TEST(Summarize, PerSettingCorpusRatesLatencyAndRtfx) {
  const auto results = testing::BothResults();
  const std::vector<FailedStream> failures = {{"1089-134691-0000", "on", "UNAVAILABLE: x"}};
  const EvalSummary s =
      Summarize(testing::MakeRunInfo("both"), {"off", "on"}, {6.75, 13.5}, results, failures);
  ASSERT_EQ(s.variants.size(), 2u);
  const VariantSummary& off = s.variants[0];
  const VariantSummary& on = s.variants[1];
  EXPECT_EQ(off.lact, "off");
  EXPECT_EQ(off.utterances, 2);
  EXPECT_EQ(off.failures, 0);
  EXPECT_EQ(on.failures, 1);
  // off: 1 sub (DINER) + [INTO -> IN TO: 1 sub + 1 ins] + 1 sub (COUNSELED) = 4 errors / 16 words.
  EXPECT_EQ(off.words.errors(), 4);
  EXPECT_EQ(off.words.reference_length, 16);
  EXPECT_DOUBLE_EQ(off.wer, 4.0 / 16.0);
  // on: punctuation is normalised away, only COUNSELED is wrong.
  EXPECT_EQ(on.words.errors(), 1);
  EXPECT_DOUBLE_EQ(on.wer, 1.0 / 16.0);
  EXPECT_DOUBLE_EQ(off.audio_s, 13.5);
  EXPECT_DOUBLE_EQ(off.rtfx, 2.0);
  EXPECT_DOUBLE_EQ(on.rtfx, 1.0);
  EXPECT_EQ(off.interim.count, 5);
  EXPECT_DOUBLE_EQ(off.interim.p50, 120);
  EXPECT_EQ(on.final.count, 2);
  EXPECT_DOUBLE_EQ(on.final.p50, 217.5);
  EXPECT_EQ(s.failures, 1);
  EXPECT_DOUBLE_EQ(s.rtfx, 27.0 / 20.25);
}

TEST(Summarize, FirstInterimFromTheSpeechOnsetSkipsStreamsWithoutOne) {
  std::vector<UtteranceResult> results = testing::BothResults();
  for (UtteranceResult& r : results) r.first_interim_ms = -1;
  results[0].first_interim_ms = 600, results[0].speech_onset_ms = 250;  // 350 after the onset
  results[1].first_interim_ms = 300, results[1].speech_onset_ms = 100;  // 200
  results[1].lact = results[0].lact;
  const EvalSummary s =
      Summarize(testing::MakeRunInfo(results[0].lact), {results[0].lact}, {1}, results, {});
  ASSERT_EQ(s.variants.size(), 1u);
  const VariantSummary& v = s.variants[0];
  EXPECT_EQ(v.first_interim.count, 2);
  EXPECT_DOUBLE_EQ(v.first_interim.p50, 450);
  EXPECT_EQ(v.first_interim_from_onset.count, 2);
  EXPECT_DOUBLE_EQ(v.first_interim_from_onset.p50, 275);
  EXPECT_DOUBLE_EQ(v.first_interim_from_onset.max, 350);
}

}  // namespace
}  // namespace lact::eval
