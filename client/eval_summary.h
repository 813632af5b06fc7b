// What an evaluation run measured: one result per streamed utterance and LaCT setting, and the
// per-setting summary (corpus WER/CER, latency percentiles, throughput) computed from them.
//
// Latency, as riva_streaming_asr_client measures it: for every response, the time from sending
// the audio that caused it to the response's arrival. The audio that caused a response is the
// chunk that completed its `result_end_time` (interim: the end of the audio the server decoded
// for it; final: the end of its utterance, or all the audio at the half-close). Interim and final
// latencies are summarised separately. Time to first interim is from the first audio message
// to the first interim result. Throughput is RTFX = audio seconds / wall seconds of the phase
// that streamed them (with --lact both, each setting runs as its own phase).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/calibration.h"
#include "core/corpus/scoring.h"

namespace lact::eval {

// One corpus item streamed once.
struct UtteranceResult {
  std::string id;
  std::string speaker;
  std::string lact;  // "on" or "off"
  double duration_s = 0;
  std::string reference;
  std::string hypothesis;
  UtteranceScore score;                      // of reference vs hypothesis
  double first_interim_ms = -1;              // < 0: no interim result arrived
  double speech_onset_ms = 0;                // where the speech starts (client/speech_onset.h)
  double final_latency_ms = -1;              // half-close -> final result; < 0: none arrived
  std::vector<double> interim_latencies_ms;  // one per interim response
  std::vector<double> final_latencies_ms;    // one per final response (utterance end -> final)
  std::vector<double> final_end_s;           // each final's result_end_time (the same order)
  int finals = 0;                            // final results (one per utterance)
  int64_t largest_response_bytes = 0;
  int speech_events = 0;
  double stream_s = 0;  // wall time from the first audio message to the end of the call
  std::vector<double> word_confidences;  // of the hypothesis' words (--word_confidence)
  // Word errors of the best alternative of a one-final stream (--max_alternatives); else those
  // of the hypothesis.
  int64_t oracle_word_errors = 0;
};

// A stream that did not complete (its status from the server or the transport).
struct FailedStream {
  std::string id;
  std::string lact;
  std::string error;
};

// Summary statistics of a set of latencies (milliseconds). Percentiles interpolate linearly
// between the closest ranks (numpy's default): p = sorted[(n - 1) * q] interpolated.
struct LatencyStats {
  int64_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
};
LatencyStats ComputeLatencyStats(std::vector<double> values_ms);
// The q-quantile (q in [0, 1]) of `sorted` (ascending, non-empty), interpolated as above.
double Quantile(const std::vector<double>& sorted, double q);

// One LaCT setting's totals.
struct VariantSummary {
  std::string lact;        // "on" or "off"
  int64_t utterances = 0;  // completed streams
  int64_t failures = 0;
  EditCounts words;
  EditCounts chars;
  double wer = 0;  // words.errors / words.reference_length
  double cer = 0;
  double audio_s = 0;  // audio of the completed streams
  double wall_s = 0;   // wall time of this setting's phase
  double rtfx = 0;     // audio_s / wall_s
  LatencyStats interim;
  LatencyStats final;
  LatencyStats first_interim;
  LatencyStats first_interim_from_onset;  // first_interim_ms - speech_onset_ms
  LatencyStats stream_s;                  // per-stream wall seconds (not ms)
  int64_t finals = 0;                     // final results of the completed streams
  int64_t largest_response_bytes = 0;
  int64_t speech_events = 0;
  double oracle_wer = 0;               // oracle_word_errors / reference words
  CalibrationSummary word_confidence;  // words == 0 without --word_confidence
};

// How the run was made (echoed into summary.json and the report).
struct RunInfo {
  std::string server;
  std::string corpus;  // split folder or manifest
  std::string encoding;
  std::string lact_mode;  // on, off, both
  int chunk_duration_ms = 0;
  int num_parallel_requests = 0;
  bool simulate_realtime = false;
  bool offline = false;  // --offline: Recognize calls, not streams
  bool interim_results = false;
  std::string endpointing = "server";  // --endpointing: on, off, or server (left to it)
  bool long_form = false;
  // The server's window that decoded the items, "step/left_context/lookahead" in ms: Recognize's
  // with --offline, else the streaming one (GetRecognitionConfig); "" when the server did not say.
  std::string window;
  int items = 0;           // corpus items (streams per setting)
  std::string started_at;  // RFC 3339, UTC
};

struct EvalSummary {
  RunInfo run;
  std::vector<VariantSummary> variants;  // in run order ("off" before "on" with --lact both)
  int64_t failures = 0;
  double audio_s = 0;
  double wall_s = 0;
  double rtfx = 0;
};

// Sums `results` per LaCT setting. `phase_wall_s[i]` is the wall time of the phase that ran
// `lact_order[i]`; settings appear in that order.
EvalSummary Summarize(const RunInfo& run, const std::vector<std::string>& lact_order,
                      const std::vector<double>& phase_wall_s,
                      const std::vector<UtteranceResult>& results,
                      const std::vector<FailedStream>& failures);

}  // namespace lact::eval
