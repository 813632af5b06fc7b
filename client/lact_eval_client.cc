// lact_eval_client: replays a LibriSpeech folder (or a manifest) through lact_server's
// StreamingRecognize (or, with --offline, Recognize: client/eval_runner), scores WER/CER, measures
// latency and throughput like NVIDIA's riva_streaming_asr_client, and compares LaCT with the
// baseline. See docs/eval_client.md.
//
// Exit status: 0 when every stream completed; 1 when any stream failed (the count is printed);
// 2 when the run could not start (bad flags, unreadable corpus, server unreachable).
//
// (The file is named after the binary so that abseil's --help lists the flags defined here.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/audio_encoder.h"
#include "client/confidence_fit.h"
#include "client/eval_runner.h"
#include "client/eval_summary.h"
#include "client/progress.h"
#include "client/report.h"
#include "client/server_flags.h"
#include "client/stream_client.h"
#include "core/corpus/librispeech.h"
#include "core/flags/alternatives_flag.h"
#include "core/flags/boost_flag.h"
#include "core/flags/endpointing_mode_flag.h"
#include "core/flags/flag_names.h"
#include "core/flags/lact_flag.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(std::string, librispeech, "",
          "LibriSpeech folder: the one holding <split>/ (e.g. .../LibriSpeech), its parent, or the "
          "split folder itself");
ABSL_FLAG(std::string, split, "test-clean", "LibriSpeech split to evaluate");
ABSL_FLAG(std::string, manifest, "",
          "Instead of --librispeech: a file of 'path<TAB>reference' lines (relative paths are "
          "relative to the manifest)");
ABSL_FLAG(int32_t, num_parallel_requests, 1, "Streams open at the same time");
ABSL_FLAG(bool, simulate_realtime, false,
          "Send audio at its own pace (each chunk when its last sample would have been "
          "captured) instead of as fast as possible");
ABSL_FLAG(int32_t, chunk_duration_ms, 100,
          "Audio per message (linear16), or per Ogg flush (ogg_opus)");
ABSL_FLAG(std::string, encoding, "linear16",
          "linear16 | ogg_opus | opus (raw Opus, one --opus_frame_ms packet per message)");
ABSL_FLAG(int32_t, opus_frame_ms, 20, "Opus packet duration for --encoding opus: 10, 20, 40, 60");
ABSL_FLAG(int32_t, opus_bitrate, 32000, "Opus target bitrate (bits/s)");
ABSL_FLAG(int32_t, sample_rate_hz, 16000,
          "Rate the audio is resampled to and sent at (Opus: 8000, 12000, 16000, 24000, 48000)");
ABSL_FLAG(bool, interim_results, true, "Ask for interim results (needed for interim latency)");
ABSL_FLAG(bool, word_confidence, false,
          "Ask for word confidences (enable_word_confidence) and report their calibration "
          "against the references: expected calibration error and a reliability table");
ABSL_FLAG(std::string, fit_confidence, "",
          "With --word_confidence: fit the word-confidence map of the server's decoder on this "
          "run's words and write it into this confidence.json (a model folder's; the server must "
          "give raw values: --calibrate_confidence=false or no confidence.json)");
ABSL_FLAG(int32_t, limit, 0, "Evaluate only the first N items (0: all)");
ABSL_FLAG(bool, long_form, false,
          "Join each chapter's utterances, in order, into one stream (LaCT adapts over minutes "
          "of one speaker); the joined reference is scored");
ABSL_FLAG(std::string, output_dir, "eval_out",
          "Where results.csv, summary.json and report.html are written");
ABSL_FLAG(double, timeout_s, 0,
          "Deadline of each stream in seconds; 0: 60 s plus 4x the audio length");
ABSL_FLAG(bool, progress, true, "Print a progress line on stderr");
ABSL_FLAG(bool, offline, false,
          "Send each item as one Recognize call (the whole clip in one message, as "
          "riva_asr_client does) instead of a StreamingRecognize stream: offline throughput "
          "(RTFX) and per-call latency; linear16 or ogg_opus, not with --simulate_realtime");
// clang-format on

namespace {

using lact::eval::FailedStream;
using lact::eval::UtteranceResult;
using Settings = lact::eval::EvalSettings;

constexpr int kExitStreamsFailed = 1;
constexpr int kExitCannotStart = 2;

int Fail(const absl::Status& status) {
  std::cerr << "lact_eval_client: " << status << "\n";
  return kExitCannotStart;
}

std::string NowRfc3339() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

std::string Pct(double v) { return absl::StrFormat("%.2f%%", 100 * v); }

void PrintLatency(const char* name, const lact::eval::LatencyStats& s) {
  if (s.count == 0) {
    std::printf("  %-22s none\n", name);
    return;
  }
  std::printf("  %-22s p50 %8.1f  p90 %8.1f  p95 %8.1f  p99 %8.1f  mean %8.1f  (n=%lld)\n", name,
              s.p50, s.p90, s.p95, s.p99, s.mean, static_cast<long long>(s.count));
}

void PrintSummary(const lact::eval::EvalSummary& summary) {
  for (const auto& v : summary.variants) {
    std::printf("\nLaCT %s%s: %lld streams, %lld failed\n", v.lact.c_str(),
                v.lact == "off" ? " (baseline)" : "", static_cast<long long>(v.utterances),
                static_cast<long long>(v.failures));
    std::printf("  WER %s  (S %lld, D %lld, I %lld / %lld words)   CER %s (%lld chars)\n",
                Pct(v.wer).c_str(), static_cast<long long>(v.words.substitutions),
                static_cast<long long>(v.words.deletions),
                static_cast<long long>(v.words.insertions),
                static_cast<long long>(v.words.reference_length), Pct(v.cer).c_str(),
                static_cast<long long>(v.chars.reference_length));
    std::printf("  Latencies (ms):\n");
    PrintLatency("interim", v.interim);
    PrintLatency("final", v.final);
    PrintLatency("time to first interim", v.first_interim);
    PrintLatency("from speech onset", v.first_interim_from_onset);
    std::printf(
        "  Finals: %lld (%.1f per stream)   Largest response: %lld B   Speech events: %lld\n",
        static_cast<long long>(v.finals),
        v.utterances > 0 ? static_cast<double>(v.finals) / v.utterances : 0.0,
        static_cast<long long>(v.largest_response_bytes), static_cast<long long>(v.speech_events));
    std::printf("  Run time: %.2f s   Audio processed: %.2f s   Throughput: %.2f RTFX\n", v.wall_s,
                v.audio_s, v.rtfx);
    if (lact::GetMaxAlternativesFlag().value_or(1) > 1) {
      std::printf("  Oracle WER over the alternatives: %s\n", Pct(v.oracle_wer).c_str());
    }
    const lact::eval::CalibrationSummary& c = v.word_confidence;
    if (c.words > 0) {
      std::printf(
          "  Word confidence: ECE %.3f over %lld words (mean confidence %.3f, accuracy "
          "%.3f; %lld streams skipped)\n",
          c.ece, static_cast<long long>(c.words), c.mean_confidence,
          static_cast<double>(c.correct) / static_cast<double>(c.words),
          static_cast<long long>(c.skipped_utterances));
      for (const auto& b : c.bins) {
        if (b.count == 0) continue;
        std::printf("    [%.1f, %.1f)  %6lld words  confidence %.3f  accuracy %.3f\n", b.lower,
                    b.upper, static_cast<long long>(b.count), b.mean_confidence, b.accuracy);
      }
    }
  }
}

// The stream and encoder settings from the flags.
absl::Status SettingsFromFlags(Settings* settings) {
  auto encoding = lact::eval::ParseAudioEncoding(absl::GetFlag(FLAGS_encoding));
  if (!encoding.ok()) return encoding.status();
  settings->encoder.encoding = *encoding;
  settings->encoder.sample_rate = absl::GetFlag(FLAGS_sample_rate_hz);
  settings->encoder.chunk_duration_ms = absl::GetFlag(FLAGS_chunk_duration_ms);
  settings->encoder.opus_frame_ms = absl::GetFlag(FLAGS_opus_frame_ms);
  settings->encoder.opus_bitrate_bps = absl::GetFlag(FLAGS_opus_bitrate);
  if (auto s = settings->encoder.Validate(); !s.ok()) return s;
  settings->stream.encoding = settings->encoder.encoding;
  settings->stream.sample_rate = settings->encoder.sample_rate;
  settings->stream.interim_results = absl::GetFlag(FLAGS_interim_results);
  settings->stream.word_confidence = absl::GetFlag(FLAGS_word_confidence);
  auto alternatives = lact::GetMaxAlternativesFlag();
  if (!alternatives.ok()) return alternatives.status();
  settings->stream.max_alternatives = *alternatives;
  auto boost = lact::GetBoostFlags();  // --boost, --boost_file
  if (!boost.ok()) return boost.status();
  settings->stream.boost = *std::move(boost);
  auto endpointing = lact::GetEndpointingModeFlag();
  if (!endpointing.ok()) return endpointing.status();
  settings->stream.endpointing = *endpointing;
  settings->stream.send.simulate_realtime = absl::GetFlag(FLAGS_simulate_realtime);
  settings->timeout_s = absl::GetFlag(FLAGS_timeout_s);
  settings->parallel = absl::GetFlag(FLAGS_num_parallel_requests);
  if (settings->parallel < 1)
    return absl::InvalidArgumentError("--num_parallel_requests must be >= 1");
  if (settings->timeout_s < 0) return absl::InvalidArgumentError("--timeout_s must be >= 0");
  settings->offline = absl::GetFlag(FLAGS_offline);
  if (settings->offline && settings->stream.send.simulate_realtime) {
    return absl::InvalidArgumentError(
        "--offline sends each clip in one message: it cannot be paced (--simulate_realtime)");
  }
  if (settings->offline && settings->encoder.encoding == lact::eval::AudioEncoding::kOpus) {
    return absl::InvalidArgumentError(
        "--offline needs one message per clip: --encoding linear16 or ogg_opus, not opus");
  }
  return absl::OkStatus();
}

// The phases --lact asks for: "off", "on", or "auto" (enable_lact left unset: the server's
// default).
absl::StatusOr<std::vector<std::string>> PhasesFromFlags() {
  auto lact_mode = lact::GetLactFlag(
      lact::LactMode::kBoth,
      {lact::LactMode::kOn, lact::LactMode::kOff, lact::LactMode::kBoth, lact::LactMode::kAuto});
  if (!lact_mode.ok()) return lact_mode.status();
  if (*lact_mode == lact::LactMode::kBoth) return std::vector<std::string>{"off", "on"};
  return std::vector<std::string>{lact::LactModeName(*lact_mode)};
}

// The channel to --server (client/server_flags), once the server answers; the bearer token and
// the target go into `settings`.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectFromFlags(Settings* settings) {
  auto server = lact::eval::ConnectFromFlags("lact_eval_client");
  if (!server.ok()) return server.status();
  settings->server = server->target;
  settings->stream.auth_token = server->auth_token;
  return server->channel;
}

lact::eval::RunInfo MakeRunInfo(const Settings& settings,
                                const lact::eval::CorpusOptions& corpus_options,
                                const std::vector<std::string>& phases, size_t items) {
  lact::eval::RunInfo run;
  run.server = settings.server;
  run.corpus =
      corpus_options.manifest.empty()
          ? *lact::eval::ResolveSplitDir(corpus_options.librispeech_dir, corpus_options.split)
          : corpus_options.manifest;
  run.encoding = std::string(lact::eval::AudioEncodingName(settings.encoder.encoding));
  run.lact_mode = phases.size() == 2 ? "both" : phases[0];
  run.chunk_duration_ms = settings.encoder.chunk_duration_ms;
  run.num_parallel_requests = settings.parallel;
  run.simulate_realtime = settings.stream.send.simulate_realtime;
  run.offline = settings.offline;
  run.interim_results = settings.stream.interim_results;
  run.endpointing = !settings.stream.endpointing.has_value() ? "server"
                    : *settings.stream.endpointing           ? "on"
                                                             : "off";
  run.long_form = corpus_options.long_form;
  run.items = static_cast<int>(items);
  run.started_at = NowRfc3339();
  return run;
}

// The server's window that decodes the run's items (RunInfo::window): Recognize's with --offline
// (a server that reports none decodes clips as streams), else the streaming one; "" when
// GetRecognitionConfig fails (the run goes on: the window is for the record).
std::string ServerWindow(const lact::eval::StreamClient& client, const Settings& settings) {
  auto config = client.GetRecognitionConfig(settings.stream.auth_token, /*timeout_s=*/10);
  if (!config.ok()) {
    std::fprintf(stderr, "[eval] the server's window is unknown (GetRecognitionConfig: %s)\n",
                 config.status().ToString().c_str());
    return "";
  }
  const auto& w = settings.offline && config->recognize_window().step_ms() > 0
                      ? config->recognize_window()
                      : config->streaming_window();
  return absl::StrCat(w.step_ms(), "/", w.left_context_ms(), "/", w.lookahead_ms());
}

// --fit_confidence: the decoder whose map the run fits ("beam" or "greedy"), once the server is
// known to give raw confidences; "" without the flag.
absl::StatusOr<std::string> FitTarget(const lact::eval::StreamClient& client,
                                      const Settings& settings) {
  if (absl::GetFlag(FLAGS_fit_confidence).empty()) return std::string();
  if (!settings.stream.word_confidence) {
    return absl::InvalidArgumentError("--fit_confidence needs --word_confidence");
  }
  auto config = client.GetRecognitionConfig(settings.stream.auth_token);
  if (!config.ok()) return config.status();
  if (config->confidence_calibrated()) {
    return absl::FailedPreconditionError(
        "the server maps confidences already (its model folder has confidence.json): a map is "
        "fitted on raw values, start it with --calibrate_confidence=false");
  }
  return config->decoder();
}

// Fits the map of `decoder` on every stream's words and writes it (--fit_confidence).
absl::Status FitConfidence(const std::string& decoder,
                           const std::vector<UtteranceResult>& results) {
  lact::eval::CalibrationTally tally;
  for (const UtteranceResult& r : results) {
    if (!r.word_confidences.empty())
      tally.AddUtterance(r.reference, r.hypothesis, r.word_confidences);
  }
  auto fit = lact::eval::FitWordConfidence(tally);
  if (!fit.ok()) return fit.status();
  const std::string path = absl::GetFlag(FLAGS_fit_confidence);
  if (auto s = lact::eval::WriteConfidenceFit(path, decoder, fit->map); !s.ok()) return s;
  std::printf(
      "\nConfidence map for the server's %s decoder: a %.4f, b %.4f (%lld words); ECE on them "
      "%.3f -> %.3f, mean confidence %.3f -> %.3f\nWrote %s\n",
      decoder.c_str(), fit->map.a, fit->map.b, static_cast<long long>(fit->before.words),
      fit->before.ece, fit->after.ece, fit->before.mean_confidence, fit->after.mean_confidence,
      path.c_str());
  return absl::OkStatus();
}

// The failed streams (the first 10) on stderr; the exit code.
int ReportFailures(const std::vector<FailedStream>& failures, size_t streams) {
  if (failures.empty()) return 0;
  std::fprintf(stderr, "lact_eval_client: %zu of %zu streams failed:\n", failures.size(), streams);
  for (size_t i = 0; i < failures.size() && i < 10; ++i) {
    std::fprintf(stderr, "  %s (lact %s): %s\n", failures[i].id.c_str(), failures[i].lact.c_str(),
                 failures[i].error.c_str());
  }
  return kExitStreamsFailed;
}

}  // namespace

int main(int argc, char** argv) {
  const char* const kUsage =
      R"(Streams a LibriSpeech split (or a manifest) through lact_server and reports WER/CER,
latency and throughput, with and without LaCT.
  lact_eval_client --server localhost:50051 --librispeech DIR [--split test-clean]
                   [--lact both] [--num_parallel_requests 8] [--simulate_realtime | --offline]
                   [--output_dir DIR])";
  if (!lact::ParseFlagsOnly(argc, argv, "lact_eval_client", kUsage)) return 2;

  lact::eval::CorpusOptions corpus_options;
  corpus_options.librispeech_dir = absl::GetFlag(FLAGS_librispeech);
  corpus_options.split = absl::GetFlag(FLAGS_split);
  corpus_options.manifest = absl::GetFlag(FLAGS_manifest);
  corpus_options.long_form = absl::GetFlag(FLAGS_long_form);
  corpus_options.limit = absl::GetFlag(FLAGS_limit);
  Settings settings;
  if (auto s = SettingsFromFlags(&settings); !s.ok()) return Fail(s);
  auto phases = PhasesFromFlags();
  if (!phases.ok()) return Fail(phases.status());
  auto items = lact::eval::LoadCorpus(corpus_options);
  if (!items.ok()) return Fail(items.status());
  auto channel = ConnectFromFlags(&settings);
  if (!channel.ok()) return Fail(channel.status());
  lact::eval::StreamClient client(*channel);
  auto fit_decoder = FitTarget(client, settings);
  if (!fit_decoder.ok()) return Fail(fit_decoder.status());

  lact::eval::RunInfo run = MakeRunInfo(settings, corpus_options, *phases, items->size());
  run.window = ServerWindow(client, settings);
  std::fprintf(stderr, "[eval] %zu %s from %s, LaCT %s, %d parallel, %s%s%s, window %s ms\n",
               items->size(), corpus_options.long_form ? "chapters" : "utterances",
               run.corpus.c_str(), run.lact_mode.c_str(), settings.parallel, run.encoding.c_str(),
               run.simulate_realtime ? ", real-time pace" : "",
               run.offline ? ", offline (Recognize)" : "",
               run.window.empty() ? "unknown" : run.window.c_str());
  lact::eval::ProgressReporter progress(absl::GetFlag(FLAGS_progress) ? stderr : nullptr,
                                        static_cast<int64_t>(items->size() * phases->size()));
  std::vector<UtteranceResult> results;
  std::vector<FailedStream> failures;
  std::vector<double> phase_wall_s;
  const auto run_start = std::chrono::steady_clock::now();
  for (const std::string& lact : *phases) {
    const auto phase_start = std::chrono::steady_clock::now();
    lact::eval::RunPhase(*items, lact, settings, client, &progress, run_start, &results, &failures);
    phase_wall_s.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - phase_start).count());
  }
  progress.Finish();

  const lact::eval::EvalSummary summary =
      lact::eval::Summarize(run, *phases, phase_wall_s, results, failures);
  PrintSummary(summary);
  const std::string output_dir = absl::GetFlag(FLAGS_output_dir);
  if (auto s = lact::eval::WriteReports(output_dir, summary, results, failures); !s.ok())
    return Fail(s);
  std::printf("\nWrote %s/results.csv, summary.json, report.html\n", output_dir.c_str());
  if (!fit_decoder->empty()) {
    if (auto s = FitConfidence(*fit_decoder, results); !s.ok()) return Fail(s);
  }
  return ReportFailures(failures, items->size() * phases->size());
}
