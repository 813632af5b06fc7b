// Small self-contained SVG charts for the HTML report: grouped bars (one value per category and
// series) and overlaid histograms. No scripts and no external resources; every bar carries a
// <title> (the browser shows it on hover). Each chart is `<svg id=ID class="chart">` and each
// series a `<g class="series" data-series=NAME>`, which tests look for.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lact::eval {

struct ChartSeries {
  std::string name;            // legend text and data-series attribute
  std::string color;           // CSS colour
  std::vector<double> values;  // bar chart: one per category; histogram: the samples
};

struct BarChartSpec {
  std::string id;
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> categories;  // x axis (e.g. utterance ids)
  std::vector<ChartSeries> series;
  bool percent = false;  // values are fractions, shown as percentages
  int width = 900;
  int height = 320;
};

struct HistogramSpec {
  std::string id;
  std::string title;
  std::string x_label;  // e.g. "latency (ms)"
  std::vector<ChartSeries> series;
  int bins = 30;
  int width = 900;
  int height = 300;
};

std::string RenderBarChart(const BarChartSpec& spec);
std::string RenderHistogram(const HistogramSpec& spec);

// Text escaped for HTML/SVG content and attribute values.
std::string HtmlEscape(std::string_view text);

// A "nice" axis step (1, 2 or 5 times a power of ten) giving about `ticks` ticks up to `max`.
double NiceStep(double max, int ticks);

}  // namespace lact::eval
