// The HTML report of lact_eval_client: one self-contained page (inline CSS, SVG charts, no
// external resources) in five parts: the run's settings, the summary table, the charts (accuracy
// per utterance, latency histograms, processing time and throughput), the failed streams and the
// transcripts.
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/report.h"
#include "client/svg_chart.h"

namespace lact::eval {
namespace {

constexpr const char* kColorOff = "#1f77b4";
constexpr const char* kColorOn = "#d62728";
constexpr const char* kColorAudio = "#9e9e9e";

std::string SeriesName(const std::string& lact) {
  return lact == "on" ? "LaCT on" : lact == "off" ? "LaCT off (baseline)" : "LaCT " + lact;
}
std::string SeriesColor(const std::string& lact) { return lact == "on" ? kColorOn : kColorOff; }

std::string Fixed(double v, int digits) { return absl::StrFormat("%.*f", digits, v); }

// Item ids in order of first appearance (the corpus order), for per-utterance charts.
std::vector<std::string> UtteranceOrder(const std::vector<UtteranceResult>& results) {
  std::vector<std::string> ids;
  std::map<std::string, bool> seen;
  for (const auto& r : results) {
    if (!seen[r.id]) {
      seen[r.id] = true;
      ids.push_back(r.id);
    }
  }
  return ids;
}

// One value per id for setting `lact` (NaN where that setting has no result for the id).
template <typename F>
std::vector<double> PerUtterance(const std::vector<UtteranceResult>& results,
                                 const std::vector<std::string>& ids, const std::string& lact,
                                 F value) {
  std::map<std::string, double> by_id;
  for (const auto& r : results) {
    if (r.lact == lact) by_id[r.id] = value(r);
  }
  std::vector<double> out;
  for (const auto& id : ids) {
    auto it = by_id.find(id);
    out.push_back(it == by_id.end() ? std::nan("") : it->second);
  }
  return out;
}

std::string LatencyCell(const LatencyStats& s, double LatencyStats::*field) {
  return s.count == 0 ? "&ndash;" : Fixed(s.*field, 1);
}

constexpr const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
       color: #222; max-width: 1000px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.text { text-align: left; font-family: ui-monospace, monospace; font-size: 12px;
          overflow-wrap: anywhere; max-width: 560px; }
.meta { color: #555; font-size: 13px; }
svg.chart { display: block; margin: 8px 0 16px 0; background: #fff; }
svg.chart text { font-size: 11px; fill: #333; }
svg.chart .chart-title { font-size: 13px; font-weight: 600; }
svg.chart .grid { stroke: #eee; } svg.chart .axis { stroke: #888; }
.fail { color: #b00020; }
)";

// Sets data-charts-rendered="k/n" on <body> once laid out (k charts with a non-empty box), and
// data-script-error on any script error; tests read them back from headless Chromium's DOM.
constexpr const char* kRenderCheck = R"(
window.addEventListener('error', function (e) {
  document.body.setAttribute('data-script-error', String(e.message));
});
window.addEventListener('load', function () {
  var charts = document.querySelectorAll('svg.chart'), ok = 0;
  for (var i = 0; i < charts.length; ++i) {
    var b = charts[i].getBoundingClientRect();
    if (b.width > 0 && b.height > 0 && charts[i].querySelector('g.series')) ++ok;
  }
  document.body.setAttribute('data-charts-rendered', ok + '/' + charts.length);
});
)";

std::string RenderHeader(const RunInfo& run) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
      "<title>lact_eval_client report</title>\n<style>", kStyle, "</style>\n", "<script>",
      kRenderCheck, "</script>\n</head>\n<body>\n",
      "<h1>Streaming ASR evaluation: LaCT vs baseline</h1>\n<p class=\"meta\">Server ",
      HtmlEscape(run.server), " &middot; corpus ", HtmlEscape(run.corpus), " (", run.items,
      run.long_form ? " long-form chapters" : " utterances", ") &middot; encoding ",
      HtmlEscape(run.encoding), " &middot; chunks of ", run.chunk_duration_ms, " ms &middot; ",
      run.simulate_realtime ? "real-time pace" : "as fast as possible", " &middot; ",
      run.num_parallel_requests, " parallel streams &middot; interim results ",
      run.interim_results ? "on" : "off", " &middot; started ", HtmlEscape(run.started_at),
      "</p>\n");
}

// One column per LaCT setting; latency rows: interim p50 ... p99, then final p50 ... p99.
std::string RenderSummaryTable(const EvalSummary& summary) {
  std::string html = "<h2>Summary</h2>\n<table id=\"summary-table\">\n<tr><th>metric</th>";
  for (const auto& v : summary.variants) {
    absl::StrAppend(&html, "<th>", HtmlEscape(SeriesName(v.lact)), "</th>");
  }
  html += "</tr>\n";
  auto row = [&](const std::string& name, auto cell) {
    absl::StrAppend(&html, "<tr><td>", name, "</td>");
    for (const auto& v : summary.variants) absl::StrAppend(&html, "<td>", cell(v), "</td>");
    html += "</tr>\n";
  };
  row("utterances (completed)", [](const VariantSummary& v) { return absl::StrCat(v.utterances); });
  row("failed streams", [](const VariantSummary& v) { return absl::StrCat(v.failures); });
  row("WER", [](const VariantSummary& v) { return Fixed(100 * v.wer, 2) + "%"; });
  row("CER", [](const VariantSummary& v) { return Fixed(100 * v.cer, 2) + "%"; });
  row("word S / D / I", [](const VariantSummary& v) {
    return absl::StrCat(v.words.substitutions, " / ", v.words.deletions, " / ", v.words.insertions);
  });
  row("reference words / chars", [](const VariantSummary& v) {
    return absl::StrCat(v.words.reference_length, " / ", v.chars.reference_length);
  });
  row("audio (s)", [](const VariantSummary& v) { return Fixed(v.audio_s, 1); });
  row("wall time (s)", [](const VariantSummary& v) { return Fixed(v.wall_s, 2); });
  row("throughput (RTFX)", [](const VariantSummary& v) { return Fixed(v.rtfx, 2); });
  for (const auto& [kind, stats] :
       std::vector<std::pair<std::string, LatencyStats VariantSummary::*>>{
           {"interim", &VariantSummary::interim}, {"final", &VariantSummary::final}}) {
    for (const auto& [label, field] :
         std::vector<std::pair<std::string, double LatencyStats::*>>{{"p50", &LatencyStats::p50},
                                                                     {"p90", &LatencyStats::p90},
                                                                     {"p95", &LatencyStats::p95},
                                                                     {"p99", &LatencyStats::p99}}) {
      row(kind + " latency " + label + " (ms)",
          [s = stats, f = field](const VariantSummary& v) { return LatencyCell(v.*s, f); });
    }
  }
  row("time to first interim p50 (ms)",
      [](const VariantSummary& v) { return LatencyCell(v.first_interim, &LatencyStats::p50); });
  row("interim / final responses",
      [](const VariantSummary& v) { return absl::StrCat(v.interim.count, " / ", v.final.count); });
  row("finals per stream", [](const VariantSummary& v) {
    return Fixed(v.utterances > 0 ? static_cast<double>(v.finals) / v.utterances : 0.0, 1);
  });
  row("largest response (bytes)",
      [](const VariantSummary& v) { return absl::StrCat(v.largest_response_bytes); });
  row("speech events", [](const VariantSummary& v) { return absl::StrCat(v.speech_events); });
  html += "</table>\n";
  return html;
}

// What the per-utterance charts are drawn from.
struct ChartData {
  const EvalSummary& summary;
  const std::vector<UtteranceResult>& results;
  std::vector<std::string> ids;  // x axis: the items in corpus order
};

// A bar per item and LaCT setting; `value` picks the bar's height from a result.
template <typename F>
BarChartSpec PerUtteranceChart(const ChartData& data, std::string id, std::string title,
                               std::string y_label, bool percent, F value) {
  BarChartSpec chart;
  chart.id = std::move(id);
  chart.title = std::move(title);
  chart.x_label = data.summary.run.long_form ? "chapter" : "utterance";
  chart.y_label = std::move(y_label);
  chart.percent = percent;
  chart.categories = data.ids;
  for (const auto& v : data.summary.variants) {
    chart.series.push_back({SeriesName(v.lact), SeriesColor(v.lact),
                            PerUtterance(data.results, data.ids, v.lact, value)});
  }
  return chart;
}

// The latencies of every response of one kind, a series per LaCT setting.
HistogramSpec LatencyHistogram(const ChartData& data, std::string id, std::string title,
                               std::vector<double> UtteranceResult::*latencies) {
  HistogramSpec chart;
  chart.id = std::move(id);
  chart.title = std::move(title);
  chart.x_label = "latency (ms)";
  for (const auto& v : data.summary.variants) {
    ChartSeries series{SeriesName(v.lact), SeriesColor(v.lact), {}};
    for (const auto& r : data.results) {
      if (r.lact != v.lact) continue;
      const std::vector<double>& values = r.*latencies;
      series.values.insert(series.values.end(), values.begin(), values.end());
    }
    chart.series.push_back(std::move(series));
  }
  return chart;
}

// The longest stream's utterances, per LaCT setting: a bar per final at its end time (its
// result_end_time, in stream seconds), as high as its latency.
std::string RenderTimeline(const ChartData& data) {
  const UtteranceResult* longest = nullptr;
  for (const auto& r : data.results) {
    if (longest == nullptr || r.duration_s > longest->duration_s) longest = &r;
  }
  if (longest == nullptr || longest->final_end_s.empty()) return "";
  BarChartSpec chart;
  chart.id = "chart-timeline";
  chart.title = absl::StrCat("Utterances of the longest stream (", HtmlEscape(longest->id), ", ",
                             Fixed(longest->duration_s, 1), " s): final latency at each end");
  chart.x_label = "utterance end (s from the stream's start)";
  chart.y_label = "final latency (ms)";
  for (double end : longest->final_end_s) chart.categories.push_back(Fixed(end, 1));
  for (const auto& v : data.summary.variants) {
    ChartSeries series{SeriesName(v.lact), SeriesColor(v.lact), {}};
    for (const auto& r : data.results) {
      if (r.id != longest->id || r.lact != v.lact) continue;
      series.values = r.final_latencies_ms;
    }
    series.values.resize(chart.categories.size(), 0.0);
    chart.series.push_back(std::move(series));
  }
  return absl::StrCat(
      "<h2>Utterance timeline</h2>\n", RenderBarChart(chart),
      "<p class=\"meta\">Each bar is one final result (one utterance with endpointing; the "
      "first setting's utterance ends label the axis). Latency: from sending the audio at the "
      "utterance's end to the final's arrival.</p>\n");
}

std::string RenderCharts(const ChartData& data) {
  BarChartSpec time =
      PerUtteranceChart(data, "chart-time", "Processing time per utterance vs audio length (s)",
                        "seconds", false, [](const auto& r) { return r.stream_s; });
  std::map<std::string, double> audio_by_id;
  for (const auto& r : data.results) audio_by_id[r.id] = r.duration_s;
  ChartSeries audio{"audio length", kColorAudio, {}};
  for (const auto& id : data.ids) audio.values.push_back(audio_by_id[id]);
  time.series.push_back(std::move(audio));
  BarChartSpec rtfx;
  rtfx.id = "chart-rtfx";
  rtfx.title = "Throughput (RTFX = audio seconds / wall seconds)";
  rtfx.y_label = "RTFX";
  rtfx.categories = {"RTFX"};
  rtfx.height = 240;
  for (const auto& v : data.summary.variants) {
    rtfx.series.push_back({SeriesName(v.lact), SeriesColor(v.lact), {v.rtfx}});
  }
  return absl::StrCat(
      "<h2>Accuracy per utterance</h2>\n",
      RenderBarChart(PerUtteranceChart(data, "chart-wer", "WER per utterance", "WER", true,
                                       [](const auto& r) { return r.score.wer(); })),
      RenderBarChart(PerUtteranceChart(data, "chart-cer", "CER per utterance", "CER", true,
                                       [](const auto& r) { return r.score.cer(); })),
      "<h2>Latency</h2>\n",
      RenderHistogram(LatencyHistogram(data, "chart-latency-interim",
                                       "Interim result latency (audio sent to response received)",
                                       &UtteranceResult::interim_latencies_ms)),
      RenderHistogram(LatencyHistogram(data, "chart-latency-final",
                                       "Final result latency (utterance end sent to final result)",
                                       &UtteranceResult::final_latencies_ms)),
      RenderTimeline(data), "<h2>Inference time and throughput</h2>\n", RenderBarChart(time),
      "<p class=\"meta\">Processing time: from the first audio message to the end of the "
      "call. With --simulate_realtime it cannot be shorter than the audio.</p>\n",
      RenderBarChart(rtfx));
}

std::string RenderFailures(const std::vector<FailedStream>& failures) {
  if (failures.empty()) return "";
  std::string html =
      absl::StrCat("<h2 class=\"fail\">Failed streams (", failures.size(),
                   ")</h2>\n<table id=\"failures-table\"><tr><th>id</th><th>LaCT</th>"
                   "<th>error</th></tr>\n");
  for (const auto& f : failures) {
    absl::StrAppend(&html, "<tr><td>", HtmlEscape(f.id), "</td><td>", HtmlEscape(f.lact),
                    "</td><td class=\"text\">", HtmlEscape(f.error), "</td></tr>\n");
  }
  html += "</table>\n";
  return html;
}

std::string RenderTranscripts(const std::vector<UtteranceResult>& results) {
  std::string html =
      "<h2>Transcripts</h2>\n<table id=\"utterance-table\">\n<tr><th>id</th><th>LaCT</th>"
      "<th>audio (s)</th><th>WER</th><th>CER</th><th>S/D/I</th><th>final latency (ms)</th>"
      "<th>reference / hypothesis</th></tr>\n";
  for (const auto& r : results) {
    absl::StrAppend(&html, "<tr><td>", HtmlEscape(r.id), "</td><td>", HtmlEscape(r.lact),
                    "</td><td>", Fixed(r.duration_s, 2), "</td><td>", Fixed(100 * r.score.wer(), 1),
                    "%</td><td>", Fixed(100 * r.score.cer(), 1), "%</td><td>",
                    r.score.words.substitutions, "/", r.score.words.deletions, "/",
                    r.score.words.insertions, "</td><td>",
                    r.final_latency_ms >= 0 ? Fixed(r.final_latency_ms, 1) : "&ndash;",
                    "</td><td class=\"text\">REF: ", HtmlEscape(r.reference),
                    "<br>HYP: ", HtmlEscape(r.hypothesis), "</td></tr>\n");
  }
  html +=
      "</table>\n<p class=\"meta\">WER/CER: Levenshtein alignment after normalisation "
      "(upper-case, apostrophes kept, other punctuation dropped, whitespace collapsed); "
      "corpus rates are total errors over total reference words/characters. Latency: time "
      "from sending the audio that caused a response to its arrival.</p>\n";
  return html;
}

}  // namespace

std::string RenderHtmlReport(const EvalSummary& summary,
                             const std::vector<UtteranceResult>& results,
                             const std::vector<FailedStream>& failures) {
  const ChartData data{summary, results, UtteranceOrder(results)};
  return absl::StrCat(RenderHeader(summary.run), RenderSummaryTable(summary), RenderCharts(data),
                      RenderFailures(failures), RenderTranscripts(results), "</body>\n</html>\n");
}

}  // namespace lact::eval
