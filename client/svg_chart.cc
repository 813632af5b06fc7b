#include "client/svg_chart.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lact::eval {
namespace {

// Plot area margins (pixels); bar charts with category labels use kBottomLabelled.
constexpr double kLeft = 64, kRight = 16, kTop = 36, kBottom = 56, kBottomLabelled = 110;

std::string Num(double v) { return absl::StrFormat("%.2f", v); }

std::string AxisLabel(double v, bool percent) {
  if (percent) return absl::StrFormat("%g%%", std::round(v * 1000.0) / 10.0);
  return absl::StrFormat("%g", v);
}

// Header, title, y grid with labels; returns the SVG opened and the plot's value maximum.
// `min_step` keeps count axes on whole numbers.
std::string Frame(const std::string& id, const std::string& title, int width, int height,
                  double bottom, double y_max, bool percent, const std::string& x_label,
                  const std::string& y_label, double min_step, double* axis_max) {
  const double step = std::max(min_step, NiceStep(y_max, 5));
  const double top_value = std::max(step, std::ceil(y_max / step - 1e-9) * step);
  *axis_max = top_value;
  const double plot_h = height - kTop - bottom;
  std::string svg = absl::StrCat("<svg id=\"", HtmlEscape(id),
                                 "\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" ",
                                 "width=\"", width, "\" height=\"", height, "\" viewBox=\"0 0 ",
                                 width, " ", height, "\" role=\"img\" aria-label=\"",
                                 HtmlEscape(title), "\">\n", "<text class=\"chart-title\" x=\"",
                                 Num(kLeft), "\" y=\"20\">", HtmlEscape(title), "</text>\n");
  for (double v = 0; v <= top_value + step * 1e-6; v += step) {
    const double y = kTop + plot_h * (1.0 - v / top_value);
    absl::StrAppend(&svg, "<line class=\"grid\" x1=\"", Num(kLeft), "\" x2=\"", Num(width - kRight),
                    "\" y1=\"", Num(y), "\" y2=\"", Num(y), "\"/>", "<text class=\"tick\" x=\"",
                    Num(kLeft - 6), "\" y=\"", Num(y + 4), "\" text-anchor=\"end\">",
                    AxisLabel(v, percent), "</text>\n");
  }
  absl::StrAppend(&svg, "<line class=\"axis\" x1=\"", Num(kLeft), "\" x2=\"", Num(width - kRight),
                  "\" y1=\"", Num(height - bottom), "\" y2=\"", Num(height - bottom), "\"/>\n");
  absl::StrAppend(&svg, "<text class=\"axis-label\" x=\"", Num((kLeft + width - kRight) / 2),
                  "\" y=\"", height - 8, "\" text-anchor=\"middle\">", HtmlEscape(x_label),
                  "</text>\n");
  absl::StrAppend(&svg, "<text class=\"axis-label\" transform=\"translate(14,",
                  Num(kTop + plot_h / 2), ") rotate(-90)\" text-anchor=\"middle\">",
                  HtmlEscape(y_label), "</text>\n");
  return svg;
}

std::string Legend(const std::vector<ChartSeries>& series, int width) {
  std::string out = "<g class=\"legend\">";
  double x = width - kRight;
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    x -= 14 + 7.0 * static_cast<double>(it->name.size()) + 18;
    absl::StrAppend(&out, "<rect x=\"", Num(x), "\" y=\"10\" width=\"12\" height=\"12\" fill=\"",
                    HtmlEscape(it->color), "\"/><text x=\"", Num(x + 16), "\" y=\"20\">",
                    HtmlEscape(it->name), "</text>");
  }
  return out + "</g>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

double NiceStep(double max, int ticks) {
  if (!(max > 0) || !std::isfinite(max)) return 1;
  const double raw = max / std::max(1, ticks);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  const double nice = r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10;
  return nice * magnitude;
}

std::string RenderBarChart(const BarChartSpec& spec) {
  double y_max = 0;
  for (const auto& s : spec.series) {
    for (double v : s.values) {
      if (std::isfinite(v)) y_max = std::max(y_max, v);
    }
  }
  if (y_max <= 0) y_max = spec.percent ? 0.1 : 1;
  const double plot_w = spec.width - kLeft - kRight;
  const size_t n = std::max<size_t>(1, spec.categories.size());
  const double group_w = plot_w / static_cast<double>(n);
  const bool labels = group_w >= 14 && spec.categories.size() > 1;
  const double bottom = labels ? kBottomLabelled : kBottom;
  const int height = spec.height + (labels ? static_cast<int>(kBottomLabelled - kBottom) : 0);
  double axis_max = 1;
  std::string svg = Frame(spec.id, spec.title, spec.width, height, bottom, y_max, spec.percent,
                          spec.x_label, spec.y_label, 0, &axis_max);
  const double plot_h = height - kTop - bottom;
  const double bar_w = group_w * 0.8 / static_cast<double>(std::max<size_t>(1, spec.series.size()));
  for (size_t s = 0; s < spec.series.size(); ++s) {
    const ChartSeries& series = spec.series[s];
    absl::StrAppend(&svg, "<g class=\"series\" data-series=\"", HtmlEscape(series.name),
                    "\" fill=\"", HtmlEscape(series.color), "\">");
    for (size_t i = 0; i < series.values.size() && i < spec.categories.size(); ++i) {
      const double v = std::isfinite(series.values[i]) ? series.values[i] : 0;
      const double h = plot_h * std::min(1.0, v / axis_max);
      const double x =
          kLeft + group_w * (static_cast<double>(i) + 0.1) + bar_w * static_cast<double>(s);
      absl::StrAppend(&svg, "<rect x=\"", Num(x), "\" y=\"", Num(kTop + plot_h - h), "\" width=\"",
                      Num(std::max(bar_w, 0.5)), "\" height=\"", Num(h), "\"><title>",
                      HtmlEscape(spec.categories[i]), " (", HtmlEscape(series.name), "): ",
                      spec.percent ? absl::StrFormat("%.2f%%", 100 * v) : absl::StrFormat("%g", v),
                      "</title></rect>");
    }
    svg += "</g>\n";
  }
  // Category labels when they fit.
  if (labels) {
    for (size_t i = 0; i < spec.categories.size(); ++i) {
      const double x = kLeft + group_w * (static_cast<double>(i) + 0.5);
      absl::StrAppend(&svg, "<text class=\"tick\" text-anchor=\"end\" transform=\"translate(",
                      Num(x + 3), ",", Num(height - bottom + 10), ") rotate(-35)\">",
                      HtmlEscape(spec.categories[i].size() > 18
                                     ? spec.categories[i].substr(spec.categories[i].size() - 18)
                                     : spec.categories[i]),
                      "</text>");
    }
  }
  svg += Legend(spec.series, spec.width);
  svg += "</svg>\n";
  return svg;
}

std::string RenderHistogram(const HistogramSpec& spec) {
  double lo = 0, hi = 0;
  bool any = false;
  for (const auto& s : spec.series) {
    for (double v : s.values) {
      if (!std::isfinite(v)) continue;
      hi = any ? std::max(hi, v) : v;
      any = true;
    }
  }
  const int bins = std::max(1, spec.bins);
  const double step = NiceStep(any && hi > lo ? hi - lo : 1, bins);
  const double range = step * bins;
  std::vector<std::vector<int>> counts(spec.series.size(), std::vector<int>(bins, 0));
  int max_count = 0;
  for (size_t s = 0; s < spec.series.size(); ++s) {
    for (double v : spec.series[s].values) {
      if (!std::isfinite(v)) continue;
      int b = static_cast<int>(std::floor((v - lo) / step));
      b = std::clamp(b, 0, bins - 1);
      max_count = std::max(max_count, ++counts[s][b]);
    }
  }
  double axis_max = 1;
  std::string svg = Frame(spec.id, spec.title, spec.width, spec.height, kBottom,
                          std::max(1, max_count), false, spec.x_label, "responses", 1, &axis_max);
  const double plot_w = spec.width - kLeft - kRight;
  const double plot_h = spec.height - kTop - kBottom;
  const double bin_w = plot_w / bins;
  for (size_t s = 0; s < spec.series.size(); ++s) {
    const ChartSeries& series = spec.series[s];
    absl::StrAppend(&svg, "<g class=\"series\" data-series=\"", HtmlEscape(series.name),
                    "\" fill=\"", HtmlEscape(series.color), "\" fill-opacity=\"0.55\">");
    for (int b = 0; b < bins; ++b) {
      if (counts[s][b] == 0) continue;
      const double h = plot_h * counts[s][b] / axis_max;
      absl::StrAppend(&svg, "<rect x=\"", Num(kLeft + bin_w * b + 1), "\" y=\"",
                      Num(kTop + plot_h - h), "\" width=\"", Num(std::max(bin_w - 2, 0.5)),
                      "\" height=\"", Num(h), "\"><title>", HtmlEscape(series.name), ": ",
                      counts[s][b], " in [", absl::StrFormat("%g", lo + step * b), ", ",
                      absl::StrFormat("%g", lo + step * (b + 1)), ")</title></rect>");
    }
    svg += "</g>\n";
  }
  // X ticks: about six bin edges.
  for (int b = 0; b <= bins; b += std::max(1, bins / 6)) {
    const double x = kLeft + bin_w * b;
    absl::StrAppend(&svg, "<text class=\"tick\" x=\"", Num(x), "\" y=\"",
                    Num(spec.height - kBottom + 16), "\" text-anchor=\"middle\">",
                    absl::StrFormat("%g", lo + range * b / bins), "</text>");
  }
  if (!any) {
    absl::StrAppend(&svg, "<text class=\"empty\" x=\"", Num(spec.width / 2.0), "\" y=\"",
                    Num(kTop + plot_h / 2), "\" text-anchor=\"middle\">no data</text>");
  }
  svg += Legend(spec.series, spec.width);
  svg += "</svg>\n";
  return svg;
}

}  // namespace lact::eval
