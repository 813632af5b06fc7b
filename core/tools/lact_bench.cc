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

// (b) S real-time streams, staggered over one step, decoded by one worker in batches of at most
// max_batch ready streams (oldest first), on this thread: feeding is free, decoding costs.
nlohmann::json Streaming(const lact::OnlineRecognizer& rec, bool use_lact, int S, double seconds,
                         int max_batch) {
  const int rate = rec.model().sample_rate();
  const int64_t n = static_cast<int64_t>(seconds * rate);
  std::vector<float> audio = TestAudio(n, 2);
  lact::StreamOptions options;
  options.enable_lact = use_lact;
  // (d) Device memory: LibTorch's allocated bytes on CUDA (live tensors), resident set on the
  // CPU. `before`: the model alone, read before any stream exists; `steady` is read after the
  // first step in which every stream has been decoded at least once and none has finished:
  // model + all streams' state, no activations in flight.
  const std::string device_name = rec.model().device().str();
  Sync(rec.model().device());
  const int64_t memory_before = lact::QueryDeviceMemory(device_name).allocated_bytes;
  std::vector<std::unique_ptr<lact::OnlineStream>> streams;
  std::vector<int64_t> fed(S, 0);
  std::vector<double> offset(S), ready_since(S, -1);
  for (int s = 0; s < S; ++s) {
    streams.push_back(rec.CreateStream(options));
    offset[s] = rec.config().step_ms / 1000.0 * s / S;
  }
  std::vector<double> latencies, batch_sizes;
  int64_t peak_buffer_bytes = 0;
  int64_t memory_peak = memory_before, memory_steady = -1;
  std::vector<bool> decoded_once(S, false);
  int decoded_streams = 0;
  const auto start = Clock::now();
  size_t finals = 0;
  while (finals < streams.size()) {
    const double now = Seconds(Clock::now() - start);
    for (int s = 0; s < S; ++s) {  // deliver the audio that has "arrived" by now
      const int64_t due = std::min<int64_t>(n, static_cast<int64_t>(std::max(0.0, now - offset[s]) * rate));
      if (due > fed[s]) {
        (void)streams[s]->AcceptWaveform(rate, audio.data() + fed[s], due - fed[s]);
        fed[s] = due;
        if (fed[s] == n) streams[s]->InputFinished();
      }
      if (ready_since[s] < 0 && rec.IsReady(*streams[s])) ready_since[s] = now;
    }
    std::vector<int> ready;
    for (int s = 0; s < S; ++s) if (ready_since[s] >= 0) ready.push_back(s);
    if (ready.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    std::sort(ready.begin(), ready.end(), [&](int a, int b) { return ready_since[a] < ready_since[b]; });
    if (static_cast<int>(ready.size()) > max_batch) ready.resize(max_batch);
    std::vector<lact::OnlineStream*> batch;
    for (int s : ready) batch.push_back(streams[s].get());
    if (auto st = rec.DecodeStreams(batch); !st.ok()) throw std::runtime_error(std::string(st.message()));
    Sync(rec.model().device());
    const double done = Seconds(Clock::now() - start);
    batch_sizes.push_back(batch.size());
    for (int s : ready) {
      latencies.push_back(done - ready_since[s]);
      ready_since[s] = -1;
      peak_buffer_bytes = std::max(peak_buffer_bytes, streams[s]->buffered_audio_bytes());
      if (!decoded_once[s]) decoded_once[s] = true, ++decoded_streams;
      if (streams[s]->is_final()) ++finals;
    }
    const int64_t memory_now = lact::QueryDeviceMemory(device_name).allocated_bytes;
    memory_peak = std::max(memory_peak, memory_now);
    if (memory_steady < 0 && decoded_streams == S && finals == 0) memory_steady = memory_now;
  }
  if (memory_steady < 0) memory_steady = memory_peak;  // streams ended before all had started
  const double wall = Seconds(Clock::now() - start);
  const double step_s = rec.config().step_ms / 1000.0;
  const double p95 = Percentile(latencies, 95);
  // Real time held: the run took about the audio's length (plus one step of slack, the
  // stagger and the final flush) and a typical step finished before the next was due.
  const bool held = wall <= seconds + 2 * step_s + p95 && p95 <= step_s;
  nlohmann::json row = {{"streams", S}, {"lact", use_lact}, {"audio_s_per_stream", seconds},
                        {"wall_s", wall}, {"steps", latencies.size()},
                        {"p50_ms", 1000 * Percentile(latencies, 50)}, {"p95_ms", 1000 * p95},
                        {"p99_ms", 1000 * Percentile(latencies, 99)},
                        {"mean_batch", batch_sizes.empty() ? 0 : std::accumulate(batch_sizes.begin(), batch_sizes.end(), 0.0) / batch_sizes.size()},
                        {"max_batch_seen", batch_sizes.empty() ? 0 : *std::max_element(batch_sizes.begin(), batch_sizes.end())},
                        {"real_time_held", held},
                        {"lact_state_bytes_per_stream", streams[0]->lact_state_bytes()},
                        {"peak_audio_buffer_bytes_per_stream", peak_buffer_bytes},
                        {"memory_kind", rec.model().device().is_cuda() ? "cuda_allocated" : "cpu_rss"},
                        {"memory_before_bytes", memory_before},
                        {"memory_steady_bytes", memory_steady},
                        {"memory_peak_bytes", memory_peak},
                        {"memory_per_stream_bytes", static_cast<double>(memory_steady - memory_before) / S},
                        {"memory_peak_per_stream_bytes", static_cast<double>(memory_peak - memory_before) / S}};
  std::printf("stream   lact=%-3s streams=%-4d wall=%7.2fs (audio %.1fs) steps=%zu p50=%7.1fms "
              "p95=%7.1fms p99=%7.1fms mean batch=%.2f real-time %s\n",
              use_lact ? "on" : "off", S, wall, seconds, latencies.size(),
              row["p50_ms"].get<double>(), row["p95_ms"].get<double>(), row["p99_ms"].get<double>(),
              row["mean_batch"].get<double>(), held ? "HELD" : "NOT held");
  std::printf("memory   lact=%-3s %s: %.1f MiB before, %.1f MiB with all streams open "
              "(%.3f MiB per stream), peak %.1f MiB (%.3f MiB per stream)\n",
              use_lact ? "on" : "off", rec.model().device().is_cuda() ? "CUDA allocated" : "CPU RSS",
              memory_before / 1048576.0, memory_steady / 1048576.0,
              (memory_steady - memory_before) / 1048576.0 / S, memory_peak / 1048576.0,
              (memory_peak - memory_before) / 1048576.0 / S);
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
  absl::SetProgramUsageMessage(
      "Benchmarks the recognizer: offline RTFX by batch size, S concurrent real-time streams,\n"
      "LaCT on vs off, memory per stream. Usage: lact_bench [--model DIR | --random base|tiny]\n"
      "[--device cpu|cuda] [--batch-sizes 1,2,4] [--streams S] [--json OUT.json]");
  lact::ShowFlagsOfThisProjectInHelp();
  if (!lact::ParseFlagsOnly(argc, argv, "lact_bench")) return 2;
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
  try {
    return Run(argc, argv);
  } catch (const c10::Error& e) {
    std::cerr << "lact_bench: " << e.what_without_backtrace() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "lact_bench: " << e.what() << "\n";
  }
  return 1;
}
