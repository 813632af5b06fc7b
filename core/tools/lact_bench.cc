// lact_bench: measures the recognizer on this machine (CPU or CUDA), linking only lact_core.
//  (a) offline RTFX (audio seconds / wall seconds) for batch sizes 1..N;
//  (b) S concurrent real-time streams driving the real recognizer and a max-batch policy:
//      p50/p95/p99 step latency (stream ready -> its decode done) and whether real time held;
//  (c) LaCT on vs off for both;
//  (d) memory per stream (LaCT state + audio window; on CUDA the allocator's growth too).
// Prints a table and writes JSON (--json). See docs/benchmarks.md for the commands we ran.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/streaming/asr_model.h"
#include "core/model/device_memory.h"
#include "core/lact/lact_config.h"
#include "core/model/model_folder.h"
#include "core/streaming/online_recognizer.h"
#include "core/model/random_model.h"
#include "core/util/remove_tree.h"
#include "core/flags/flag_names.h"
#include "core/tools/tool_main.h"
#include "core/flags/lact_flag.h"
#include "core/flags/model_flags.h"
#include "core/flags/streaming_flags.h"
#include "core/flags/threads_flag.h"

ABSL_FLAG(std::string, random, "base", "base|tiny: random model size when --model is empty");
ABSL_FLAG(int32_t, lact_layers, 2, "LaCT layers added to a random model");
ABSL_FLAG(double, audio_seconds, 10.0, "offline input length (s)");
ABSL_FLAG(std::string, batch_sizes, "1,2,4", "offline batch sizes");
ABSL_FLAG(int32_t, repeats, 3, "offline timed repeats per batch size (after one warm-up)");
ABSL_FLAG(int32_t, streams, 4, "concurrent real-time streams for the streaming simulation (0: skip)");
ABSL_FLAG(double, stream_seconds, 10.0, "audio per simulated stream (s)");
ABSL_FLAG(std::string, json, "", "write the results as JSON here");
ABSL_FLAG(std::string, save_random_model, "", "write the random model folder (with lact_config.json) "
          "here and exit, for other tools to load");

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * (v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

void Sync(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

std::vector<float> TestAudio(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 0.05f);
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) {
    const double t = i / 16000.0;
    x[i] = 0.3f * std::sin(2 * M_PI * (150 + 50 * std::sin(t)) * t) + noise(rng);
  }
  return x;
}

// (a) Offline: B utterances of `seconds` in one encoder call, LaCT over B fresh states, lm_head.
nlohmann::json Offline(const lact::AsrModel& model, bool use_lact, double seconds,
                       const std::vector<int>& batch_sizes, int repeats) {
  torch::InferenceMode guard;
  nlohmann::json rows = nlohmann::json::array();
  const int64_t n = static_cast<int64_t>(seconds * model.sample_rate());
  std::vector<float> audio = TestAudio(n, 1);
  for (int B : batch_sizes) {
    torch::Tensor wave = torch::from_blob(audio.data(), {1, n}, torch::kFloat32).repeat({B, 1});
    double encoder_s = 0, lact_s = 0, total_s = 0;
    for (int r = 0; r <= repeats; ++r) {
      auto t0 = Clock::now();
      torch::Tensor hidden = model.encoder().Encode(wave);  // [B, T, D]
      Sync(model.device());
      auto t1 = Clock::now();
      torch::Tensor out = hidden;
      if (use_lact && model.lact() != nullptr) {
        std::vector<lact::LactState> states;
        std::vector<lact::LactState*> ptrs;
        std::vector<torch::Tensor> xs;
        for (int b = 0; b < B; ++b) states.push_back(model.lact()->NewState());
        for (int b = 0; b < B; ++b) ptrs.push_back(&states[b]), xs.push_back(hidden[b]);
        auto ys = model.lact()->Forward(ptrs, xs);
        if (!ys.ok()) throw std::runtime_error(std::string(ys.status().message()));
        out = torch::stack(*ys);
      }
      Sync(model.device());
      auto t2 = Clock::now();
      torch::Tensor ids = model.encoder().Logits(out).argmax(-1).to(torch::kCPU);
      auto t3 = Clock::now();
      if (r == 0) continue;  // warm-up
      encoder_s += Seconds(t1 - t0), lact_s += Seconds(t2 - t1), total_s += Seconds(t3 - t0);
    }
    encoder_s /= repeats, lact_s /= repeats, total_s /= repeats;
    rows.push_back({{"batch", B}, {"lact", use_lact}, {"audio_s", seconds * B},
                    {"wall_s", total_s}, {"encoder_s", encoder_s}, {"lact_s", lact_s},
                    {"rtfx", seconds * B / total_s}, {"rtf", total_s / (seconds * B)},
                    {"lact_fraction_of_encoder", encoder_s > 0 ? lact_s / encoder_s : 0}});
    std::printf("offline  lact=%-3s batch=%-3d audio=%6.1fs wall=%8.3fs encoder=%8.3fs lact=%7.4fs "
                "RTFX=%8.2f (RTF %.4f) lact/encoder=%.4f\n",
                use_lact ? "on" : "off", B, seconds * B, total_s, encoder_s, lact_s,
                seconds * B / total_s, total_s / (seconds * B), encoder_s > 0 ? lact_s / encoder_s : 0);
  }
  return rows;
}

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
      : rec_(rec), S_(S), n_(static_cast<int64_t>(audio.size())), audio_(std::move(audio)),
        fed_(S, 0), offset_(S), ready_since_(S, -1), decoded_once_(S, false) {
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
  const std::vector<double>& latencies() const { return latencies_; }  // s, one per decoded stream step
  const std::vector<double>& batch_sizes() const { return batch_sizes_; }
  int64_t peak_buffer_bytes() const { return peak_buffer_bytes_; }
  int64_t lact_state_bytes() const { return streams_[0]->lact_state_bytes(); }
  const MemoryReadings& memory() const { return memory_; }

 private:
  void DeliverAudio(double now) {
    const int rate = rec_.model().sample_rate();
    for (int s = 0; s < S_; ++s) {
      const int64_t due = std::min<int64_t>(n_, static_cast<int64_t>(std::max(0.0, now - offset_[s]) * rate));
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
    for (int s = 0; s < S_; ++s) if (ready_since_[s] >= 0) ready.push_back(s);
    std::sort(ready.begin(), ready.end(), [&](int a, int b) { return ready_since_[a] < ready_since_[b]; });
    if (static_cast<int>(ready.size()) > max_batch) ready.resize(max_batch);
    return ready;
  }

  void Decode(const std::vector<int>& ready, Clock::time_point start) {
    std::vector<lact::OnlineStream*> batch;
    for (int s : ready) batch.push_back(streams_[s].get());
    if (auto st = rec_.DecodeStreams(batch); !st.ok()) throw std::runtime_error(std::string(st.message()));
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
  return {{"streams", S}, {"lact", use_lact}, {"audio_s_per_stream", seconds},
          {"wall_s", wall}, {"steps", latencies.size()},
          {"p50_ms", 1000 * Percentile(latencies, 50)}, {"p95_ms", 1000 * p95},
          {"p99_ms", 1000 * Percentile(latencies, 99)},
          {"mean_batch", batch_sizes.empty() ? 0 : std::accumulate(batch_sizes.begin(), batch_sizes.end(), 0.0) / batch_sizes.size()},
          {"max_batch_seen", batch_sizes.empty() ? 0 : *std::max_element(batch_sizes.begin(), batch_sizes.end())},
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

nlohmann::json Streaming(const lact::OnlineRecognizer& rec, bool use_lact, int S, double seconds,
                         int max_batch) {
  std::vector<float> audio = TestAudio(static_cast<int64_t>(seconds * rec.model().sample_rate()), 2);
  Sync(rec.model().device());
  const int64_t before = lact::QueryDeviceMemory(rec.model().device().str()).allocated_bytes;
  StreamingRun run(rec, use_lact, S, std::move(audio), before);
  run.Run(max_batch);
  const nlohmann::json row = StreamingRow(rec, use_lact, S, seconds, run);
  const MemoryReadings& memory = run.memory();
  std::printf("stream   lact=%-3s streams=%-4d wall=%7.2fs (audio %.1fs) steps=%zu p50=%7.1fms "
              "p95=%7.1fms p99=%7.1fms mean batch=%.2f real-time %s\n",
              use_lact ? "on" : "off", S, run.wall_s(), seconds, run.latencies().size(),
              row["p50_ms"].get<double>(), row["p95_ms"].get<double>(), row["p99_ms"].get<double>(),
              row["mean_batch"].get<double>(), row["real_time_held"].get<bool>() ? "HELD" : "NOT held");
  std::printf("memory   lact=%-3s %s: %.1f MiB before, %.1f MiB with all streams open "
              "(%.3f MiB per stream), peak %.1f MiB (%.3f MiB per stream)\n",
              use_lact ? "on" : "off", rec.model().device().is_cuda() ? "CUDA allocated" : "CPU RSS",
              memory.before / 1048576.0, memory.steady / 1048576.0,
              (memory.steady - memory.before) / 1048576.0 / S, memory.peak / 1048576.0,
              (memory.peak - memory.before) / 1048576.0 / S);
  return row;
}

// --batch_sizes as numbers >= 1; false (after a message) for a bad entry.
bool ParseBatchSizes(std::vector<int>* batch_sizes) {
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_batch_sizes), ',', absl::SkipEmpty())) {
    int b;
    if (!absl::SimpleAtoi(part, &b) || b < 1) {
      std::cerr << "lact_bench: bad --batch_sizes entry '" << part << "'\n";
      return false;
    }
    batch_sizes->push_back(b);
  }
  return true;
}

// A random model of --random's size (with a --lact_layers LaCT config) written to `dir`; the
// exit code (0 when written).
int WriteRandomModel(const std::string& dir) {
  const std::string size = absl::GetFlag(FLAGS_random);
  if (size != "base" && size != "tiny") {
    std::cerr << "lact_bench: --random must be base or tiny\n";
    return 2;
  }
  lact::Wav2Vec2Config config = size == "base" ? lact::BaseConfig() : lact::TinyConfig();
  std::cerr << "lact_bench: writing a random " << size << " model to " << dir << "\n";
  if (auto s = lact::WriteModelFolder(dir, config, lact::RandomWav2Vec2Tensors(config, 0)); !s.ok()) {
    std::cerr << "lact_bench: " << s.message() << "\n";
    return 1;
  }
  lact::LactConfig lc;
  lc.hidden_size = static_cast<int>(config.hidden_size);
  lc.num_lact_layers = absl::GetFlag(FLAGS_lact_layers);
  if (config.hidden_size < 128) lc.num_lact_heads = 4, lc.chunk_size = 16;
  std::ofstream(dir + "/lact_config.json") << lc.ToJson() << "\n";
  return 0;
}

// `out` to --json's file when one is given; the exit code.
int WriteJson(const std::string& path, const nlohmann::json& out) {
  if (path.empty()) return 0;
  std::ofstream f(path);
  f << out.dump(2) << "\n";
  if (!f) {
    std::cerr << "lact_bench: cannot write " << path << "\n";
    return 1;
  }
  return 0;
}

int Run(int argc, char** argv) {
  const char* const kUsage =
      R"(Benchmarks the recognizer: offline RTFX by batch size, S concurrent real-time streams,
LaCT on vs off, memory per stream. Usage: lact_bench [--model DIR | --random base|tiny]
[--device cpu|cuda] [--batch-sizes 1,2,4] [--streams S] [--json OUT.json])";
  if (!lact::ParseFlagsOnly(argc, argv, "lact_bench", kUsage)) return 2;
  const int threads = lact::SetTorchThreadsFromFlag();

  std::vector<int> batch_sizes;
  if (!ParseBatchSizes(&batch_sizes)) return 2;
  auto lact_mode = lact::GetLactFlag(lact::LactMode::kBoth, {lact::LactMode::kOn, lact::LactMode::kOff, lact::LactMode::kBoth});
  if (!lact_mode.ok()) {
    std::cerr << "lact_bench: " << lact_mode.status().message() << "\n";
    return 2;
  }
  const lact::ModelFlags model_flags = lact::GetModelFlags();

  std::string dir = model_flags.model_dir;  // empty: a random model (not $LACT_MODEL)
  std::string temp_dir;
  if (dir.empty()) {
    const std::string save_to = absl::GetFlag(FLAGS_save_random_model);
    temp_dir = !save_to.empty() ? save_to
               : (std::filesystem::temp_directory_path() / absl::StrCat("lact_bench_", ::getpid())).string();
    if (int rc = WriteRandomModel(temp_dir); rc != 0) return rc;
    dir = temp_dir;
    if (!save_to.empty()) {
      std::cerr << "lact_bench: wrote " << save_to << "\n";
      return 0;
    }
  }
  lact::AsrModelOptions options;
  options.device = model_flags.device;
  options.dtype = model_flags.dtype;
  options.load_lact = true;
  std::cerr << "lact_bench: loading " << dir << " on " << options.device << " (" << options.dtype
            << ", warm-up included)\n";
  auto model = lact::AsrModel::Load(dir, options);
  if (!temp_dir.empty()) {
    if (auto s = lact::RemoveTree(temp_dir); !s.ok()) std::cerr << "lact_bench: " << s.message() << "\n";
  }
  if (!model.ok()) {
    std::cerr << "lact_bench: " << model.status().message() << "\n";
    return 1;
  }
  std::cerr << "lact_bench: model loaded\n";
  const lact::StreamingConfig sc = lact::GetStreamingFlags();
  auto rec = lact::OnlineRecognizer::Create(*model, sc);
  if (!rec.ok()) {
    std::cerr << "lact_bench: " << rec.status().message() << "\n";
    return 2;
  }
  std::cerr << "lact_bench: recognizer ready\n";
  const auto& cfg = (*model)->encoder().config();
  std::printf("model: %s\ndevice: %s, dtype %s, %d threads, LibTorch %s\nstreaming: %s\n",
              cfg.ToString().c_str(), options.device.c_str(), options.dtype.c_str(),
              threads, TORCH_VERSION, sc.ToString().c_str());
  nlohmann::json out = {{"model", cfg.ToString()}, {"device", options.device},
                        {"dtype", options.dtype}, {"threads", threads},
                        {"libtorch", TORCH_VERSION}, {"streaming_config", sc.ToString()},
                        {"encoder_parameter_bytes", (*model)->encoder().ParameterBytes()}};
  if ((*model)->lact() != nullptr) {
    out["lact_config"] = (*model)->lact()->config().ToString();
    out["lact_state_bytes_per_stream"] = (*model)->lact()->NewState().ByteSize();
    std::printf("LaCT: %s\nLaCT state per stream: %lld bytes (%.2f MiB)\n",
                (*model)->lact()->config().ToString().c_str(),
                static_cast<long long>((*model)->lact()->NewState().ByteSize()),
                (*model)->lact()->NewState().ByteSize() / 1048576.0);
  }
  std::vector<bool> modes;
  if (*lact_mode != lact::LactMode::kOff) modes.push_back(true);
  if (*lact_mode != lact::LactMode::kOn) modes.push_back(false);
  out["offline"] = nlohmann::json::array();
  out["streaming"] = nlohmann::json::array();
  for (bool use_lact : modes) {
    for (auto& row : Offline(**model, use_lact, absl::GetFlag(FLAGS_audio_seconds), batch_sizes,
                             std::max(1, absl::GetFlag(FLAGS_repeats)))) {
      out["offline"].push_back(row);
    }
  }
  if (absl::GetFlag(FLAGS_streams) > 0) {
    for (bool use_lact : modes) {
      out["streaming"].push_back(Streaming(**rec, use_lact, absl::GetFlag(FLAGS_streams),
                                           absl::GetFlag(FLAGS_stream_seconds),
                                           lact::GetMaxBatchFlag()));
    }
  }
  return WriteJson(absl::GetFlag(FLAGS_json), out);
}

}  // namespace

int main(int argc, char** argv) {
  // A crash prints its stack (benchmarks run unattended on remote machines); rows appear as
  // they are measured even when stdout is a file.
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  return lact::RunToolMain("lact_bench", [&] { return Run(argc, argv); });
}
