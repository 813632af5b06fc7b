#include "core/tools/bench/step_profile.h"

#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/decoding/ctc_beam_search.h"
#include "core/decoding/ctc_decoder.h"
#include "core/model/waveform_normalizer.h"
#include "core/streaming/asr_model.h"
#include "core/tools/bench/bench_util.h"

namespace lact::bench {
namespace {

// Median seconds of `repeats` calls of `f` (after one untimed call).
double MedianSeconds(int repeats, torch::Device device, const std::function<void()>& f) {
  f();
  Sync(device);
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    f();
    Sync(device);
    t.push_back(Seconds(Clock::now() - start));
  }
  return Percentile(t, 50);
}

// Median seconds of the recognizer's steps over full windows: one stream, `repeats` such steps.
double RealStepSeconds(const OnlineRecognizer& rec, bool use_lact, int repeats,
                       int64_t step_samples, int64_t window_samples) {
  const int rate = rec.model().sample_rate();
  const int64_t total = window_samples + (repeats + 2) * step_samples;
  const std::vector<float> audio = TestAudio(total, 5);
  StreamOptions options;
  options.enable_lact = use_lact;
  std::unique_ptr<OnlineStream> s = rec.CreateStream(options);
  (void)s->AcceptWaveform(rate, audio.data(), audio.size());
  std::vector<double> t;
  while (rec.HasFullStep(*s)) {
    const bool full_window = rec.PlanStep(*s).window_start_frame > 0;
    const auto start = Clock::now();
    if (!rec.DecodeStreams({s.get()}).ok()) break;
    Sync(rec.model().device());
    if (full_window) t.push_back(Seconds(Clock::now() - start));
  }
  return Percentile(t, 50);
}

}  // namespace

nlohmann::json ProfileStep(const OnlineRecognizer& rec, bool use_lact, int repeats) {
  torch::InferenceMode guard;
  const AsrModel& model = rec.model();
  const Wav2Vec2Model& encoder = model.encoder();
  const StreamingConfig& sc = rec.config();
  const int rate = model.sample_rate();
  const int64_t window_samples =
      static_cast<int64_t>(sc.left_context_ms + sc.step_ms + sc.lookahead_ms) * rate / 1000;
  const int64_t step_samples = static_cast<int64_t>(sc.step_ms) * rate / 1000;
  const double frame_ms = model.frame_seconds() * 1000;
  const int64_t step_frames = sc.step_frames(frame_ms);
  const int64_t look_frames = sc.lookahead_frames(frame_ms);
  const std::vector<float> audio = TestAudio(window_samples, 5);
  const torch::Tensor wave =
      torch::from_blob(const_cast<float*>(audio.data()), {1, window_samples}, torch::kFloat32)
          .clone()
          .to(model.device());
  const torch::Device device = model.device();
  const bool lact = use_lact && model.lact() != nullptr;

  std::vector<std::pair<std::string, double>> parts;
  RunningNormalizer normalizer;
  normalizer.Accumulate(audio);
  std::vector<float> normalized(audio.size());
  parts.emplace_back("normalise", MedianSeconds(repeats, torch::kCPU, [&] {
                       normalizer.Normalize(audio.data(), audio.size(), normalized.data());
                     }));
  const double conv = MedianSeconds(repeats, device, [&] { encoder.EncodeBelow(wave, 0); });
  const double encode = MedianSeconds(repeats, device, [&] { encoder.Encode(wave); });
  parts.emplace_back("conv", conv);
  parts.emplace_back("transformer", std::max(0.0, encode - conv));
  const torch::Tensor hidden = encoder.Encode(wave)[0];  // [T, D]
  const int64_t T = hidden.size(0);
  const int64_t c0 = std::max<int64_t>(0, T - look_frames - step_frames);
  const torch::Tensor frames = hidden.slice(0, c0, T);  // [Tc + Tp, D]
  if (lact) {
    LactState state = model.lact()->NewState();
    const torch::Tensor committed = frames.slice(0, 0, frames.size(0) - look_frames);
    parts.emplace_back("lact", MedianSeconds(repeats, device, [&] {
                         (void)model.lact()->Forward(state, committed);
                       }));
  }
  parts.emplace_back("lm_head",
                     MedianSeconds(repeats, device, [&] { encoder.Logits(frames.unsqueeze(0)); }));
  const torch::Tensor logits = encoder.Logits(frames.unsqueeze(0))[0].to(torch::kCPU);
  const int64_t tc = logits.size(0) - look_frames;
  parts.emplace_back("decode", MedianSeconds(repeats, torch::kCPU, [&] {
                       if (rec.beam_search()) {
                         CtcBeamSearchDecoder d(model.language_model(), model.vocab(),
                                                model.frame_seconds(), *rec.beam_search());
                         d.Accept(logits.slice(0, 0, tc));
                         d.WithProvisional(logits.slice(0, tc));
                       } else {
                         CtcGreedyDecoder d(model.vocab(), model.frame_seconds());
                         d.Accept(CtcArgmax(logits.slice(0, 0, tc)), logits.slice(0, 0, tc));
                         d.WithProvisional(CtcArgmax(logits.slice(0, tc)), logits.slice(0, tc));
                       }
                     }));
  const double step = RealStepSeconds(rec, lact, repeats, step_samples, window_samples);
  double sum = 0;
  for (const auto& [name, s] : parts) sum += s;
  parts.emplace_back("other", std::max(0.0, step - sum));

  nlohmann::json row = {{"lact", lact},
                        {"window_ms", sc.left_context_ms + sc.step_ms + sc.lookahead_ms},
                        {"step_ms", sc.step_ms},
                        {"step_s", step},
                        {"cost_per_audio_s", step / (sc.step_ms / 1000.0)},
                        {"parts_s", nlohmann::json::object()}};
  std::printf(
      "profile  lact=%-3s step %d ms, window %d ms: one step %.2f ms (%.3f s per audio s)\n",
      lact ? "on" : "off", sc.step_ms, sc.left_context_ms + sc.step_ms + sc.lookahead_ms,
      1000 * step, step / (sc.step_ms / 1000.0));
  for (const auto& [name, s] : parts) {
    row["parts_s"][name] = s;
    std::printf("profile    %-12s %8.2f ms  %5.1f%%\n", name.c_str(), 1000 * s,
                step > 0 ? 100 * s / step : 0.0);
  }
  return row;
}

}  // namespace lact::bench
