#include "core/lact/lact_stack.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <ATen/CPUGeneratorImpl.h>

#include "absl/strings/str_cat.h"
#include "core/model/tf32_matmul_scope.h"
#include "core/util/status_macros.h"

namespace lact {
namespace {

torch::Tensor StackInitialFast(const std::vector<LactLayer>& layers) {
  std::vector<torch::Tensor> fast;
  for (const LactLayer& l : layers) fast.push_back(l.initial_fast());
  return torch::stack(fast, 0).contiguous();  // [L, 3, H, m, d]
}

}  // namespace

absl::StatusOr<LactStack> LactStack::FromTensors(const LactConfig& config, const TensorMap& tensors,
                                                 torch::Device device) {
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

absl::StatusOr<LactStack> LactStack::Load(const std::string& model_dir, int64_t encoder_hidden_size,
                                          torch::Device device) {
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
      return absl::InvalidArgumentError(absl::StrCat("default LaCT config for encoder hidden size ",
                                                     encoder_hidden_size, ": ", valid.message()));
    }
  }
  if (config.hidden_size != encoder_hidden_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_path.string(), ": hidden_size ", config.hidden_size,
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
    if (!out)
      return absl::PermissionDeniedError(absl::StrCat(config_path.string(), ": cannot write"));
    out << config_.ToJson();
    if (!out) return absl::DataLossError(absl::StrCat(config_path.string(), ": write failed"));
  }
  return SaveSafetensors((dir / "lact.safetensors").string(), StateDict());
}

void LactStack::set_bf16_projections(bool on) {
  bf16_projections_ = on;
  for (LactLayer& l : layers_) l.set_projection_dtype(on ? torch::kBFloat16 : torch::kFloat32);
}

std::string LactStack::ProductsName() const {
  if (bf16_projections_) return tf32_products_ ? "bf16 projections, tf32" : "bf16 projections";
  return tf32_products_ ? "tf32" : "float32";
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
  std::vector<int64_t> all(xs.size(), 0);  // every frame committed
  for (size_t b = 0; b < xs.size(); ++b) {
    if (xs[b].defined() && xs[b].dim() >= 1) all[b] = xs[b].size(0);
  }
  return Step(states, xs, all);
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
  // With no committed frame Step never writes a state (a stream whose frames would complete its
  // open chunk runs on a copy), so the const_cast is only a signature's.
  std::vector<LactState*> run_states;
  for (const LactState* s : states) run_states.push_back(const_cast<LactState*>(s));
  return Step(run_states, xs, std::vector<int64_t>(states.size(), 0));
}

absl::StatusOr<std::vector<torch::Tensor>> LactStack::Step(
    const std::vector<LactState*>& states, const std::vector<torch::Tensor>& xs,
    const std::vector<int64_t>& committed) const {
  if (committed.size() != states.size()) {
    return absl::InvalidArgumentError(absl::StrCat("LaCT step: ", states.size(), " states but ",
                                                   committed.size(), " committed counts"));
  }
  torch::NoGradGuard no_grad;
  const Tf32MatmulScope tf32(tf32_products_);
  LACT_ASSIGN_OR_RETURN(const std::vector<torch::Tensor> x_in, CheckInputs(states, xs));
  const int64_t C = config_.chunk_size;
  std::vector<torch::Tensor> shared(x_in);  // what runs in the shared rounds: [T_b or Tc_b, D]
  std::vector<size_t> on_copy;  // streams whose provisional frames would complete the open chunk
  for (size_t b = 0; b < states.size(); ++b) {
    const int64_t T = x_in[b].size(0), tc = committed[b];
    if (tc < 0 || tc > T) {
      return absl::InvalidArgumentError(
          absl::StrCat("LaCT step: stream ", b, " commits ", tc, " of its ", T, " frames"));
    }
    if (tc < T && (states[b]->pending_frames() + tc) % C + (T - tc) >= C) {
      on_copy.push_back(b);
      shared[b] = x_in[b].narrow(0, 0, tc);
    }
  }
  std::vector<torch::Tensor> ys = Run(states, shared, committed);
  if (on_copy.empty()) return ys;
  // Their provisional frames, after the committed ones, run for real on copies of the states.
  std::vector<LactState> copies;
  copies.reserve(on_copy.size());  // pointers into it stay valid
  std::vector<LactState*> copy_states;
  std::vector<torch::Tensor> rest;
  std::vector<int64_t> rest_frames;
  for (size_t b : on_copy) {
    copies.push_back(states[b]->Clone());
    copy_states.push_back(&copies.back());
    rest.push_back(x_in[b].narrow(0, committed[b], x_in[b].size(0) - committed[b]));
    rest_frames.push_back(rest.back().size(0));
  }
  std::vector<torch::Tensor> zs = Run(copy_states, rest, rest_frames);
  for (size_t j = 0; j < on_copy.size(); ++j) {
    const size_t b = on_copy[j];
    ys[b] = committed[b] == 0 ? zs[j] : torch::cat({ys[b], zs[j]}, 0);
  }
  return ys;
}

// One round of Run: each stream with frames left takes them up to its next chunk boundary.
struct LactStack::Round {
  std::vector<size_t> active;    // stream index per batch row
  std::vector<int64_t> n, p, k;  // per batch row: frames this round, frames already in the chunk,
                                 // frames of this round it commits (the first k of n)
  torch::Tensor x;               // [A, N, D], zero-padded after n[i] frames
  torch::Tensor fast;            // [A, L, 3, H, m, d]
  std::vector<int64_t> filled;   // batch rows whose chunk is full after this round
  bool keep_rows = false;        // some committing stream keeps an open chunk
  bool filled_is_all_fresh = false;  // every row is a whole chunk of this round (N == C)
};

absl::StatusOr<std::vector<torch::Tensor>> LactStack::CheckInputs(
    const std::vector<LactState*>& states, const std::vector<torch::Tensor>& xs) const {
  const size_t B = states.size();
  const int64_t D = config_.hidden_size;
  if (xs.size() != B) {
    return absl::InvalidArgumentError(
        absl::StrCat("LaCT forward: ", B, " states but ", xs.size(), " inputs"));
  }
  std::vector<torch::Tensor> x_in(B);  // [T_b, D] on device_
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
      return absl::InvalidArgumentError(
          absl::StrCat("LaCT input ", b, " must be [T, ", D, "], got ",
                       xs[b].defined() ? c10::str(xs[b].sizes()) : std::string("undefined")));
    }
    const bool ready = xs[b].device() == device_ && xs[b].scalar_type() == torch::kFloat;
    x_in[b] = ready ? xs[b] : xs[b].to(device_, torch::kFloat);
  }
  return x_in;
}

bool LactStack::NextRound(const std::vector<LactState*>& states,
                          const std::vector<torch::Tensor>& x_in,
                          const std::vector<int64_t>& offset, const std::vector<int64_t>& commit,
                          Round* round) const {
  const int64_t C = config_.chunk_size;
  *round = Round();
  for (size_t b = 0; b < states.size(); ++b) {
    if (offset[b] >= x_in[b].size(0)) continue;
    round->active.push_back(b);
    round->p.push_back(states[b]->pending_frames());
    round->n.push_back(std::min(x_in[b].size(0) - offset[b], C - round->p.back()));
    round->k.push_back(std::clamp<int64_t>(commit[b] - offset[b], 0, round->n.back()));
  }
  if (round->active.empty()) return false;
  const std::vector<size_t>& active = round->active;
  const std::vector<int64_t>& n = round->n;
  const int64_t A = static_cast<int64_t>(active.size());
  const int64_t N = *std::max_element(n.begin(), n.end());
  // A stream's frames of this round, as a view (none where they are its whole input).
  auto frames = [&](int64_t i) {
    const torch::Tensor& x = x_in[active[i]];
    return offset[active[i]] == 0 && n[i] == x.size(0) ? x : x.narrow(0, offset[active[i]], n[i]);
  };
  if (A == 1) {
    round->x = frames(0).unsqueeze(0);
    round->fast = states[active[0]]->fast_.unsqueeze(0);
  } else {
    std::vector<torch::Tensor> xs, fasts;
    for (int64_t i = 0; i < A; ++i) {
      xs.push_back(frames(i));
      fasts.push_back(states[active[i]]->fast_);
    }
    if (std::all_of(n.begin(), n.end(), [N](int64_t v) { return v == N; })) {
      round->x = torch::stack(xs, 0);  // one copy for every stream
    } else {
      round->x = torch::zeros({A, N, config_.hidden_size}, initial_fast_.options());
      for (int64_t i = 0; i < A; ++i) round->x[i].narrow(0, 0, n[i]).copy_(xs[i]);
    }
    round->fast = torch::stack(fasts, 0);
  }
  for (int64_t i = 0; i < A; ++i) {
    // Run's callers guarantee that provisional frames never complete a chunk, so a row that
    // reaches the boundary commits all of its frames (k = n).
    if (round->k[i] == 0) continue;
    if (round->p[i] + round->k[i] == C) {
      round->filled.push_back(i);
    } else {
      round->keep_rows = true;
    }
  }
  round->filled_is_all_fresh = static_cast<int64_t>(round->filled.size()) == A;
  for (int64_t i : round->filled) round->filled_is_all_fresh &= round->p[i] == 0;
  return true;
}

void LactStack::UpdateFilledChunks(const std::vector<LactState*>& states, const Round& round,
                                   int64_t l, const torch::Tensor& rows) const {
  const int64_t U = static_cast<int64_t>(round.filled.size());
  torch::Tensor chunk;  // [U, C, F]
  torch::Tensor w;      // [U, 3, H, m, d]
  torch::Tensor mom;    // [U, 3, H, m, d]
  if (round.filled_is_all_fresh) {
    chunk = rows;
    w = round.fast.select(1, l);
  } else {
    std::vector<torch::Tensor> chunks, ws;
    for (int64_t i : round.filled) {
      torch::Tensor r = rows[i].narrow(0, 0, round.n[i]);                                // [n, F]
      if (round.p[i] > 0) r = torch::cat({states[round.active[i]]->pending_[l], r}, 0);  // [C, F]
      chunks.push_back(r);
      ws.push_back(round.fast[i][l]);
    }
    chunk = torch::stack(chunks, 0);
    w = torch::stack(ws, 0);
  }
  if (config_.use_momentum) {
    std::vector<torch::Tensor> ms;
    for (int64_t i : round.filled) ms.push_back(states[round.active[i]]->momentum_[l]);
    mom = U == 1 ? ms.front().unsqueeze(0) : torch::stack(ms, 0);
  }
  layers_[l].Update(chunk, &w, &mom);
  for (int64_t j = 0; j < U; ++j) {
    LactState* s = states[round.active[round.filled[j]]];
    s->fast_[l].copy_(w[j]);
    if (config_.use_momentum) s->momentum_[l].copy_(mom[j]);
  }
}

void LactStack::CommitRound(const std::vector<LactState*>& states, const Round& round,
                            const torch::Tensor& rows) const {
  for (size_t i = 0; i < round.active.size(); ++i) {
    const int64_t k = round.k[i];
    if (k == 0) continue;
    LactState* s = states[round.active[i]];
    s->frames_ += k;
    if (round.p[i] + k == config_.chunk_size) {
      s->pending_ = torch::empty({num_layers(), 0, s->pending_.size(2)}, initial_fast_.options());
    } else {
      torch::Tensor r = rows[i].narrow(1, 0, k);                                    // [L, k, F]
      s->pending_ = round.p[i] == 0 ? r.clone() : torch::cat({s->pending_, r}, 1);  // [L, p + k, F]
    }
  }
}

std::vector<torch::Tensor> LactStack::Run(const std::vector<LactState*>& states,
                                          const std::vector<torch::Tensor>& x_in,
                                          const std::vector<int64_t>& commit) const {
  const size_t B = states.size();
  std::vector<int64_t> offset(B, 0);                  // frames of x_in[b] done
  std::vector<std::vector<torch::Tensor>> pieces(B);  // per stream: [n, D] per round
  Round round;
  while (NextRound(states, x_in, offset, commit, &round)) {
    torch::Tensor x = round.x;                  // [A, N, D]
    std::vector<torch::Tensor> rows_per_layer;  // L x [A, N, F]
    for (int64_t l = 0; l < num_layers(); ++l) {
      // Apply with the fast weights before this round's update, then update the full chunks.
      LactLayer::Projections pr = layers_[l].Project(x);  // q [A, H, N, d], rows [A, N, F]
      torch::Tensor y = layers_[l].Output(x, pr.q, round.fast.select(1, l));  // [A, N, D]
      if (!round.filled.empty()) UpdateFilledChunks(states, round, l, pr.rows);
      if (round.keep_rows) rows_per_layer.push_back(pr.rows);
      x = y;
    }
    CommitRound(
        states, round,
        round.keep_rows ? torch::stack(rows_per_layer, 1) : torch::Tensor());  // [A, L, N, F]
    for (size_t i = 0; i < round.active.size(); ++i) {
      const int64_t n = round.n[i];
      pieces[round.active[i]].push_back(n == x.size(1) ? x[i] : x[i].narrow(0, 0, n));  // [n, D]
      offset[round.active[i]] += n;
    }
  }
  std::vector<torch::Tensor> ys(B);  // [T_b, D]
  for (size_t b = 0; b < B; ++b) {
    if (pieces[b].empty()) {
      ys[b] = torch::empty({0, config_.hidden_size}, initial_fast_.options());
    } else {
      ys[b] = pieces[b].size() == 1 ? pieces[b].front() : torch::cat(pieces[b], 0);
    }
  }
  return ys;
}

}  // namespace lact
