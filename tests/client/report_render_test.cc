// report.html in headless Chromium: the page loads without script errors, every chart is laid
// out with a non-empty box (the page's own check writes data-charts-rendered="k/n" on <body>),
// and with --lact both the per-utterance charts hold both series. Skipped when no Chromium.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

#include "client/report.h"
#include "report_test_util.h"

namespace lact::eval {
namespace {
namespace fs = std::filesystem;

std::string RunCommand(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  *status = pclose(pipe);
  return out;
}

std::string ChromiumArgs(const fs::path& profile) {
  return "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
         "--disable-background-networking --disable-component-update --disable-sync "
         "--disable-default-apps --disable-extensions --user-data-dir=" +
         profile.string();
}

// The markup of the element `<svg id="ID" ...>...</svg>` in `dom` ("" when absent).
std::string SvgById(const std::string& dom, const std::string& id) {
  const size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const size_t start = dom.rfind("<svg", at);
  const size_t end = dom.find("</svg>", at);
  return start == std::string::npos || end == std::string::npos ? ""
                                                                : dom.substr(start, end - start);
}

class ReportRender : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = LACT_CHROMIUM;
    if (chromium_.empty() || !fs::exists(chromium_)) GTEST_SKIP() << "chromium not installed";
    dir_ = fs::temp_directory_path() /
           ("lact_render_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "profile");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Writes the reports and returns Chromium's serialised DOM of report.html after load.
  std::string Render(const std::vector<std::string>& lact_order,
                     const std::vector<UtteranceResult>& results) {
    const std::vector<FailedStream> failures = {
        {"1089-134691-0000", lact_order[0], "UNAVAILABLE: <gone>"}};
    const EvalSummary s =
        Summarize(testing::MakeRunInfo(lact_order.size() == 2 ? "both" : lact_order[0]), lact_order,
                  std::vector<double>(lact_order.size(), 5.0), results, failures);
    EXPECT_TRUE(WriteReports(dir_.string(), s, results, failures).ok());
    int status = -1;
    const std::string cmd = "timeout 90 " + chromium_ + " " + ChromiumArgs(dir_ / "profile") +
                            " --dump-dom file://" + (dir_ / "report.html").string() + " 2>" +
                            (dir_ / "chromium.log").string();
    const std::string dom = RunCommand(cmd, &status);
    EXPECT_EQ(status, 0) << "chromium failed; see " << (dir_ / "chromium.log");
    return dom;
  }

  std::string chromium_;
  fs::path dir_;
};

TEST_F(ReportRender, BothSeriesRenderWithoutErrors) {
  const std::string dom = Render({"off", "on"}, testing::BothResults());
  ASSERT_FALSE(dom.empty());
  EXPECT_EQ(dom.find("data-script-error=\""), std::string::npos);
  EXPECT_NE(dom.find("data-charts-rendered=\"6/6\""), std::string::npos)
      << dom.substr(0, std::min<size_t>(dom.size(), 600));
  for (const char* id : {"chart-wer", "chart-cer", "chart-latency-interim", "chart-latency-final",
                         "chart-time", "chart-rtfx"}) {
    const std::string svg = SvgById(dom, id);
    ASSERT_FALSE(svg.empty()) << id;
    EXPECT_NE(svg.find("data-series=\"LaCT on\""), std::string::npos) << id;
    EXPECT_NE(svg.find("data-series=\"LaCT off (baseline)\""), std::string::npos) << id;
  }
  EXPECT_NE(dom.find("id=\"summary-table\""), std::string::npos);

  // A screenshot renders too (a PNG of some size).
  int status = -1;
  const fs::path png = dir_ / "report.png";
  RunCommand("timeout 90 " + chromium_ + " " + ChromiumArgs(dir_ / "profile") +
                 " --hide-scrollbars --window-size=1100,2400 --screenshot=" + png.string() +
                 " file://" + (dir_ / "report.html").string() + " >/dev/null 2>&1",
             &status);
  EXPECT_EQ(status, 0);
  ASSERT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 20000u);
  if (const char* keep = std::getenv("LACT_KEEP_REPORT"))
    fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
}

TEST_F(ReportRender, SingleSettingRenders) {
  auto results = testing::BothResults();
  results.resize(2);
  const std::string dom = Render({"off"}, results);
  EXPECT_NE(dom.find("data-charts-rendered=\"6/6\""), std::string::npos);
  EXPECT_EQ(SvgById(dom, "chart-wer").find("data-series=\"LaCT on\""), std::string::npos);
}

// A long stream's finals (endpointing) add the utterance timeline: a bar per final at its end.
TEST_F(ReportRender, UtteranceTimelineOfTheLongestStream) {
  auto results = testing::BothResults();
  double longest = 0;
  for (const auto& r : results) longest = std::max(longest, r.duration_s);
  for (auto& r : results) {
    if (r.duration_s != longest) continue;
    r.final_end_s = {3.1, 6.4, longest};
    r.final_latencies_ms = {120, 95, r.lact == "on" ? 210.0 : 180.0};
    r.finals = 3;
  }
  const std::string dom = Render({"off", "on"}, results);
  EXPECT_NE(dom.find("data-charts-rendered=\"7/7\""), std::string::npos);
  const std::string svg = SvgById(dom, "chart-timeline");
  ASSERT_FALSE(svg.empty());
  EXPECT_NE(svg.find(">6.4<"), std::string::npos) << svg.substr(0, 2000);
  EXPECT_NE(svg.find("data-series=\"LaCT on\""), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"LaCT off (baseline)\""), std::string::npos);
}

}  // namespace
}  // namespace lact::eval
