#include "train/train_options.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/streaming/asr_model.h"
#include "core/util/status_macros.h"

namespace lact::train {

absl::Status TrainOptions::Validate() const {
  if (out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  if (mode == TrainMode::kEncoder && config.empty() && base_model.empty()) {
    return absl::InvalidArgumentError(
        "mode encoder needs --config (a config.json) or --base_model");
  }
  if (mode != TrainMode::kEncoder && base_model.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("mode ", TrainModeName(mode), " needs --base_model (the model to freeze)"));
  }
  if (train_top_layers < 0) return absl::InvalidArgumentError("--train_top_layers must be >= 0");
  if (!(top_layers_lr_scale > 0) || top_layers_lr_scale > 100) {
    return absl::InvalidArgumentError("--top_layers_lr_scale must be in (0, 100]");
  }
  if (mode == TrainMode::kTopLayers && train_top_layers < 1) {
    return absl::InvalidArgumentError("mode top_layers needs --train_top_layers >= 1");
  }
  if (mode == TrainMode::kEncoder && train_top_layers > 0) {
    return absl::InvalidArgumentError(
        "--train_top_layers is for modes lact and top_layers (mode encoder trains every layer)");
  }
  if (train_top_layers > 0 && state_cache_dir.empty()) {
    return absl::InvalidArgumentError(
        "--train_top_layers trains on the window states cached below those layers: give "
        "--state_cache DIR");
  }
  if (max_steps < 1) return absl::InvalidArgumentError("--max_steps must be >= 1");
  if (warmup_steps < 0) return absl::InvalidArgumentError("--warmup_steps must be >= 0");
  if (!(lr > 0) || !(min_lr >= 0) || min_lr > lr) {
    return absl::InvalidArgumentError("need --lr > 0 and 0 <= --min_lr <= --lr");
  }
  if (!(weight_decay >= 0)) return absl::InvalidArgumentError("--weight_decay must be >= 0");
  if (!(clip_norm > 0)) return absl::InvalidArgumentError("--clip_norm must be > 0");
  if (!(dropout >= 0 && dropout < 1))
    return absl::InvalidArgumentError("--dropout must be in [0, 1)");
  if (log_every < 1) return absl::InvalidArgumentError("--log_every must be >= 1");
  if (eval_every < 0 || checkpoint_every < 0) {
    return absl::InvalidArgumentError("--eval_every and --checkpoint_every must be >= 0");
  }
  if (stop_at_step < 0) return absl::InvalidArgumentError("--stop_at_step must be >= 0");
  if (!state_cache_dir.empty() && mode == TrainMode::kEncoder) {
    return absl::InvalidArgumentError(
        "--state_cache needs mode lact or top_layers (a frozen encoder)");
  }
  if (torch_threads < 0 || loader_threads < 1) {
    return absl::InvalidArgumentError("--threads must be >= 0 and --loader_threads >= 1");
  }
  if (!(max_minutes >= 0)) return absl::InvalidArgumentError("--max_minutes must be >= 0");
  LACT_RETURN_IF_ERROR(ValidatePrecision());
  LACT_RETURN_IF_ERROR(train_data.Validate());
  if (has_dev) LACT_RETURN_IF_ERROR(dev_data.Validate());
  return absl::OkStatus();
}

absl::Status TrainOptions::ValidatePrecision() const {
  LACT_ASSIGN_OR_RETURN(const torch::Device d, TrainDevice(*this));
  if (dtype != "float32" && dtype != "bfloat16" && dtype != "float16") {
    return absl::InvalidArgumentError(
        absl::StrCat("--dtype must be float32, bfloat16 or float16, got '", dtype, "'"));
  }
  if (dtype != "float32" && !d.is_cuda()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dtype ", dtype,
                     " needs a CUDA --device (LibTorch's CPU autocast leaves the encoder's "
                     "norm layers in a mixed precision that fails)"));
  }
  if (dtype == "float16" && mode == TrainMode::kEncoder) {
    return absl::InvalidArgumentError(
        "--dtype float16 trains without loss scaling: use bfloat16 in mode encoder");
  }
  if (dtype != "float32" && !state_cache_dir.empty()) {
    return absl::InvalidArgumentError(
        "--dtype applies to the encoder run in each step; with --state_cache the encoder runs "
        "once, on the CPU in float32: leave --dtype at float32");
  }
  return absl::OkStatus();
}

const char* TrainModeName(TrainMode mode) {
  switch (mode) {
    case TrainMode::kEncoder: return "encoder";
    case TrainMode::kLact: return "lact";
    case TrainMode::kTopLayers: return "top_layers";
  }
  return "?";
}

absl::StatusOr<torch::Device> TrainDevice(const TrainOptions& options) {
  absl::StatusOr<torch::Device> d = ParseDevice(options.device);
  if (!d.ok())
    return absl::Status(d.status().code(), absl::StrCat("--device: ", d.status().message()));
  return d;
}

torch::ScalarType EncoderDtype(const TrainOptions& options) {
  if (options.dtype == "bfloat16") return torch::kBFloat16;
  if (options.dtype == "float16") return torch::kHalf;
  return torch::kFloat;
}

std::string TrainOptions::ToString() const {
  return absl::StrCat(
      "mode=", TrainModeName(mode), " top_layers=", train_top_layers,
      " top_layers_lr_scale=", top_layers_lr_scale, " config=", config, " base_model=", base_model,
      " lact_config=", lact_config, " out=", out_dir, " max_steps=", max_steps,
      " warmup=", warmup_steps, " lr=", lr, " min_lr=", min_lr, " weight_decay=", weight_decay,
      " clip_norm=", clip_norm, " dropout=", dropout, " seed=", seed, " sortagrad=", sortagrad,
      " batch_seconds=", train_data.batch_seconds,
      " utterances_per_example=", train_data.utterances_per_example,
      " state_cache=", state_cache_dir.empty() ? "off" : state_cache_dir,
      state_cache_dir.empty() ? "" : (state_cache_float16 ? " (float16)" : " (float32)"),
      " device=", device, " dtype=", dtype, " max_minutes=", max_minutes);
}

double LearningRateAt(const TrainOptions& o, int64_t step) {
  if (step < o.warmup_steps) return o.lr * static_cast<double>(step + 1) / o.warmup_steps;
  const double span = static_cast<double>(std::max<int64_t>(1, o.max_steps - o.warmup_steps));
  const double t = std::min(1.0, static_cast<double>(step - o.warmup_steps) / span);
  return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1.0 + std::cos(M_PI * t));
}

}  // namespace lact::train
