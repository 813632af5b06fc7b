#include "client/progress.h"

#include <gtest/gtest.h>

namespace lact::eval {
namespace {

TEST(Progress, FormatsDoneTotalWerAndEta) {
  EXPECT_EQ(FormatDuration(7.2), "0:07");
  EXPECT_EQ(FormatDuration(754), "12:34");
  EXPECT_EQ(FormatDuration(3723), "1:02:03");
  ProgressSnapshot p;
  p.done = 10;
  p.total = 40;
  p.failed = 1;
  p.elapsed_s = 20;
  p.by_lact["off"].Add(ScoreUtterance("A B C D", "A B C X"));
  p.by_lact["on"].Add(ScoreUtterance("A B C D", "A B C D"));
  EXPECT_EQ(FormatProgress(p),
            "[eval] 10/40 streams (1 failed) | WER off 25.00% on 0.00% | elapsed 0:20 | ETA 1:00");
  p.done = 40;
  EXPECT_EQ(FormatProgress(p).find("ETA"), std::string::npos);
}

TEST(Progress, ReporterCountsFailuresAndPrintsLastLine) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  {
    ProgressReporter reporter(out, 2, /*min_interval_s=*/100);
    const UtteranceScore s = ScoreUtterance("A", "A");
    reporter.StreamDone("on", &s, 1.0);       // printed (first)
    reporter.StreamDone("on", nullptr, 1.5);  // printed (last)
    reporter.Finish();
  }
  std::fclose(out);
  const std::string text(buffer, size);
  std::free(buffer);
  EXPECT_NE(text.find("[eval] 1/2 streams (0 failed)"), std::string::npos) << text;
  EXPECT_NE(text.find("[eval] 2/2 streams (1 failed) | WER on 0.00%"), std::string::npos) << text;
}

}  // namespace
}  // namespace lact::eval
