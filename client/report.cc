#include "client/report.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lact::eval {
namespace {

std::string Fixed(double v, int digits) { return absl::StrFormat("%.*f", digits, v); }

nlohmann::json CountsJson(const EditCounts& c) {
  return {{"substitutions", c.substitutions},
          {"deletions", c.deletions},
          {"insertions", c.insertions},
          {"hits", c.hits},
          {"errors", c.errors()},
          {"reference_length", c.reference_length}};
}

nlohmann::json LatencyJson(const LatencyStats& s) {
  return {{"count", s.count}, {"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90},
          {"p95", s.p95},     {"p99", s.p99},   {"max", s.max}};
}

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
                    CsvField(r.lact), ",", r.finals, ",", r.largest_response_bytes, "\n");
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
              {"offline", run.offline},
              {"interim_results", run.interim_results},
              {"endpointing", run.endpointing},
              {"long_form", run.long_form},
              {"window", run.window},
              {"started_at", run.started_at}};
  j["settings"] = nlohmann::json::array();
  for (const VariantSummary& v : summary.variants) {
    j["settings"].push_back(
        {{"lact", v.lact},
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
           {"first_interim", LatencyJson(v.first_interim)},
           {"first_interim_from_onset", LatencyJson(v.first_interim_from_onset)}}},
         {"stream_s", LatencyJson(v.stream_s)},
         {"finals", v.finals},
         {"finals_per_stream",
          v.utterances > 0 ? static_cast<double>(v.finals) / v.utterances : 0.0},
         {"largest_response_bytes", v.largest_response_bytes},
         {"speech_events", v.speech_events},
         {"oracle_wer", v.oracle_wer}});
    if (v.word_confidence.words > 0) {
      const CalibrationSummary& c = v.word_confidence;
      nlohmann::json bins = nlohmann::json::array();
      for (const ReliabilityBin& b : c.bins) {
        bins.push_back({{"lower", b.lower},
                        {"upper", b.upper},
                        {"count", b.count},
                        {"mean_confidence", b.mean_confidence},
                        {"accuracy", b.accuracy}});
      }
      j["settings"].back()["word_confidence"] = {{"words", c.words},
                                                 {"correct", c.correct},
                                                 {"skipped_streams", c.skipped_utterances},
                                                 {"ece", c.ece},
                                                 {"mean_confidence", c.mean_confidence},
                                                 {"bins", bins}};
    }
  }
  const VariantSummary* off = nullptr;
  const VariantSummary* on = nullptr;
  for (const auto& v : summary.variants) {
    if (v.lact == "off") off = &v;
    if (v.lact == "on") on = &v;
  }
  if (off != nullptr && on != nullptr) {
    j["lact_vs_baseline"] = {
        {"wer_change", on->wer - off->wer},
        {"cer_change", on->cer - off->cer},
        {"wer_relative_change", off->wer > 0 ? (on->wer - off->wer) / off->wer : 0.0},
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
