#include "client/eval_runner.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "client/speech_onset.h"
#include "core/audio/audio_io.h"
#include "core/corpus/scoring.h"

namespace lact::eval {
namespace {

// The item's audio, its files joined in order, at `rate` Hz ([n]).
absl::StatusOr<std::vector<float>> ReadItemAudio(const CorpusItem& item, int rate) {
  std::vector<float> audio;
  for (const std::string& path : item.audio_paths) {
    auto samples = lact::ReadAudioFile(path, rate);
    if (!samples.ok()) return samples.status();
    audio.insert(audio.end(), samples->begin(), samples->end());
  }
  return audio;
}

// One item sent and scored: its result, or why it failed.
absl::StatusOr<UtteranceResult> RunItem(const CorpusItem& item, const std::string& lact,
                                        const EvalSettings& settings, const StreamClient& client) {
  auto audio = ReadItemAudio(item, settings.encoder.sample_rate);
  if (!audio.ok()) return audio.status();
  auto chunks = EncodeForStreaming(*audio, settings.encoder);
  if (!chunks.ok()) return chunks.status();
  const double duration_s = static_cast<double>(audio->size()) / settings.encoder.sample_rate;
  StreamConfig config = settings.stream;
  if (lact == "on") config.enable_lact = true;
  if (lact == "off") config.enable_lact = false;
  config.timeout_s = settings.timeout_s > 0 ? settings.timeout_s : 60 + 4 * duration_s;
  absl::StatusOr<StreamOutcome> outcome =
      settings.offline ? client.Recognize(*chunks, config) : client.Run(*chunks, config);
  if (!outcome.ok()) return outcome.status();
  UtteranceResult r;
  r.id = item.id;
  r.speaker = item.speaker;
  r.lact = lact;
  r.duration_s = duration_s;
  r.reference = item.reference;
  r.hypothesis = outcome->transcript;
  r.score = ScoreUtterance(r.reference, r.hypothesis);
  r.first_interim_ms = outcome->first_interim_ms;
  r.speech_onset_ms = SpeechOnsetMs(*audio, settings.encoder.sample_rate);
  r.final_latency_ms = outcome->final_latency_ms;
  r.interim_latencies_ms = std::move(outcome->interim_latencies_ms);
  r.final_latencies_ms = std::move(outcome->final_latencies_ms);
  r.final_end_s = std::move(outcome->final_end_s);
  r.finals = outcome->final_results;
  r.largest_response_bytes = outcome->largest_response_bytes;
  r.speech_events = outcome->speech_events;
  r.stream_s = outcome->stream_s;
  r.word_confidences = std::move(outcome->word_confidences);
  r.oracle_word_errors = r.score.words.errors();
  if (outcome->final_alternatives.size() == 1) {  // one final: its alternatives compete
    for (const std::string& alt : outcome->final_alternatives[0]) {
      r.oracle_word_errors =
          std::min<int64_t>(r.oracle_word_errors, ScoreUtterance(r.reference, alt).words.errors());
    }
  }
  return r;
}

}  // namespace

void RunPhase(const std::vector<CorpusItem>& items, const std::string& lact,
              const EvalSettings& settings, const StreamClient& client, ProgressReporter* progress,
              std::chrono::steady_clock::time_point run_start,
              std::vector<UtteranceResult>* results, std::vector<FailedStream>* failures) {
  std::vector<std::optional<UtteranceResult>> done(items.size());
  std::mutex mu;
  std::atomic<size_t> next{0};
  auto elapsed = [run_start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  };
  auto worker = [&] {
    for (size_t i = next++; i < items.size(); i = next++) {
      absl::StatusOr<UtteranceResult> r = RunItem(items[i], lact, settings, client);
      if (!r.ok()) {
        {
          std::lock_guard<std::mutex> lock(mu);
          failures->push_back({items[i].id, lact, r.status().ToString()});
        }
        progress->StreamDone(lact, nullptr, elapsed());
        continue;
      }
      progress->StreamDone(lact, &r->score, elapsed());
      std::lock_guard<std::mutex> lock(mu);
      done[i] = *std::move(r);
    }
  };
  std::vector<std::thread> threads;
  const size_t n = std::min<size_t>(static_cast<size_t>(settings.parallel), items.size());
  for (size_t t = 0; t < n; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  for (auto& r : done) {
    if (r.has_value()) results->push_back(std::move(*r));  // corpus order
  }
}

}  // namespace lact::eval
