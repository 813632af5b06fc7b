#include "core/tools/bench/streaming_run.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/model/device_memory.h"
#include "core/tools/bench/bench_util.h"

namespace lact::bench {
namespace {

// (d) Device memory: LibTorch's allocated bytes on CUDA (live tensors), resident set on the
// CPU. `before`: the model alone, read before any stream exists; `steady` is read after the
// first step in which every stream has been decoded at least once and none has finished:
// model + all streams' state, no activations in flight.
struct MemoryReadings {
  int64_t before = 0, steady = -1, peak = 0;
};

// (b) S real-time streams, staggered over one step, decoded by one worker in batches of at most
// max_batch ready streams (oldest first), on this thread: feeding is free, decoding costs.
class StreamingRun {
 public:
  // audio: each stream's samples; memory_before: the device memory read before any stream.
  StreamingRun(const lact::OnlineRecognizer& rec, bool use_lact, int S, std::vector<float> audio,
               int64_t memory_before)
      : rec_(rec),
        S_(S),
        n_(static_cast<int64_t>(audio.size())),
        audio_(std::move(audio)),
        fed_(S, 0),
        offset_(S),
        ready_since_(S, -1),
        decoded_once_(S, false) {
    memory_.before = memory_.peak = memory_before;
    lact::StreamOptions options;
    options.enable_lact = use_lact;
    for (int s = 0; s < S; ++s) {
      streams_.push_back(rec.CreateStream(options));
      offset_[s] = rec.config().step_ms / 1000.0 * s / S;
    }
  }

  // Until every stream has its final result: deliver the audio due by now, decode the oldest
  // ready streams.
  void Run(int max_batch) {
    const auto start = Clock::now();
    while (finals_ < S_) {
      DeliverAudio(Seconds(Clock::now() - start));
      std::vector<int> batch = OldestReady(max_batch);
      if (batch.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      Decode(batch, start);
    }
    wall_s_ = Seconds(Clock::now() - start);
    if (memory_.steady < 0) memory_.steady = memory_.peak;  // streams ended before all had started
  }

  double wall_s() const { return wall_s_; }
  const std::vector<double>& latencies() const {
    return latencies_;
  }  // s, one per decoded stream step
  const std::vector<double>& batch_sizes() const { return batch_sizes_; }
  int64_t peak_buffer_bytes() const { return peak_buffer_bytes_; }
  int64_t lact_state_bytes() const { return streams_[0]->lact_state_bytes(); }
  const MemoryReadings& memory() const { return memory_; }

 private:
  void DeliverAudio(double now) {
    const int rate = rec_.model().sample_rate();
    for (int s = 0; s < S_; ++s) {
      const int64_t due =
          std::min<int64_t>(n_, static_cast<int64_t>(std::max(0.0, now - offset_[s]) * rate));
      if (due > fed_[s]) {
        (void)streams_[s]->AcceptWaveform(rate, audio_.data() + fed_[s], due - fed_[s]);
        fed_[s] = due;
        if (fed_[s] == n_) streams_[s]->InputFinished();
      }
      if (ready_since_[s] < 0 && rec_.IsReady(*streams_[s])) ready_since_[s] = now;
    }
  }

  std::vector<int> OldestReady(int max_batch) const {
    std::vector<int> ready;
    for (int s = 0; s < S_; ++s)
      if (ready_since_[s] >= 0) ready.push_back(s);
    std::sort(ready.begin(), ready.end(),
              [&](int a, int b) { return ready_since_[a] < ready_since_[b]; });
    if (static_cast<int>(ready.size()) > max_batch) ready.resize(max_batch);
    return ready;
  }

  void Decode(const std::vector<int>& ready, Clock::time_point start) {
    std::vector<lact::OnlineStream*> batch;
    for (int s : ready) batch.push_back(streams_[s].get());
    if (auto st = rec_.DecodeStreams(batch); !st.ok())
      throw std::runtime_error(std::string(st.message()));
    Sync(rec_.model().device());
    const double done = Seconds(Clock::now() - start);
    batch_sizes_.push_back(batch.size());
    for (int s : ready) {
      latencies_.push_back(done - ready_since_[s]);
      ready_since_[s] = -1;
      peak_buffer_bytes_ = std::max(peak_buffer_bytes_, streams_[s]->buffered_audio_bytes());
      if (!decoded_once_[s]) decoded_once_[s] = true, ++decoded_streams_;
      if (streams_[s]->is_final()) ++finals_;
    }
    const int64_t memory_now = lact::QueryDeviceMemory(rec_.model().device().str()).allocated_bytes;
    memory_.peak = std::max(memory_.peak, memory_now);
    // Every stream decoded at least once and none finished: all streams open.
    if (memory_.steady < 0 && decoded_streams_ == S_ && finals_ == 0) memory_.steady = memory_now;
  }

  const lact::OnlineRecognizer& rec_;
  const int S_;
  const int64_t n_;  // samples per stream
  const std::vector<float> audio_;
  std::vector<std::unique_ptr<lact::OnlineStream>> streams_;
  std::vector<int64_t> fed_;
  std::vector<double> offset_, ready_since_;  // s from the start; ready_since < 0: not ready
  std::vector<bool> decoded_once_;
  int decoded_streams_ = 0, finals_ = 0;
  std::vector<double> latencies_, batch_sizes_;
  int64_t peak_buffer_bytes_ = 0;
  MemoryReadings memory_;
  double wall_s_ = 0;
};

nlohmann::json StreamingRow(const lact::OnlineRecognizer& rec, bool use_lact, int S, double seconds,
                            const StreamingRun& run) {
  const MemoryReadings& memory = run.memory();
  const std::vector<double>& latencies = run.latencies();
  const std::vector<double>& batch_sizes = run.batch_sizes();
  const double wall = run.wall_s(), step_s = rec.config().step_ms / 1000.0;
  const double p95 = Percentile(latencies, 95);
  // Real time held: the run took about the audio's length (plus one step of slack, the
  // stagger and the final flush) and a typical step finished before the next was due.
  const bool held = wall <= seconds + 2 * step_s + p95 && p95 <= step_s;
  return {{"streams", S},
          {"lact", use_lact},
          {"audio_s_per_stream", seconds},
          {"wall_s", wall},
          {"steps", latencies.size()},
          {"p50_ms", 1000 * Percentile(latencies, 50)},
          {"p95_ms", 1000 * p95},
          {"p99_ms", 1000 * Percentile(latencies, 99)},
          {"mean_batch",
           batch_sizes.empty()
               ? 0
               : std::accumulate(batch_sizes.begin(), batch_sizes.end(), 0.0) / batch_sizes.size()},
          {"max_batch_seen",
           batch_sizes.empty() ? 0 : *std::max_element(batch_sizes.begin(), batch_sizes.end())},
          {"real_time_held", held},
          {"lact_state_bytes_per_stream", run.lact_state_bytes()},
          {"peak_audio_buffer_bytes_per_stream", run.peak_buffer_bytes()},
          {"memory_kind", rec.model().device().is_cuda() ? "cuda_allocated" : "cpu_rss"},
          {"memory_before_bytes", memory.before},
          {"memory_steady_bytes", memory.steady},
          {"memory_peak_bytes", memory.peak},
          {"memory_per_stream_bytes", static_cast<double>(memory.steady - memory.before) / S},
          {"memory_peak_per_stream_bytes", static_cast<double>(memory.peak - memory.before) / S}};
}

}  // namespace

nlohmann::json Streaming(const lact::OnlineRecognizer& rec, bool use_lact, int S, double seconds,
                         int max_batch) {
  std::vector<float> audio =
      TestAudio(static_cast<int64_t>(seconds * rec.model().sample_rate()), 2);
  Sync(rec.model().device());
  const int64_t before = lact::QueryDeviceMemory(rec.model().device().str()).allocated_bytes;
  StreamingRun run(rec, use_lact, S, std::move(audio), before);
  run.Run(max_batch);
  const nlohmann::json row = StreamingRow(rec, use_lact, S, seconds, run);
  const MemoryReadings& memory = run.memory();
  std::printf(
      "stream   lact=%-3s streams=%-4d wall=%7.2fs (audio %.1fs) steps=%zu p50=%7.1fms "
      "p95=%7.1fms p99=%7.1fms mean batch=%.2f real-time %s\n",
      use_lact ? "on" : "off", S, run.wall_s(), seconds, run.latencies().size(),
      row["p50_ms"].get<double>(), row["p95_ms"].get<double>(), row["p99_ms"].get<double>(),
      row["mean_batch"].get<double>(), row["real_time_held"].get<bool>() ? "HELD" : "NOT held");
  std::printf(
      "memory   lact=%-3s %s: %.1f MiB before, %.1f MiB with all streams open "
      "(%.3f MiB per stream), peak %.1f MiB (%.3f MiB per stream)\n",
      use_lact ? "on" : "off", rec.model().device().is_cuda() ? "CUDA allocated" : "CPU RSS",
      memory.before / 1048576.0, memory.steady / 1048576.0,
      (memory.steady - memory.before) / 1048576.0 / S, memory.peak / 1048576.0,
      (memory.peak - memory.before) / 1048576.0 / S);
  return row;
}

}  // namespace lact::bench
