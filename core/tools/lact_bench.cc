// lact_bench: measures the recognizer on this machine (CPU or CUDA), linking only lact_core.
//  (a) offline RTFX (audio seconds / wall seconds) for batch sizes 1..N;
//  (b) S concurrent real-time streams driving the real recognizer and a max-batch policy:
//      p50/p95/p99 step latency (stream ready -> its decode done) and whether real time held;
//  (c) LaCT on vs off for both;
//  (d) memory per stream (LaCT state + audio window; on CUDA the allocator's growth too).
//  (e) --profile_steps: where one streaming step's time goes (core/tools/bench/step_profile.h).
//  (f) --profile_ops: the operators of a batched model step by time, and the operators dispatched
//      per step and per stream (core/tools/bench/op_profile.h).
// Prints a table and writes JSON (--json). See docs/benchmarks.md for the commands we ran.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/Context.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/flags/flag_names.h"
#include "core/flags/fused_attention_flag.h"
#include "core/flags/lact_flag.h"
#include "core/flags/model_flags.h"
#include "core/flags/onednn_linear_flag.h"
#include "core/flags/streaming_flags.h"
#include "core/flags/threads_flag.h"
#include "core/lact/lact_config.h"
#include "core/model/attention.h"
#include "core/model/dense_linear.h"
#include "core/model/model_folder.h"
#include "core/model/random_model.h"
#include "core/streaming/asr_model.h"
#include "core/streaming/online_recognizer.h"
#include "core/tools/bench/attention_check.h"
#include "core/tools/bench/bench_util.h"
#include "core/tools/bench/op_profile.h"
#include "core/tools/bench/step_profile.h"
#include "core/tools/bench/streaming_run.h"
#include "core/tools/tool_main.h"
#include "core/util/remove_tree.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(std::string, random, "base", "base|tiny: random model size when --model is empty");
ABSL_FLAG(int32_t, lact_layers, 2, "LaCT layers added to a random model");
ABSL_FLAG(std::string, random_posteriors, "speechlike",
          "speechlike|uniform: a random model's CTC head gives a trained model's kind of posteriors "
          "(few tokens near the best, often the blank: a beam search's work on speech), or lm_head drawn "
          "like every other tensor (nearly uniform: the beam tries every token at every frame)");
ABSL_FLAG(double, audio_seconds, 10.0, "offline input length (s)");
ABSL_FLAG(std::string, batch_sizes, "1,2,4", "offline batch sizes");
ABSL_FLAG(int32_t, repeats, 3, "offline timed repeats per batch size (after one warm-up)");
ABSL_FLAG(int32_t, streams, 4, "concurrent real-time streams for the streaming simulation (0: skip)");
ABSL_FLAG(double, stream_seconds, 10.0, "audio per simulated stream (s)");
ABSL_FLAG(int32_t, profile_steps, 0,
          "profile a streaming step: time its parts (normaliser, conv, transformer, LaCT, lm_head, "
          "decoder) this many times each (0: skip)");
ABSL_FLAG(int32_t, profile_ops, 0,
          "profile the operators of a batched streaming model step (--profile_batch streams): time each "
          "top-level operator (synchronising the device around it) over this many steps, and count the "
          "operators per step at 1 and at --profile_batch streams (0: skip)");
ABSL_FLAG(int32_t, profile_batch, 16, "streams decoded together in each step that --profile_ops times");
ABSL_FLAG(bool, cudnn_benchmark, false,
          "CUDA: let cuDNN time its convolution algorithms for each new input shape and keep the "
          "fastest (PyTorch's torch.backends.cudnn.benchmark; default: its heuristic's choice); "
          "each shape's first call pays the search, which the offline warm-up absorbs");
ABSL_FLAG(bool, check_attention, false,
          "first compare the fused attention kernel with the explicit ops through the encoder on a "
          "padded batch (core/tools/bench/attention_check.h); exit 1 when the logits differ by more "
          "than 1e-3 (float32) or 5e-2 (half precision) of their range");
ABSL_FLAG(std::string, json, "", "write the results as JSON here");
ABSL_FLAG(std::string, save_random_model, "", "write the random model folder (with lact_config.json) "
          "here and exit, for other tools to load");
// clang-format on

namespace {

using lact::bench::Clock;
using lact::bench::Seconds;
using lact::bench::Sync;
using lact::bench::TestAudio;

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
    rows.push_back({{"batch", B},
                    {"lact", use_lact},
                    {"audio_s", seconds * B},
                    {"wall_s", total_s},
                    {"encoder_s", encoder_s},
                    {"lact_s", lact_s},
                    {"rtfx", seconds * B / total_s},
                    {"rtf", total_s / (seconds * B)},
                    {"lact_fraction_of_encoder", encoder_s > 0 ? lact_s / encoder_s : 0}});
    std::printf(
        "offline  lact=%-3s batch=%-3d audio=%6.1fs wall=%8.3fs encoder=%8.3fs lact=%7.4fs "
        "RTFX=%8.2f (RTF %.4f) lact/encoder=%.4f\n",
        use_lact ? "on" : "off", B, seconds * B, total_s, encoder_s, lact_s, seconds * B / total_s,
        total_s / (seconds * B), encoder_s > 0 ? lact_s / encoder_s : 0);
  }
  return rows;
}

// --batch_sizes as numbers >= 1; false (after a message) for a bad entry.
bool ParseBatchSizes(std::vector<int>* batch_sizes) {
  for (absl::string_view part :
       absl::StrSplit(absl::GetFlag(FLAGS_batch_sizes), ',', absl::SkipEmpty())) {
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
  const std::string posteriors = absl::GetFlag(FLAGS_random_posteriors);
  if (posteriors != "speechlike" && posteriors != "uniform") {
    std::cerr << "lact_bench: --random_posteriors must be speechlike or uniform\n";
    return 2;
  }
  lact::Wav2Vec2Config config = size == "base" ? lact::BaseConfig() : lact::TinyConfig();
  std::cerr << "lact_bench: writing a random " << size << " model (" << posteriors
            << " posteriors) to " << dir << "\n";
  lact::TensorMap tensors = lact::RandomWav2Vec2Tensors(config, 0);
  if (posteriors == "speechlike") {
    if (auto s = lact::MakeCtcHeadSpeechLike(config, 1, &tensors); !s.ok()) {
      std::cerr << "lact_bench: " << s.message() << "\n";
      return 1;
    }
  }
  if (auto s = lact::WriteModelFolder(dir, config, tensors); !s.ok()) {
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

// The model to measure: --model, else a random one of --random's size (written to a temporary
// folder, or to --save_random_model and then nothing else is done: *model stays null). The exit
// code; 0 when *model is loaded or the random model was saved.
int LoadBenchModel(const lact::ModelFlags& flags, std::shared_ptr<const lact::AsrModel>* model) {
  std::string dir = flags.model_dir;  // empty: a random model (not $LACT_MODEL)
  std::string temp_dir;
  if (dir.empty()) {
    const std::string save_to = absl::GetFlag(FLAGS_save_random_model);
    temp_dir =
        !save_to.empty()
            ? save_to
            : (std::filesystem::temp_directory_path() / absl::StrCat("lact_bench_", ::getpid()))
                  .string();
    if (int rc = WriteRandomModel(temp_dir); rc != 0) return rc;
    dir = temp_dir;
    if (!save_to.empty()) {
      std::cerr << "lact_bench: wrote " << save_to << "\n";
      return 0;
    }
  }
  lact::AsrModelOptions options;
  options.device = flags.device;
  options.dtype = flags.dtype;
  options.load_lact = true;
  std::cerr << "lact_bench: loading " << dir << " on " << options.device << " (" << options.dtype
            << ", warm-up included)\n";
  auto loaded = lact::AsrModel::Load(dir, options);
  if (!temp_dir.empty()) {
    if (auto s = lact::RemoveTree(temp_dir); !s.ok())
      std::cerr << "lact_bench: " << s.message() << "\n";
  }
  if (!loaded.ok()) {
    std::cerr << "lact_bench: " << loaded.status().message() << "\n";
    return 1;
  }
  std::cerr << "lact_bench: model loaded\n";
  *model = *std::move(loaded);
  return 0;
}

// The run's settings: printed, and the JSON's top-level fields.
nlohmann::json DescribeRun(const lact::AsrModel& model, const lact::ModelFlags& flags, int threads,
                           const lact::StreamingConfig& sc) {
  const auto& cfg = model.encoder().config();
  const std::string precision = model.encoder().precision().Name();
  std::printf(
      "model: %s\ndevice: %s, dtype %s (--dtype %s), %d threads%s, LibTorch %s, attention %s, "
      "cuDNN benchmark %s\nstreaming: %s\n",
      cfg.ToString().c_str(), flags.device.c_str(), precision.c_str(), flags.dtype.c_str(), threads,
      lact::OneDnnLinearEnabled() ? " (float32 linear layers: oneDNN)" : "", TORCH_VERSION,
      lact::AttentionKernelName(),
      !at::globalContext().benchmarkCuDNN() ? "off"
      : model.device().is_cuda()            ? "on"
                                            : "on (no effect on the CPU)",
      sc.ToString().c_str());
  nlohmann::json out = {{"model", cfg.ToString()},
                        {"device", flags.device},
                        {"dtype", precision},
                        {"dtype_flag", flags.dtype},
                        {"threads", threads},
                        {"libtorch", TORCH_VERSION},
                        {"fused_attention", lact::FusedAttentionEnabled()},
                        {"cudnn_benchmark", at::globalContext().benchmarkCuDNN()},
                        {"onednn_linear", lact::OneDnnLinearEnabled()},
                        {"streaming_config", sc.ToString()},
                        {"encoder_parameter_bytes", model.encoder().ParameterBytes()}};
  if (model.lact() != nullptr) {
    const int64_t state_bytes = model.lact()->NewState().ByteSize();
    out["lact_config"] = model.lact()->config().ToString();
    out["lact_state_bytes_per_stream"] = state_bytes;
    out["lact_products"] = model.lact()->ProductsName();
    std::printf("LaCT: %s\nLaCT state per stream: %lld bytes (%.2f MiB); LaCT products: %s\n",
                model.lact()->config().ToString().c_str(), static_cast<long long>(state_bytes),
                state_bytes / 1048576.0, model.lact()->ProductsName().c_str());
  }
  return out;
}

int Run(int argc, char** argv) {
  const char* const kUsage =
      R"(Benchmarks the recognizer: offline RTFX by batch size, S concurrent real-time streams,
LaCT on vs off, memory per stream. Usage: lact_bench [--model DIR | --random base|tiny]
[--device cpu|cuda] [--batch-sizes 1,2,4] [--streams S] [--json OUT.json])";
  if (!lact::ParseFlagsOnly(argc, argv, "lact_bench", kUsage)) return 2;
  const int threads = lact::SetTorchThreadsFromFlag();
  lact::SetOneDnnLinearFromFlag();
  lact::SetFusedAttentionFromFlag();
  std::vector<int> batch_sizes;
  if (!ParseBatchSizes(&batch_sizes)) return 2;
  if (const int b = absl::GetFlag(FLAGS_profile_batch); b < 1 || b > 4096) {
    std::cerr << "lact_bench: --profile_batch must be in [1, 4096], got " << b << "\n";
    return 2;
  }
  auto lact_mode = lact::GetLactFlag(
      lact::LactMode::kBoth, {lact::LactMode::kOn, lact::LactMode::kOff, lact::LactMode::kBoth});
  if (!lact_mode.ok()) {
    std::cerr << "lact_bench: " << lact_mode.status().message() << "\n";
    return 2;
  }
  const lact::ModelFlags model_flags = lact::GetModelFlags();
  // Before the model loads: its CUDA warm-up pass is the first convolution call.
  if (absl::GetFlag(FLAGS_cudnn_benchmark)) at::globalContext().setBenchmarkCuDNN(true);
  std::shared_ptr<const lact::AsrModel> model;
  if (int rc = LoadBenchModel(model_flags, &model); rc != 0 || model == nullptr) return rc;
  const lact::StreamingConfig sc = lact::GetStreamingFlags();
  auto rec = lact::OnlineRecognizer::Create(model, sc);
  if (!rec.ok()) {
    std::cerr << "lact_bench: " << rec.status().message() << "\n";
    return 2;
  }
  std::cerr << "lact_bench: recognizer ready\n";
  nlohmann::json out = DescribeRun(*model, model_flags, threads, sc);
  bool attention_ok = true;
  if (absl::GetFlag(FLAGS_check_attention)) {
    const bool half = model->encoder().dtype() != torch::kFloat32;
    out["attention_check"] =
        lact::bench::CheckAttention(*model, half ? 5e-2 : 1e-3, half ? 0.99 : 0.995, &attention_ok);
  }
  std::vector<bool> modes;
  if (*lact_mode != lact::LactMode::kOff) modes.push_back(true);
  if (*lact_mode != lact::LactMode::kOn) modes.push_back(false);
  out["offline"] = nlohmann::json::array();
  out["streaming"] = nlohmann::json::array();
  for (bool use_lact : modes) {
    for (auto& row : Offline(*model, use_lact, absl::GetFlag(FLAGS_audio_seconds), batch_sizes,
                             std::max(1, absl::GetFlag(FLAGS_repeats)))) {
      out["offline"].push_back(row);
    }
  }
  for (int i = 0; absl::GetFlag(FLAGS_streams) > 0 && i < static_cast<int>(modes.size()); ++i) {
    out["streaming"].push_back(lact::bench::Streaming(**rec, modes[i], absl::GetFlag(FLAGS_streams),
                                                      absl::GetFlag(FLAGS_stream_seconds),
                                                      lact::GetMaxBatchFlag()));
  }
  if (const int n = absl::GetFlag(FLAGS_profile_steps); n > 0) {
    out["step_profile"] = nlohmann::json::array();
    for (bool use_lact : modes)
      out["step_profile"].push_back(lact::bench::ProfileStep(**rec, use_lact, n));
  }
  if (const int n = absl::GetFlag(FLAGS_profile_ops); n > 0) {
    out["op_profile"] = nlohmann::json::array();
    lact::bench::OpProfileOptions options;
    options.batch = absl::GetFlag(FLAGS_profile_batch);
    options.steps = n;
    for (bool use_lact : modes) {
      options.use_lact = use_lact;
      out["op_profile"].push_back(lact::bench::ProfileOps(**rec, options));
    }
  }
  const int rc = WriteJson(absl::GetFlag(FLAGS_json), out);
  return rc != 0 ? rc : attention_ok ? 0 : 1;
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
