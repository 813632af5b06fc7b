#include "core/tools/bench/attention_check.h"

#include <cstdio>
#include <vector>

#include <torch/version.h>

#include "core/model/attention.h"
#include "core/tools/bench/bench_util.h"

namespace lact::bench {
namespace {

struct Encoded {
  torch::Tensor hidden;  // [B, T, D] float32, CPU
  torch::Tensor logits;  // [B, T, V] float32, CPU
};

// waveform [B, S], lengths [B] -> the encoder's hidden states and logits with the fused kernel
// on or off.
Encoded EncodeWith(const AsrModel& model, bool fused, const torch::Tensor& waveform,
                   const torch::Tensor& lengths) {
  SetFusedAttention(fused);
  const torch::Tensor hidden = model.encoder().Encode(waveform, lengths);  // [B, T, D]
  const torch::Tensor logits = model.encoder().Logits(hidden);             // [B, T, V]
  return {hidden.cpu(), logits.cpu()};
}

}  // namespace

nlohmann::json CheckAttention(const AsrModel& model, double tol, double min_agreement, bool* ok) {
  *ok = true;
  if (!FusedAttentionAvailable()) {
    std::printf("attention check: LibTorch %s has no fused kernel; nothing to compare\n",
                TORCH_VERSION);
    return {{"available", false}};
  }
  const bool was_on = FusedAttentionEnabled();
  const std::vector<int64_t> seconds_x10 = {100, 73, 31};
  const int64_t S = 16000 * seconds_x10[0] / 10;
  torch::Tensor waveform = torch::zeros({3, S});  // [B, S], rows right-padded with zeros
  std::vector<int64_t> lengths;
  for (size_t b = 0; b < seconds_x10.size(); ++b) {
    const int64_t n = 16000 * seconds_x10[b] / 10;
    const std::vector<float> audio = TestAudio(n, static_cast<uint32_t>(7 + b));
    waveform[static_cast<int64_t>(b)].narrow(0, 0, n).copy_(torch::tensor(audio));
    lengths.push_back(n);
  }
  const torch::Tensor valid_samples = torch::tensor(lengths);
  const Encoded ref = EncodeWith(model, false, waveform, valid_samples);
  const Encoded fused = EncodeWith(model, true, waveform, valid_samples);
  SetFusedAttention(was_on);
  double hidden_diff = 0, hidden_max = 0, logit_diff = 0, logit_max = 0;
  int64_t frames = 0, agree = 0;
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t t = model.encoder().config().NumFrames(lengths[static_cast<size_t>(b)]);
    const torch::Tensor h0 = ref.hidden[b].narrow(0, 0, t), h1 = fused.hidden[b].narrow(0, 0, t);
    const torch::Tensor l0 = ref.logits[b].narrow(0, 0, t), l1 = fused.logits[b].narrow(0, 0, t);
    hidden_diff = std::max(hidden_diff, (h1 - h0).abs().max().item<double>());
    hidden_max = std::max(hidden_max, h0.abs().max().item<double>());
    logit_diff = std::max(logit_diff, (l1 - l0).abs().max().item<double>());
    logit_max = std::max(logit_max, l0.abs().max().item<double>());
    agree += l0.argmax(-1).eq(l1.argmax(-1)).sum().item<int64_t>();
    frames += t;
  }
  const double hidden_rel = hidden_diff / std::max(hidden_max, 1e-30);
  const double logit_rel = logit_diff / std::max(logit_max, 1e-30);
  const double agreement =
      static_cast<double>(agree) / static_cast<double>(std::max<int64_t>(frames, 1));
  *ok = logit_rel <= tol && agreement >= min_agreement;
  std::printf(
      "attention check (%s, dtype %s, rows 10/7.3/3.1 s padded): fused vs explicit max|diff| / "
      "max|explicit|: hidden %.2e, logits %.2e (tolerance %.0e); argmax equal on %.2f%% of %lld "
      "frames (at least %.1f%%): %s\n",
      model.device().str().c_str(), model.encoder().precision().Name().c_str(), hidden_rel,
      logit_rel, tol, 100 * agreement, static_cast<long long>(frames), 100 * min_agreement,
      *ok ? "PASS" : "FAIL");
  return {{"available", true},
          {"hidden_rel_diff", hidden_rel},
          {"logits_rel_diff", logit_rel},
          {"argmax_agreement", agreement},
          {"frames", frames},
          {"tolerance", tol},
          {"pass", *ok}};
}

}  // namespace lact::bench
