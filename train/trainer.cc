#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/corpus/scoring.h"
#include "core/decoding/ctc_decoder.h"
#include "core/lact/lact_stack.h"
#include "core/model/model_folder.h"
#include "core/model/safetensors.h"
#include "core/util/status_macros.h"
#include "train/top_layer_states.h"

namespace lact::train {
namespace {

namespace fs = std::filesystem;

std::string FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  return absl::StrFormat("%dm%02ds", s / 60, s % 60);
}

// Mode lact: the stack to train, untrained (the spec's initialisation), from --lact_config.
absl::StatusOr<TrainableLact> UntrainedStack(const TrainOptions& options,
                                             const Wav2Vec2Config& model) {
  LactConfig defaults;
  defaults.hidden_size = model.hidden_size;
  LactConfig lc = defaults;
  if (!options.lact_config.empty()) {
    LACT_ASSIGN_OR_RETURN(lc, LactConfig::FromJsonFile(options.lact_config, defaults));
  }
  LACT_RETURN_IF_ERROR(lc.Validate());
  if (lc.hidden_size != model.hidden_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lact hidden_size ", lc.hidden_size, " differs from the model's ", model.hidden_size));
  }
  return TrainableLact::Untrained(lc);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const TrainOptions& options) {
  LACT_RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<Trainer> t(new Trainer());
  t->options_ = options;
  if (options.torch_threads > 0) torch::set_num_threads(options.torch_threads);
  torch::manual_seed(options.seed);

  // The model.
  const std::string& base = options.base_model;
  if (!base.empty()) {
    LACT_ASSIGN_OR_RETURN(t->config_, Wav2Vec2Config::FromJsonFile(base + "/config.json"));
    LACT_ASSIGN_OR_RETURN(TensorMap tensors, LoadSafetensors(base + "/model.safetensors"));
    LACT_ASSIGN_OR_RETURN(TrainableWav2Vec2 enc,
                          TrainableWav2Vec2::FromTensors(t->config_, tensors));
    t->encoder_.emplace(std::move(enc));
    LACT_ASSIGN_OR_RETURN(Vocab vocab, Vocab::FromJsonFile(base + "/vocab.json"));
    t->vocab_.emplace(std::move(vocab));
    LACT_ASSIGN_OR_RETURN(Wav2Vec2PreprocessorConfig pre, Wav2Vec2PreprocessorConfig::FromJsonFile(
                                                              base + "/preprocessor_config.json"));
    t->do_normalize_ = pre.do_normalize;
  } else {
    LACT_ASSIGN_OR_RETURN(t->config_, Wav2Vec2Config::FromJsonFile(options.config));
    LACT_ASSIGN_OR_RETURN(TrainableWav2Vec2 enc,
                          TrainableWav2Vec2::Create(t->config_, options.seed));
    t->encoder_.emplace(std::move(enc));
    LACT_ASSIGN_OR_RETURN(Vocab vocab, Vocab::FromTokens(EnglishCharTokens()));
    t->vocab_.emplace(std::move(vocab));
    t->do_normalize_ = true;
  }
  if (t->vocab_->size() != t->config_.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("the vocabulary has ", t->vocab_->size(),
                                                   " tokens but the model's vocab_size is ",
                                                   t->config_.vocab_size));
  }
  t->encoder_->set_dropout(options.dropout);
  if (options.train_top_layers > t->config_.num_hidden_layers) {
    return absl::InvalidArgumentError(absl::StrCat("--train_top_layers ", options.train_top_layers,
                                                   " but the model has ",
                                                   t->config_.num_hidden_layers, " layers"));
  }
  t->top_layers_ = options.train_top_layers;
  t->FreezeEncoder();

  if (options.mode == TrainMode::kLact) {
    LACT_ASSIGN_OR_RETURN(TrainableLact lact, UntrainedStack(options, t->config_));
    t->lact_.emplace(std::move(lact));
  }
  LACT_RETURN_IF_ERROR(t->MoveModels());
  t->ResetOptimizer();
  if (!options.state_cache_dir.empty()) {
    StateCacheOptions cache;
    cache.dir = options.state_cache_dir;
    cache.dtype = options.state_cache_float16 ? torch::kHalf : torch::kFloat;
    LACT_ASSIGN_OR_RETURN(t->state_cache_, EncoderStateCache::Open(cache, options.base_model));
  }

  // Data.
  DatasetOptions train_data = options.train_data;
  train_data.do_normalize = t->do_normalize_;
  train_data.read_audio = t->state_cache_ == nullptr;  // the cache reads its own audio on a miss
  LACT_ASSIGN_OR_RETURN(Dataset train, Dataset::Load(train_data, options.loader_threads));
  t->train_.emplace(std::move(train));
  std::fprintf(stderr, "train: %lld examples, %.2f h (%lld longer than %.0f s skipped)\n",
               static_cast<long long>(t->train_->num_examples()), t->train_->total_seconds() / 3600,
               static_cast<long long>(t->train_->skipped()), train_data.max_example_seconds);
  if (options.has_dev) {
    DatasetOptions dev_data = options.dev_data;
    dev_data.do_normalize = t->do_normalize_;
    dev_data.read_audio = t->state_cache_ == nullptr;
    LACT_ASSIGN_OR_RETURN(Dataset dev, Dataset::Load(dev_data, options.loader_threads));
    t->dev_.emplace(std::move(dev));
    std::fprintf(stderr, "dev: %lld examples, %.2f h\n",
                 static_cast<long long>(t->dev_->num_examples()), t->dev_->total_seconds() / 3600);
  }
  std::fprintf(stderr, "model: %lld encoder parameters%s%s\n",
               static_cast<long long>(t->encoder_->NumParameters()),
               options.mode == TrainMode::kEncoder
                   ? ""
                   : absl::StrCat(" (frozen but the top ", t->top_layers_, " layers)").c_str(),
               options.mode == TrainMode::kLact ? "; training the LaCT stack" : "");

  if (options.resume &&
      fs::exists(fs::path(options.out_dir) / "checkpoint" / "trainer_state.json")) {
    LACT_RETURN_IF_ERROR(t->LoadCheckpoint((fs::path(options.out_dir) / "checkpoint").string()));
    std::fprintf(stderr, "resumed from %s/checkpoint at step %lld\n", options.out_dir.c_str(),
                 static_cast<long long>(t->step_));
  }
  return t;
}

absl::StatusOr<std::pair<torch::Tensor, torch::Tensor>> Trainer::CachedStates(const Batch& batch) {
  std::vector<torch::Tensor> states;
  int64_t longest = 0;
  for (const auto& paths : batch.audio_paths) {
    LACT_ASSIGN_OR_RETURN(torch::Tensor s, state_cache_->Get(paths));  // [T_b, D]
    longest = std::max(longest, s.size(0));
    states.push_back(std::move(s));
  }
  const int64_t B = static_cast<int64_t>(states.size());
  torch::Tensor hidden = torch::zeros({B, longest, config_.hidden_size});  // [B, T, D]
  std::vector<int64_t> frames;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t t = states[static_cast<size_t>(b)].size(0);
    hidden[b].narrow(0, 0, t).copy_(states[static_cast<size_t>(b)]);
    frames.push_back(t);
  }
  // Built on the CPU (the cache's tensors are), moved in one copy each.
  return std::make_pair(hidden.to(device_), torch::tensor(frames, torch::kLong).to(device_));
}

void Trainer::FreezeEncoder() {
  if (options_.mode == TrainMode::kEncoder) return;  // every parameter trains
  encoder_->SetRequiresGrad(false);
  for (torch::Tensor& p : encoder_->TopLayerParameters(top_layers_)) p.requires_grad_(true);
}

absl::Status Trainer::MoveModels() {
  LACT_ASSIGN_OR_RETURN(device_, TrainDevice(options_));
  if (device_.is_cpu()) return absl::OkStatus();  // where they are made
  encoder_->To(device_);
  if (lact_) lact_->To(device_);
  return absl::OkStatus();
}

absl::StatusOr<std::pair<torch::Tensor, torch::Tensor>> Trainer::Forward(const Batch& batch,
                                                                         bool training,
                                                                         bool with_lact) {
  torch::Tensor hidden, frames;
  if (top_layers_ > 0) {  // the top layers on the cached windows below them
    LACT_ASSIGN_OR_RETURN(std::tie(hidden, frames),
                          TopLayerStates(*encoder_, *state_cache_, batch.audio_paths, top_layers_,
                                         training, device_));
  } else if (state_cache_) {  // mode lact: the streaming window's committed frames, from the cache
    LACT_ASSIGN_OR_RETURN(std::tie(hidden, frames), CachedStates(batch));
  } else if (lact_) {
    torch::NoGradGuard no_grad;  // the encoder is frozen
    TrainableWav2Vec2::Output out =
        encoder_->Encode(batch.waveform, batch.lengths, false, EncoderDtype(options_));
    hidden = out.hidden, frames = out.frame_lengths;
  } else {
    TrainableWav2Vec2::Output out =
        encoder_->Encode(batch.waveform, batch.lengths, training, EncoderDtype(options_));
    hidden = out.hidden, frames = out.frame_lengths;
  }
  if (lact_ && with_lact) hidden = lact_->Forward(hidden, frames);
  return std::make_pair(encoder_->Logits(hidden), frames);  // [B, T, V], [B]
}

void Trainer::ResetOptimizer() {
  // The trained parameters: the whole encoder (mode encoder), else the LaCT stack and the top
  // layers (their own group, at top_layers_lr_scale times the scheduled rate).
  std::vector<torch::optim::OptimizerParamGroup> groups;
  group_lr_scale_.clear();
  auto add = [&](std::vector<torch::Tensor> params, double scale) {
    if (params.empty()) return;
    groups.emplace_back(std::move(params));
    group_lr_scale_.push_back(scale);
  };
  if (options_.mode == TrainMode::kEncoder) {
    add(encoder_->Parameters(), 1.0);
  } else {
    if (lact_) add(lact_->Parameters(), 1.0);
    add(encoder_->TopLayerParameters(top_layers_), options_.top_layers_lr_scale);
  }
  optimizer_ =
      std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(options_.lr)
                                                        .betas({0.9, 0.98})
                                                        .eps(1e-8)
                                                        .weight_decay(options_.weight_decay));
}

torch::Tensor Trainer::CtcLoss(const torch::Tensor& logits, const torch::Tensor& frames,
                               const Batch& batch) const {
  torch::Tensor log_probs = torch::log_softmax(logits, -1).transpose(0, 1);  // [T, B, V]
  // Mean over the batch of each example's loss divided by its target length.
  return torch::ctc_loss(log_probs, batch.targets, frames, batch.target_lengths, vocab_->blank_id(),
                         at::Reduction::Mean, /*zero_infinity=*/true);
}

absl::StatusOr<DevScore> Trainer::Evaluate(const Dataset& data, bool with_lact) {
  torch::NoGradGuard no_grad;
  eval::CorpusScore score;
  DevScore out;
  double loss_sum = 0;
  BatchPrefetcher loader(data, *vocab_, data.OrderedBatches(), options_.loader_threads);
  const double frame_s =
      static_cast<double>(config_.SamplesPerFrame()) / data.options().sample_rate;
  while (!loader.Done()) {
    LACT_ASSIGN_OR_RETURN(Batch batch, loader.Next());
    batch = ToDevice(std::move(batch), device_);
    LACT_ASSIGN_OR_RETURN(auto forward, Forward(batch, /*training=*/false, with_lact));
    loss_sum +=
        CtcLoss(forward.first, forward.second, batch).item<double>() * forward.first.size(0);
    // Decoded on the CPU: one copy per batch, not one per example and frame.
    const torch::Tensor logits = forward.first.to(torch::kCPU);   // [B, T, V]
    const torch::Tensor frames = forward.second.to(torch::kCPU);  // [B]
    for (int64_t b = 0; b < logits.size(0); ++b) {
      CtcResult r =
          GreedyDecode(logits[b].narrow(0, 0, frames[b].item<int64_t>()), *vocab_, frame_s);
      score.Add(eval::ScoreUtterance(batch.references[b], r.text));
    }
  }
  out.cer = score.cer();
  out.wer = score.wer();
  out.utterances = score.utterances();
  out.loss = loss_sum / std::max<int64_t>(1, out.utterances);
  return out;
}

absl::StatusOr<Trainer::StepResult> Trainer::TrainStep(const Batch& batch) {
  torch::manual_seed(options_.seed * 7919 + static_cast<uint64_t>(step_));  // dropout
  StepResult r;
  r.lr = LearningRateAt(options_, step_);
  std::vector<torch::Tensor> trained;
  for (size_t g = 0; g < optimizer_->param_groups().size(); ++g) {
    auto& group = optimizer_->param_groups()[g];
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(r.lr * group_lr_scale_[g]);
    trained.insert(trained.end(), group.params().begin(), group.params().end());
  }
  const Batch on_device = ToDevice(batch, device_);
  LACT_ASSIGN_OR_RETURN(auto forward, Forward(on_device, /*training=*/true, /*with_lact=*/true));
  torch::Tensor loss = CtcLoss(forward.first, forward.second, on_device);
  optimizer_->zero_grad();
  loss.backward();
  r.gnorm = torch::nn::utils::clip_grad_norm_(trained, options_.clip_norm);
  optimizer_->step();
  ++step_;
  ++batch_in_epoch_;
  r.loss = loss.item<double>();  // with the norm above, the step's only device syncs
  return r;
}

absl::StatusOr<std::pair<double, double>> Trainer::StepOnce() {
  const std::vector<std::vector<int64_t>> batches = train_->EpochBatches(options_.seed, epoch_);
  const size_t at = static_cast<size_t>(batch_in_epoch_) % batches.size();
  LACT_ASSIGN_OR_RETURN(Batch batch, train_->ReadBatch(batches[at], *vocab_));
  LACT_ASSIGN_OR_RETURN(const StepResult r, TrainStep(batch));
  return std::make_pair(r.loss, r.gnorm);
}

absl::StatusOr<bool> Trainer::EvaluateAndCheckpoint(std::ostream& log) {
  const bool last = step_ == options_.max_steps || out_of_time_;
  if (dev_ && ((options_.eval_every > 0 && step_ % options_.eval_every == 0) || last)) {
    LACT_ASSIGN_OR_RETURN(DevScore s, Evaluate(*dev_, /*with_lact=*/true));
    std::fprintf(stderr, "dev at step %lld: CER %.2f%% WER %.2f%% loss %.4f (%lld examples)\n",
                 static_cast<long long>(step_), 100 * s.cer, 100 * s.wer, s.loss,
                 static_cast<long long>(s.utterances));
    log << step_ << "\tdev\t" << s.loss << "\t" << s.cer << "\t" << s.wer << "\n" << std::flush;
  }
  const bool stop = options_.stop_at_step > 0 && step_ == options_.stop_at_step && !last;
  if ((options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0) || last || stop) {
    LACT_RETURN_IF_ERROR(SaveCheckpoint());
  }
  return stop;
}

absl::Status Trainer::Run() {
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  if (options_.mode != TrainMode::kEncoder && dev_ && step_ == 0) {
    LACT_ASSIGN_OR_RETURN(DevScore base, Evaluate(*dev_, /*with_lact=*/false));
    // The frozen model before training ("without LaCT": the line tools and tests look for).
    std::fprintf(stderr, "dev without LaCT: CER %.2f%% WER %.2f%% loss %.4f (%lld examples)\n",
                 100 * base.cer, 100 * base.wer, base.loss,
                 static_cast<long long>(base.utterances));
  }
  std::error_code ec;
  fs::create_directories(options_.out_dir, ec);
  if (ec)
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", options_.out_dir, ": ", ec.message()));
  std::ofstream log(fs::path(options_.out_dir) / "train_log.tsv", std::ios::app);
  if (!log)
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", options_.out_dir, "/train_log.tsv"));
  double loss_avg = 0, audio_s = 0;
  int64_t loss_n = 0, last_log_step = step_;
  auto last_log = std::chrono::steady_clock::now();
  const double train_t0 = elapsed();  // the --max_minutes budget counts training only
  while (step_ < options_.max_steps && !out_of_time_) {
    std::vector<std::vector<int64_t>> batches =
        train_->EpochBatches(options_.seed, epoch_, options_.sortagrad && epoch_ == 0);
    if (batch_in_epoch_ > 0) {
      batches.erase(batches.begin(),
                    batches.begin() + std::min<int64_t>(batch_in_epoch_, batches.size()));
    }
    BatchPrefetcher loader(*train_, *vocab_, std::move(batches), options_.loader_threads);
    while (!loader.Done() && step_ < options_.max_steps) {
      LACT_ASSIGN_OR_RETURN(Batch batch, loader.Next());
      LACT_ASSIGN_OR_RETURN(const StepResult r, TrainStep(batch));
      if (std::isfinite(r.loss)) loss_avg += r.loss, ++loss_n;
      const double lr = r.lr, gnorm = r.gnorm;
      audio_s += batch.audio_seconds;
      out_of_time_ = options_.max_minutes > 0 && elapsed() - train_t0 >= 60 * options_.max_minutes;
      if (step_ % options_.log_every == 0 || step_ == options_.max_steps || out_of_time_) {
        const double now = elapsed();
        const double dt =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - last_log).count();
        last_log = std::chrono::steady_clock::now();
        const double mean_loss = loss_n ? loss_avg / loss_n : NAN;
        std::fprintf(
            stderr,
            "step %lld/%lld epoch %lld loss %.4f lr %.2e gnorm %.2f | %.0f audio-s/s | "
            "%.1f ms/step | elapsed %s eta %s\n",
            static_cast<long long>(step_), static_cast<long long>(options_.max_steps),
            static_cast<long long>(epoch_), mean_loss, lr, gnorm, audio_s / std::max(dt, 1e-9),
            1e3 * dt / std::max<int64_t>(1, step_ - last_log_step), FormatDuration(now).c_str(),
            FormatDuration(now / step_ * (options_.max_steps - step_)).c_str());
        log << step_ << "\ttrain_loss\t" << mean_loss << "\t" << lr << "\t" << now << "\n"
            << std::flush;
        loss_avg = 0, loss_n = 0, audio_s = 0, last_log_step = step_;
      }
      LACT_ASSIGN_OR_RETURN(const bool stop, EvaluateAndCheckpoint(log));
      if (stop) {
        std::fprintf(stderr,
                     "stopped at step %lld as asked; --resume continues from %s/checkpoint\n",
                     static_cast<long long>(step_), options_.out_dir.c_str());
        return absl::OkStatus();
      }
      if (out_of_time_) break;
    }
    if (loader.Done()) {
      ++epoch_;
      batch_in_epoch_ = 0;
    }
  }
  LACT_RETURN_IF_ERROR(SaveModel(options_.out_dir));
  std::fprintf(stderr, "wrote %s (step %lld, %s)%s\n", options_.out_dir.c_str(),
               static_cast<long long>(step_), FormatDuration(elapsed()).c_str(),
               out_of_time_ ? "; --max_minutes reached: --resume continues from checkpoint/" : "");
  if (state_cache_) {
    std::fprintf(stderr, "state cache %s: %lld hits, %lld misses, %.1f MB written\n",
                 options_.state_cache_dir.c_str(), static_cast<long long>(state_cache_->hits()),
                 static_cast<long long>(state_cache_->misses()),
                 static_cast<double>(state_cache_->bytes_written()) / 1e6);
  }
  return absl::OkStatus();
}

}  // namespace lact::train
