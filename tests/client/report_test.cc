// client/report: CSV columns and quoting, summary.json content, the HTML's charts and series.
#include "client/report.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/svg_chart.h"
#include "csv_test_util.h"
#include "report_test_util.h"

namespace lact::eval {
namespace {

TEST(CsvField, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("PLAIN TEXT"), "PLAIN TEXT");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField(" padded"), "\" padded\"");
  EXPECT_EQ(CsvField(""), "");
}

TEST(ResultsCsv, ExactColumnsAndRoundTrip) {
  auto results = testing::BothResults();
  results[0].hypothesis = "HE SAID, \"STEW\"\nAND";
  results[1].first_interim_ms = -1;
  for (size_t i = 0; i < results.size(); ++i) {
    results[i].finals = static_cast<int>(i) + 2;
    results[i].largest_response_bytes = 1000 + 7 * static_cast<int64_t>(i);
  }
  const std::string csv = RenderResultsCsv(results);
  const auto rows = testing::ParseCsv(csv);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"id", "speaker", "duration_s", "reference",
                                               "hypothesis", "wer", "cer", "errors",
                                               "first_interim_ms", "final_latency_ms", "lact",
                                               "finals", "largest_response_bytes"}));
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 13u) << i;
    const auto& r = results[i - 1];
    EXPECT_EQ(rows[i][0], r.id);
    EXPECT_EQ(rows[i][1], "1089");
    EXPECT_EQ(rows[i][3], r.reference);
    EXPECT_EQ(rows[i][4], r.hypothesis);
    EXPECT_NEAR(std::stod(rows[i][5]), r.score.wer(), 1e-6);
    EXPECT_NEAR(std::stod(rows[i][6]), r.score.cer(), 1e-6);
    EXPECT_EQ(std::stoll(rows[i][7]), r.score.words.errors());
    EXPECT_EQ(rows[i][10], r.lact);
    EXPECT_EQ(std::stoll(rows[i][11]), r.finals);
    EXPECT_EQ(std::stoll(rows[i][12]), r.largest_response_bytes);
  }
  EXPECT_EQ(rows[2][8], "");  // no interim result
  EXPECT_EQ(rows[1][2], "10.400");
}

TEST(SummaryJson, SettingsComparisonAndFailures) {
  const auto results = testing::BothResults();
  const std::vector<FailedStream> failures = {{"x", "on", "DEADLINE_EXCEEDED: slow"}};
  const EvalSummary s =
      Summarize(testing::MakeRunInfo("both"), {"off", "on"}, {5, 5}, results, failures);
  const auto j = nlohmann::json::parse(RenderSummaryJson(s, failures));
  EXPECT_EQ(j["run"]["lact"], "both");
  EXPECT_EQ(j["run"]["num_parallel_requests"], 8);
  ASSERT_EQ(j["settings"].size(), 2u);
  EXPECT_EQ(j["settings"][0]["lact"], "off");
  EXPECT_DOUBLE_EQ(j["settings"][0]["wer"].get<double>(), s.variants[0].wer);
  EXPECT_EQ(j["settings"][0]["words"]["substitutions"], s.variants[0].words.substitutions);
  EXPECT_EQ(j["settings"][1]["words"]["errors"], 1);
  for (const char* kind : {"interim", "final", "first_interim"}) {
    for (const char* p : {"p50", "p90", "p95", "p99"}) {
      EXPECT_TRUE(j["settings"][0]["latency_ms"][kind].contains(p)) << kind << " " << p;
    }
  }
  EXPECT_DOUBLE_EQ(j["lact_vs_baseline"]["wer_change"].get<double>(),
                   s.variants[1].wer - s.variants[0].wer);
  EXPECT_EQ(j["totals"]["failures"], 1);
  EXPECT_EQ(j["failed_streams"][0]["error"], "DEADLINE_EXCEEDED: slow");
}

TEST(HtmlReport, SelfContainedWithChartsAndBothSeries) {
  const auto results = testing::BothResults();
  const EvalSummary s = Summarize(testing::MakeRunInfo("both"), {"off", "on"}, {5, 5}, results, {});
  const std::string html = RenderHtmlReport(s, results, {});
  for (const char* id : {"chart-wer", "chart-cer", "chart-latency-interim", "chart-latency-final",
                         "chart-time", "chart-rtfx", "summary-table", "utterance-table"}) {
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_NE(html.find("data-series=\"LaCT on\""), std::string::npos);
  EXPECT_NE(html.find("data-series=\"LaCT off (baseline)\""), std::string::npos);
  // No external resources: the only URL is the SVG namespace.
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // Transcripts are escaped.
  EXPECT_NE(html.find("STUFF, IT &quot;INTO&quot; YOU"), std::string::npos);
  // The summary table has the latency percentiles in order: interim p50..p99, then final.
  size_t at = 0;
  for (const char* kind : {"interim", "final"}) {
    for (const char* p : {"p50", "p90", "p95", "p99"}) {
      const std::string label = std::string(kind) + " latency " + p + " (ms)";
      const size_t next = html.find(label, at);
      ASSERT_NE(next, std::string::npos) << label << " missing or out of order";
      at = next;
    }
  }
}

TEST(HtmlReport, SingleSettingHasOneSeries) {
  auto results = testing::BothResults();
  results.resize(2);  // "off" only
  const EvalSummary s = Summarize(testing::MakeRunInfo("off"), {"off"}, {5}, results, {});
  const std::string html = RenderHtmlReport(s, results, {});
  EXPECT_EQ(html.find("data-series=\"LaCT on\""), std::string::npos);
  EXPECT_NE(html.find("data-series=\"LaCT off (baseline)\""), std::string::npos);
}

TEST(WriteReports, WritesTheThreeFiles) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("lact_report_test_" + std::to_string(::getpid())) / "nested";
  const auto results = testing::BothResults();
  const EvalSummary s = Summarize(testing::MakeRunInfo("both"), {"off", "on"}, {5, 5}, results, {});
  ASSERT_TRUE(WriteReports(dir.string(), s, results, {}).ok());
  for (const char* name : {"results.csv", "summary.json", "report.html"}) {
    EXPECT_GT(std::filesystem::file_size(dir / name), 100u) << name;
  }
  std::filesystem::remove_all(dir.parent_path());
}

TEST(SvgChart, NiceStepAndEscape) {
  EXPECT_DOUBLE_EQ(NiceStep(1.0, 5), 0.2);
  EXPECT_DOUBLE_EQ(NiceStep(730, 5), 200);
  EXPECT_DOUBLE_EQ(NiceStep(0, 5), 1);
  EXPECT_EQ(HtmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}

}  // namespace
}  // namespace lact::eval
