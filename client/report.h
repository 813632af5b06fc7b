// The evaluation's output files, written into --output_dir:
//
//   results.csv   one row per streamed utterance and LaCT setting, columns exactly
//                 id, speaker, duration_s, reference, hypothesis, wer, cer, errors,
//                 first_interim_ms, final_latency_ms, lact, finals, largest_response_bytes
//                 (RFC 4180 quoting; `errors` = word errors S+D+I; wer/cer per utterance;
//                 first_interim_ms empty when no interim result arrived). Failed streams have
//                 no row: they are listed in summary.json and the report.
//   summary.json  the run's settings, per LaCT setting corpus WER/CER with S/D/I totals,
//                 latency percentiles, RTFX, and the failed streams.
//   report.html   one self-contained page (inline SVG and CSS, no external URLs): WER and CER
//                 per utterance (LaCT vs baseline series when both ran), interim and final
//                 latency histograms, the utterance timeline of the longest stream (each
//                 final's latency at its end time), per-utterance processing time, RTFX, a
//                 summary table and the per-utterance transcripts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "client/eval_summary.h"

namespace lact::eval {

// The CSV's header line, without the newline.
inline constexpr std::string_view kResultsCsvHeader =
    "id,speaker,duration_s,reference,hypothesis,wer,cer,errors,first_interim_ms,"
    "final_latency_ms,lact,finals,largest_response_bytes";

// One CSV field: quoted (with "" for ") when it holds a comma, quote, CR or LF, or starts or
// ends with a space.
std::string CsvField(std::string_view value);

std::string RenderResultsCsv(const std::vector<UtteranceResult>& results);
std::string RenderSummaryJson(const EvalSummary& summary,
                              const std::vector<FailedStream>& failures);
// The self-contained HTML page (client/html_report.cc).
std::string RenderHtmlReport(const EvalSummary& summary,
                             const std::vector<UtteranceResult>& results,
                             const std::vector<FailedStream>& failures);

// Creates `output_dir` if needed and writes the three files.
absl::Status WriteReports(const std::string& output_dir, const EvalSummary& summary,
                          const std::vector<UtteranceResult>& results,
                          const std::vector<FailedStream>& failures);

}  // namespace lact::eval
