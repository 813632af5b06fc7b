// Synthetic evaluation results for the report tests.
#pragma once

#include <string>
#include <vector>

#include "client/eval_summary.h"

namespace lact::eval::testing {

inline UtteranceResult MakeResult(const std::string& id, const std::string& lact,
                                  const std::string& ref, const std::string& hyp, double seconds,
                                  std::vector<double> interim_ms, double final_ms) {
  UtteranceResult r;
  r.id = id;
  r.speaker = id.substr(0, id.find('-'));
  r.lact = lact;
  r.duration_s = seconds;
  r.reference = ref;
  r.hypothesis = hyp;
  r.score = ScoreUtterance(ref, hyp);
  r.interim_latencies_ms = std::move(interim_ms);
  r.first_interim_ms = r.interim_latencies_ms.empty() ? -1 : 400 + r.interim_latencies_ms[0];
  r.final_latency_ms = final_ms;
  r.final_latencies_ms = {final_ms};
  r.stream_s = seconds + final_ms / 1000;
  return r;
}

// Two utterances, streamed without and with LaCT (the --lact both layout).
inline std::vector<UtteranceResult> BothResults() {
  return {
      MakeResult("1089-134686-0000", "off", "HE HOPED THERE WOULD BE STEW FOR DINNER",
                 "HE HOPED THERE WOULD BE STEW FOR DINER", 10.4, {120, 140, 95}, 210),
      MakeResult("1089-134686-0001", "off", "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM",
                 "STUFF IT IN TO YOU HIS BELLY COUNSELED HIM", 3.1, {110, 150}, 190),
      MakeResult("1089-134686-0000", "on", "HE HOPED THERE WOULD BE STEW FOR DINNER",
                 "HE HOPED THERE WOULD BE STEW FOR DINNER", 10.4, {130, 160, 105}, 230),
      MakeResult("1089-134686-0001", "on", "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM",
                 "STUFF, IT \"INTO\" YOU HIS BELLY COUNSELED HIM", 3.1, {125}, 205),
  };
}

inline RunInfo MakeRunInfo(const std::string& lact_mode) {
  RunInfo run;
  run.server = "127.0.0.1:50051";
  run.corpus = "LibriSpeech/test-clean";
  run.encoding = "linear16";
  run.lact_mode = lact_mode;
  run.chunk_duration_ms = 100;
  run.num_parallel_requests = 8;
  run.simulate_realtime = true;
  run.interim_results = true;
  run.items = 2;
  run.started_at = "2024-05-01T12:00:00Z";
  return run;
}

}  // namespace lact::eval::testing
