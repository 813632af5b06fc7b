#include "core/lact/lact_stack.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <ATen/CPUGeneratorImpl.h>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace lact {
namespace {

torch::Tensor StackInitialFast(const std::vector<LactLayer>& layers) {
  std::vector<torch::Tensor> fast;
  for (const LactLayer& l : layers) fast.push_back(l.initial_fast());
  return torch::stack(fast, 0).contiguous();  // [L, 3, H, m, d]
}

}  // namespace

absl::StatusOr<LactStack> LactStack::FromTensors(const LactConfig& config,
                                                 const TensorMap& tensors, torch::Device device) {
  LACT_RETURN_IF_ERROR(config.Validate());
  LactStack s;
  s.config_ = config;
  s.device_ = device;
  s.trained_ = true;
  for (int64_t l = 0; l < config.num_lact_layers; ++l) {
    LACT_ASSIGN_OR_RETURN(LactLayer layer, LactLayer::FromTensors(config, tensors, l, device));
    s.layers_.push_back(std::move(layer));
  }
  s.initial_fast_ = StackInitialFast(s.layers_);
  return s;
}

absl::StatusOr<LactStack> LactStack::Untrained(const LactConfig& config, torch::Device device) {
  LACT_RETURN_IF_ERROR(config.Validate());
  LactStack s;
  s.config_ = config;
  s.device_ = device;
  s.trained_ = false;
  at::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(config.seed));
  for (int64_t l = 0; l < config.num_lact_layers; ++l) {
    s.layers_.push_back(LactLayer::Untrained(config, gen, device));
  }
  s.initial_fast_ = StackInitialFast(s.layers_);
  return s;
}

absl::StatusOr<LactStack> LactStack::Load(const std::string& model_dir,
                                          int64_t encoder_hidden_size, torch::Device device) {
  namespace fs = std::filesystem;
  const fs::path dir(model_dir);
  LactConfig config;
  config.hidden_size = encoder_hidden_size;
  const fs::path config_path = dir / "lact_config.json";
  if (fs::exists(config_path)) {
    LACT_ASSIGN_OR_RETURN(config, LactConfig::FromJsonFile(config_path.string(), config));
  } else {
    absl::Status valid = config.Validate();
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("default LaCT config for encoder hidden size ", encoder_hidden_size, ": ",
                       valid.message()));
    }
  }
  if (config.hidden_size != encoder_hidden_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        config_path.string(), ": hidden_size ", config.hidden_size,
        " differs from the encoder's hidden size ", encoder_hidden_size));
  }
  const fs::path weights_path = dir / "lact.safetensors";
  if (!fs::exists(weights_path)) {
    std::cerr << "lact: " << weights_path.string()
              << " not found: using the untrained LaCT adapter (seed " << config.seed
              << ", o_proj = 0), whose output equals the encoder's\n";
    return Untrained(config, device);
  }
  LACT_ASSIGN_OR_RETURN(TensorMap tensors, LoadSafetensors(weights_path.string()));
  absl::StatusOr<LactStack> s = FromTensors(config, tensors, device);
  if (!s.ok()) {
    return absl::Status(s.status().code(),
                        absl::StrCat(weights_path.string(), ": ", s.status().message()));
  }
  return s;
}

TensorMap LactStack::StateDict() const {
  TensorMap out;
  for (int64_t l = 0; l < num_layers(); ++l) layers_[l].ExportTensors(l, &out);
  return out;
}

absl::Status LactStack::Save(const std::string& model_dir) const {
  namespace fs = std::filesystem;
  const fs::path dir(model_dir);
  const fs::path config_path = dir / "lact_config.json";
  {
    std::ofstream out(config_path, std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(absl::StrCat(config_path.string(), ": cannot write"));
    out << config_.ToJson();
    if (!out) return absl::DataLossError(absl::StrCat(config_path.string(), ": write failed"));
  }
  return SaveSafetensors((dir / "lact.safetensors").string(), StateDict());
}

LactState LactStack::NewState() const {
  return LactState(initial_fast_, config_.use_momentum, layers_.front().row_width());
}

absl::Status LactStack::CheckState(const LactState& state, size_t index) const {
  if (!state.initialized()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LaCT state ", index, " is empty (create it with LactStack::NewState)"));
  }
  if (state.fast_.sizes() != initial_fast_.sizes() || state.fast_.device() != device_ ||
      state.momentum_.defined() != config_.use_momentum) {
    return absl::InvalidArgumentError(
        absl::StrCat("LaCT state ", index, " was not made by this stack"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<torch::Tensor>> LactStack::Forward(
    const std::vector<LactState*>& states, const std::vector<torch::Tensor>& xs) const {
  return Run(states, xs, std::vector<bool>(states.size(), true));
}

absl::StatusOr<torch::Tensor> LactStack::Forward(LactState& state, const torch::Tensor& x) const {
  LACT_ASSIGN_OR_RETURN(std::vector<torch::Tensor> ys, Forward({&state}, {x}));
  return ys.front();
}

absl::StatusOr<torch::Tensor> LactStack::ForwardSequence(const torch::Tensor& x) const {
  LactState state = NewState();
  return Forward(state, x);
}

absl::StatusOr<std::vector<torch::Tensor>> LactStack::Peek(
    const std::vector<const LactState*>& states, const std::vector<torch::Tensor>& xs) const {
  if (states.size() != xs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Peek: ", states.size(), " states but ", xs.size(), " inputs"));
  }
  std::vector<LactState> copies;
  copies.reserve(states.size());  // pointers into it stay valid
  std::vector<LactState*> run_states(states.size());
  std::vector<bool> commit(states.size(), false);
  for (size_t b = 0; b < states.size(); ++b) {
    if (states[b] == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("LaCT state ", b, " is null"));
    }
    LACT_RETURN_IF_ERROR(CheckState(*states[b], b));
    const int64_t t = xs[b].defined() && xs[b].dim() >= 1 ? xs[b].size(0) : 0;
    if (states[b]->pending_frames() + t >= config_.chunk_size) {
      // The provisional frames complete the open chunk: run them for real on a copy.
      copies.push_back(states[b]->Clone());
      run_states[b] = &copies.back();
      commit[b] = true;
    } else {
      // Apply only: Run never writes a state whose commit flag is false.
      run_states[b] = const_cast<LactState*>(states[b]);
    }
  }
  return Run(run_states, xs, commit);
}

absl::StatusOr<std::vector<torch::Tensor>> LactStack::Run(const std::vector<LactState*>& states,
                                                          const std::vector<torch::Tensor>& xs,
                                                          const std::vector<bool>& commit) const {
  torch::NoGradGuard no_grad;
  const size_t B = states.size();
  const int64_t D = config_.hidden_size, C = config_.chunk_size, L = num_layers();
  if (xs.size() != B) {
    return absl::InvalidArgumentError(
        absl::StrCat("LaCT forward: ", B, " states but ", xs.size(), " inputs"));
  }
  std::vector<torch::Tensor> x_in(B);  // [T_b, D] on device_
  std::vector<int64_t> total(B), offset(B, 0);
  std::set<const LactState*> seen;
  for (size_t b = 0; b < B; ++b) {
    if (states[b] == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("LaCT state ", b, " is null"));
    }
    if (!seen.insert(states[b]).second) {
      return absl::InvalidArgumentError(absl::StrCat("LaCT state ", b, " appears twice"));
    }
    LACT_RETURN_IF_ERROR(CheckState(*states[b], b));
    if (!xs[b].defined() || xs[b].dim() != 2 || xs[b].size(1) != D) {
      return absl::InvalidArgumentError(absl::StrCat(
          "LaCT input ", b, " must be [T, ", D, "], got ",
          xs[b].defined() ? c10::str(xs[b].sizes()) : std::string("undefined")));
    }
    x_in[b] = xs[b].to(device_, torch::kFloat);
    total[b] = x_in[b].size(0);
  }
  const auto options = initial_fast_.options();
  std::vector<std::vector<torch::Tensor>> pieces(B);  // per stream: [n, D] per round

  while (true) {
    // This round: each stream with frames left takes them up to its next chunk boundary.
    std::vector<size_t> active;  // stream index per batch row
    std::vector<int64_t> n, p;   // per batch row: frames this round, frames already in the chunk
    for (size_t b = 0; b < B; ++b) {
      if (offset[b] >= total[b]) continue;
      active.push_back(b);
      p.push_back(states[b]->pending_frames());
      n.push_back(std::min(total[b] - offset[b], C - p.back()));
    }
    if (active.empty()) break;
    const int64_t A = static_cast<int64_t>(active.size());
    const int64_t N = *std::max_element(n.begin(), n.end());

    torch::Tensor x;     // [A, N, D], zero-padded after n[i] frames
    torch::Tensor fast;  // [A, L, 3, H, m, d]
    if (A == 1) {
      x = x_in[active[0]].narrow(0, offset[active[0]], n[0]).unsqueeze(0);
      fast = states[active[0]]->fast_.unsqueeze(0);
    } else {
      x = torch::zeros({A, N, D}, options);
      std::vector<torch::Tensor> fasts;
      for (int64_t i = 0; i < A; ++i) {
        x[i].narrow(0, 0, n[i]).copy_(x_in[active[i]].narrow(0, offset[active[i]], n[i]));
        fasts.push_back(states[active[i]]->fast_);
      }
      fast = torch::stack(fasts, 0);
    }
    std::vector<int64_t> filled;  // batch rows whose chunk is full after this round
    bool keep_rows = false;       // some committing stream keeps an open chunk
    for (int64_t i = 0; i < A; ++i) {
      if (!commit[active[i]]) continue;
      if (p[i] + n[i] == C) {
        filled.push_back(i);
      } else {
        keep_rows = true;
      }
    }
    const int64_t U = static_cast<int64_t>(filled.size());
    bool filled_is_all_fresh = U == A;  // every row is a whole chunk of this round
    for (int64_t i : filled) filled_is_all_fresh = filled_is_all_fresh && p[i] == 0;

    std::vector<torch::Tensor> rows_per_layer;  // L x [A, N, F]
    for (int64_t l = 0; l < L; ++l) {
      const LactLayer& layer = layers_[l];
      LactLayer::Projections pr = layer.Project(x);              // q [A, H, N, d], rows [A, N, F]
      torch::Tensor y = layer.Output(x, pr.q, fast.select(1, l));  // [A, N, D] (apply first)
      if (U > 0) {
        // Then the update of the full chunks, batched over those U streams.
        torch::Tensor chunk;  // [U, C, F]
        torch::Tensor w;      // [U, 3, H, m, d]
        torch::Tensor mom;    // [U, 3, H, m, d]
        if (filled_is_all_fresh) {
          chunk = pr.rows;  // N == C
          w = fast.select(1, l);
        } else {
          std::vector<torch::Tensor> chunks, ws;
          for (int64_t i : filled) {
            torch::Tensor r = pr.rows[i].narrow(0, 0, n[i]);  // [n, F]
            if (p[i] > 0) r = torch::cat({states[active[i]]->pending_[l], r}, 0);  // [C, F]
            chunks.push_back(r);
            ws.push_back(fast[i][l]);
          }
          chunk = torch::stack(chunks, 0);
          w = torch::stack(ws, 0);
        }
        if (config_.use_momentum) {
          if (U == 1) {
            mom = states[active[filled[0]]]->momentum_[l].unsqueeze(0);
          } else {
            std::vector<torch::Tensor> ms;
            for (int64_t i : filled) ms.push_back(states[active[i]]->momentum_[l]);
            mom = torch::stack(ms, 0);
          }
        }
        layer.Update(chunk, &w, &mom);
        for (int64_t j = 0; j < U; ++j) {
          LactState* s = states[active[filled[j]]];
          s->fast_[l].copy_(w[j]);
          if (config_.use_momentum) s->momentum_[l].copy_(mom[j]);
        }
      }
      if (keep_rows) rows_per_layer.push_back(pr.rows);
      x = y;
    }

    torch::Tensor rows;  // [A, L, N, F]
    if (keep_rows) rows = torch::stack(rows_per_layer, 1);
    for (int64_t i = 0; i < A; ++i) {
      const size_t b = active[i];
      pieces[b].push_back(x[i].narrow(0, 0, n[i]));  // [n, D]
      offset[b] += n[i];
      if (!commit[b]) continue;
      LactState* s = states[b];
      s->frames_ += n[i];
      if (p[i] + n[i] == C) {
        s->pending_ = torch::empty({L, 0, s->pending_.size(2)}, options);
      } else {
        torch::Tensor r = rows[i].narrow(1, 0, n[i]);  // [L, n, F]
        s->pending_ = p[i] == 0 ? r.clone() : torch::cat({s->pending_, r}, 1);  // [L, p + n, F]
      }
    }
  }

  std::vector<torch::Tensor> ys(B);  // [T_b, D]
  for (size_t b = 0; b < B; ++b) {
    if (pieces[b].empty()) {
      ys[b] = torch::empty({0, D}, options);
    } else if (pieces[b].size() == 1) {
      ys[b] = pieces[b].front();
    } else {
      ys[b] = torch::cat(pieces[b], 0);
    }
  }
  return ys;
}

}  // namespace lact
