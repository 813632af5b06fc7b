#include "client/report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

nlohmann::json CountsJson(const EditCounts& c) {
  return {{"substitutions", c.substitutions}, {"deletions", c.deletions},
          {"insertions", c.insertions},       {"hits", c.hits},
          {"errors", c.errors()},             {"reference_length", c.reference_length}};
}

nlohmann::json LatencyJson(const LatencyStats& s) {
  return {{"count", s.count}, {"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90},
          {"p95", s.p95},     {"p99", s.p99},   {"max", s.max}};
}

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

}  // namespace

std::string CsvField(std::string_view value) {
  const bool quote = value.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string RenderResultsCsv(const std::vector<UtteranceResult>& results) {
  std::string csv = std::string(kResultsCsvHeader) + "\n";
  for (const auto& r : results) {
    absl::StrAppend(&csv, CsvField(r.id), ",", CsvField(r.speaker), ",", Fixed(r.duration_s, 3),
                    ",", CsvField(r.reference), ",", CsvField(r.hypothesis), ",",
                    Fixed(r.score.wer(), 6), ",", Fixed(r.score.cer(), 6), ",",
                    r.score.words.errors(), ",",
                    r.first_interim_ms >= 0 ? Fixed(r.first_interim_ms, 1) : std::string(), ",",
                    r.final_latency_ms >= 0 ? Fixed(r.final_latency_ms, 1) : std::string(), ",",
                    CsvField(r.lact), "\n");
  }
  return csv;
}

std::string RenderSummaryJson(const EvalSummary& summary,
                              const std::vector<FailedStream>& failures) {
  const RunInfo& run = summary.run;
  nlohmann::json j;
  j["run"] = {{"server", run.server},
              {"corpus", run.corpus},
              {"items", run.items},
              {"encoding", run.encoding},
              {"lact", run.lact_mode},
              {"chunk_duration_ms", run.chunk_duration_ms},
              {"num_parallel_requests", run.num_parallel_requests},
              {"simulate_realtime", run.simulate_realtime},
              {"interim_results", run.interim_results},
              {"long_form", run.long_form},
              {"started_at", run.started_at}};
  j["settings"] = nlohmann::json::array();
  for (const VariantSummary& v : summary.variants) {
    j["settings"].push_back({{"lact", v.lact},
                             {"utterances", v.utterances},
                             {"failures", v.failures},
                             {"wer", v.wer},
                             {"cer", v.cer},
                             {"words", CountsJson(v.words)},
                             {"chars", CountsJson(v.chars)},
                             {"audio_s", v.audio_s},
                             {"wall_s", v.wall_s},
                             {"rtfx", v.rtfx},
                             {"latency_ms",
                              {{"interim", LatencyJson(v.interim)},
                               {"final", LatencyJson(v.final)},
                               {"first_interim", LatencyJson(v.first_interim)}}},
                             {"stream_s", LatencyJson(v.stream_s)}});
  }
  const VariantSummary* off = nullptr;
  const VariantSummary* on = nullptr;
  for (const auto& v : summary.variants) {
    if (v.lact == "off") off = &v;
    if (v.lact == "on") on = &v;
  }
  if (off != nullptr && on != nullptr) {
    j["lact_vs_baseline"] = {{"wer_change", on->wer - off->wer},
                             {"cer_change", on->cer - off->cer},
                             {"wer_relative_change",
                              off->wer > 0 ? (on->wer - off->wer) / off->wer : 0.0},
                             {"rtfx_ratio", off->rtfx > 0 ? on->rtfx / off->rtfx : 0.0}};
  }
  j["totals"] = {{"audio_s", summary.audio_s},
                 {"wall_s", summary.wall_s},
                 {"rtfx", summary.rtfx},
                 {"failures", summary.failures}};
  j["failed_streams"] = nlohmann::json::array();
  for (const auto& f : failures) {
    j["failed_streams"].push_back({{"id", f.id}, {"lact", f.lact}, {"error", f.error}});
  }
  return j.dump(2) + "\n";
}

std::string RenderHtmlReport(const EvalSummary& summary,
                             const std::vector<UtteranceResult>& results,
                             const std::vector<FailedStream>& failures) {
  const RunInfo& run = summary.run;
  const std::vector<std::string> ids = UtteranceOrder(results);
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
      "<title>lact_eval_client report</title>\n<style>", kStyle, "</style>\n",
      "<script>", kRenderCheck, "</script>\n</head>\n<body>\n",
      "<h1>Streaming ASR evaluation: LaCT vs baseline</h1>\n<p class=\"meta\">Server ",
      HtmlEscape(run.server), " &middot; corpus ", HtmlEscape(run.corpus), " (", run.items,
      run.long_form ? " long-form chapters" : " utterances", ") &middot; encoding ",
      HtmlEscape(run.encoding), " &middot; chunks of ", run.chunk_duration_ms, " ms &middot; ",
      run.simulate_realtime ? "real-time pace" : "as fast as possible", " &middot; ",
      run.num_parallel_requests, " parallel streams &middot; interim results ",
      run.interim_results ? "on" : "off", " &middot; started ", HtmlEscape(run.started_at),
      "</p>\n");

  // Summary table.
  html += "<h2>Summary</h2>\n<table id=\"summary-table\">\n<tr><th>metric</th>";
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
  // interim p50 ... p99, then final p50 ... p99.
  for (const auto& [kind, stats] : std::vector<std::pair<std::string, LatencyStats VariantSummary::*>>{
           {"interim", &VariantSummary::interim}, {"final", &VariantSummary::final}}) {
    for (const auto& [label, field] : std::vector<std::pair<std::string, double LatencyStats::*>>{
             {"p50", &LatencyStats::p50}, {"p90", &LatencyStats::p90},
             {"p95", &LatencyStats::p95}, {"p99", &LatencyStats::p99}}) {
      row(kind + " latency " + label + " (ms)",
          [s = stats, f = field](const VariantSummary& v) { return LatencyCell(v.*s, f); });
    }
  }
  row("time to first interim p50 (ms)",
      [](const VariantSummary& v) { return LatencyCell(v.first_interim, &LatencyStats::p50); });
  row("interim / final responses", [](const VariantSummary& v) {
    return absl::StrCat(v.interim.count, " / ", v.final.count);
  });
  html += "</table>\n";

  // Per-utterance accuracy.
  BarChartSpec wer;
  wer.id = "chart-wer";
  wer.title = "WER per utterance";
  wer.x_label = run.long_form ? "chapter" : "utterance";
  wer.y_label = "WER";
  wer.percent = true;
  wer.categories = ids;
  BarChartSpec cer = wer;
  cer.id = "chart-cer";
  cer.title = "CER per utterance";
  cer.y_label = "CER";
  BarChartSpec time = wer;
  time.id = "chart-time";
  time.title = "Processing time per utterance vs audio length (s)";
  time.y_label = "seconds";
  time.percent = false;
  BarChartSpec rtfx;
  rtfx.id = "chart-rtfx";
  rtfx.title = "Throughput (RTFX = audio seconds / wall seconds)";
  rtfx.x_label = "";
  rtfx.y_label = "RTFX";
  rtfx.categories = {"RTFX"};
  rtfx.height = 240;
  HistogramSpec interim;
  interim.id = "chart-latency-interim";
  interim.title = "Interim result latency (audio sent to response received)";
  interim.x_label = "latency (ms)";
  HistogramSpec final = interim;
  final.id = "chart-latency-final";
  final.title = "Final result latency (half-close to final result)";
  for (const auto& v : summary.variants) {
    const std::string name = SeriesName(v.lact), color = SeriesColor(v.lact);
    wer.series.push_back({name, color, PerUtterance(results, ids, v.lact, [](const auto& r) {
                            return r.score.wer();
                          })});
    cer.series.push_back({name, color, PerUtterance(results, ids, v.lact, [](const auto& r) {
                            return r.score.cer();
                          })});
    time.series.push_back({name, color, PerUtterance(results, ids, v.lact, [](const auto& r) {
                             return r.stream_s;
                           })});
    rtfx.series.push_back({name, color, {v.rtfx}});
    ChartSeries interim_series{name, color, {}}, final_series{name, color, {}};
    for (const auto& r : results) {
      if (r.lact != v.lact) continue;
      interim_series.values.insert(interim_series.values.end(), r.interim_latencies_ms.begin(),
                                   r.interim_latencies_ms.end());
      final_series.values.insert(final_series.values.end(), r.final_latencies_ms.begin(),
                                 r.final_latencies_ms.end());
    }
    interim.series.push_back(std::move(interim_series));
    final.series.push_back(std::move(final_series));
  }
  std::vector<double> audio_len;
  {
    std::map<std::string, double> by_id;
    for (const auto& r : results) by_id[r.id] = r.duration_s;
    for (const auto& id : ids) audio_len.push_back(by_id[id]);
  }
  time.series.push_back({"audio length", kColorAudio, audio_len});

  html += "<h2>Accuracy per utterance</h2>\n";
  html += RenderBarChart(wer);
  html += RenderBarChart(cer);
  html += "<h2>Latency</h2>\n";
  html += RenderHistogram(interim);
  html += RenderHistogram(final);
  html += "<h2>Inference time and throughput</h2>\n";
  html += RenderBarChart(time);
  html += "<p class=\"meta\">Processing time: from the first audio message to the end of the "
          "call. With --simulate_realtime it cannot be shorter than the audio.</p>\n";
  html += RenderBarChart(rtfx);

  if (!failures.empty()) {
    absl::StrAppend(&html, "<h2 class=\"fail\">Failed streams (", failures.size(),
                    ")</h2>\n<table id=\"failures-table\"><tr><th>id</th><th>LaCT</th>"
                    "<th>error</th></tr>\n");
    for (const auto& f : failures) {
      absl::StrAppend(&html, "<tr><td>", HtmlEscape(f.id), "</td><td>", HtmlEscape(f.lact),
                      "</td><td class=\"text\">", HtmlEscape(f.error), "</td></tr>\n");
    }
    html += "</table>\n";
  }

  html += "<h2>Transcripts</h2>\n<table id=\"utterance-table\">\n<tr><th>id</th><th>LaCT</th>"
          "<th>audio (s)</th><th>WER</th><th>CER</th><th>S/D/I</th><th>final latency (ms)</th>"
          "<th>reference / hypothesis</th></tr>\n";
  for (const auto& r : results) {
    absl::StrAppend(
        &html, "<tr><td>", HtmlEscape(r.id), "</td><td>", HtmlEscape(r.lact), "</td><td>",
        Fixed(r.duration_s, 2), "</td><td>", Fixed(100 * r.score.wer(), 1), "%</td><td>",
        Fixed(100 * r.score.cer(), 1), "%</td><td>", r.score.words.substitutions, "/",
        r.score.words.deletions, "/", r.score.words.insertions, "</td><td>",
        r.final_latency_ms >= 0 ? Fixed(r.final_latency_ms, 1) : "&ndash;",
        "</td><td class=\"text\">REF: ", HtmlEscape(r.reference), "<br>HYP: ",
        HtmlEscape(r.hypothesis), "</td></tr>\n");
  }
  html += "</table>\n<p class=\"meta\">WER/CER: Levenshtein alignment after normalisation "
          "(upper-case, apostrophes kept, other punctuation dropped, whitespace collapsed); "
          "corpus rates are total errors over total reference words/characters. Latency: time "
          "from sending the audio that caused a response to its arrival.</p>\n"
          "</body>\n</html>\n";
  return html;
}

absl::Status WriteReports(const std::string& output_dir, const EvalSummary& summary,
                          const std::vector<UtteranceResult>& results,
                          const std::vector<FailedStream>& failures) {
  std::error_code ec;
  std::filesystem::create_directories(output_dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create output folder '", output_dir, "': ", ec.message()));
  }
  const std::vector<std::pair<std::string, std::string>> files = {
      {"results.csv", RenderResultsCsv(results)},
      {"summary.json", RenderSummaryJson(summary, failures)},
      {"report.html", RenderHtmlReport(summary, results, failures)}};
  for (const auto& [name, content] : files) {
    const std::string path = (std::filesystem::path(output_dir) / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write '", path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace lact::eval
