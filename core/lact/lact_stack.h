// The LaCT adapter: L LaCT layers between the Wav2Vec2 encoder and lm_head (LACT_SPEC.md), with
// batched streaming over many streams.
//
//   LactStack stack = *LactStack::Load(model_dir, encoder_hidden_size, device);
//   LactState s = stack.NewState();
//   ys = *stack.Forward({&s1, &s2}, {x1, x2});   // committed frames, states advance
//   zs = *stack.Peek({&s1, &s2}, {p1, p2});      // provisional frames, states unchanged
//   os = *stack.Step({&s1, &s2}, {x1p1, x2p2}, {n1, n2});  // both in one pass (a streaming step)
//
// A frame's output depends on its own x and on the complete chunks before it, so any split of a
// stream's frames into Forward calls gives the same outputs as the whole sequence at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/lact/lact_config.h"
#include "core/lact/lact_layer.h"
#include "core/lact/lact_state.h"
#include "core/model/safetensors.h"

namespace lact {

class LactStack {
 public:
  LactStack() = default;

  // Reads `model_dir`/lact_config.json (optional: absent = defaults with hidden_size =
  // encoder_hidden_size; a hidden_size different from the encoder's is an error) and
  // `model_dir`/lact.safetensors (optional: absent = the untrained, exact-identity initialisation
  // from `seed`, announced on stderr).
  static absl::StatusOr<LactStack> Load(const std::string& model_dir, int64_t encoder_hidden_size,
                                        torch::Device device = torch::kCPU);
  // From named tensors (keys `layers.{l}.*` of lact.safetensors); every key's shape is checked.
  static absl::StatusOr<LactStack> FromTensors(const LactConfig& config, const TensorMap& tensors,
                                               torch::Device device = torch::kCPU);
  // The deterministic untrained initialisation (o_proj = 0: the stack is the identity).
  static absl::StatusOr<LactStack> Untrained(const LactConfig& config,
                                             torch::Device device = torch::kCPU);

  // The slow weights as CPU float32 tensors named as in lact.safetensors.
  TensorMap StateDict() const;
  // Writes `model_dir`/lact_config.json and `model_dir`/lact.safetensors (the directory must
  // exist).
  absl::Status Save(const std::string& model_dir) const;

  const LactConfig& config() const { return config_; }
  torch::Device device() const { return device_; }
  // False for the untrained initialisation (the stack is then exactly the identity).
  bool trained() const { return trained_; }
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  const LactLayer& layer(int64_t l) const { return layers_[l]; }
  // On CUDA: run the stack's float32 matrix products in TF32 (Tf32MatmulScope around each
  // Forward, Peek and Step; the fast weights, momentum and every other operation stay float32). Set
  // by AsrModel::Load where LactProductsInTf32 says so; ignored off CUDA.
  void set_tf32_products(bool on) { tf32_products_ = on && device_.is_cuda(); }
  bool tf32_products() const { return tf32_products_; }
  // The slow-weight projections' products in bfloat16 (LactLayer::set_projection_dtype; the fast
  // weights, momentum and every other operation stay float32). Set by AsrModel::Load where
  // LactProjectionsInBf16 says so (CUDA beside a bfloat16 encoder, no Muon); any device here, so
  // that the CPU tests can check the arithmetic.
  void set_bf16_projections(bool on);
  bool bf16_projections() const { return bf16_projections_; }
  // How the products run, for logs and benchmarks: "float32", "tf32", "bf16 projections" or
  // "bf16 projections, tf32".
  std::string ProductsName() const;

  // A fresh stream state on the stack's device.
  LactState NewState() const;

  // Advances B streams by their new committed frames: xs[b] [T_b, D] (T_b may be 0 and may
  // differ; any device/float dtype, moved to the stack's device) -> ys[b] [T_b, D] float32 on the
  // stack's device. Streams may be at different positions in their chunks. Batched: in rounds,
  // each stream takes its frames up to its next chunk boundary; one batched apply runs per layer
  // and round, and the streams whose chunk filled run one batched update.
  absl::StatusOr<std::vector<torch::Tensor>> Forward(const std::vector<LactState*>& states,
                                                     const std::vector<torch::Tensor>& xs) const;
  // One stream: x [T, D] -> [T, D].
  absl::StatusOr<torch::Tensor> Forward(LactState& state, const torch::Tensor& x) const;
  // A whole sequence from a fresh state (offline): x [T, D] -> [T, D]. Same code path.
  absl::StatusOr<torch::Tensor> ForwardSequence(const torch::Tensor& x) const;

  // Outputs for provisional (lookahead) frames xs[b] [T_b, D] that would follow the committed
  // ones, without changing any state: exactly what Forward would return for them. Usually an
  // apply with the current fast weights; a stream whose provisional frames would complete its
  // open chunk is run on a temporary copy of its state.
  absl::StatusOr<std::vector<torch::Tensor>> Peek(const std::vector<const LactState*>& states,
                                                  const std::vector<torch::Tensor>& xs) const;

  // A streaming step: Forward of each stream's committed frames, then Peek of the provisional
  // frames after them, in one pass. xs[b] [T_b, D]: stream b's committed frames (the first
  // committed[b], 0 <= committed[b] <= T_b), then its provisional ones -> [T_b, D] float32: the
  // outputs Forward and Peek would give, in that order; only the committed frames advance the
  // states. The two kinds share their rounds (one batched apply per layer and round), except where
  // a stream's provisional frames would complete its open chunk: those run afterwards on a copy.
  absl::StatusOr<std::vector<torch::Tensor>> Step(const std::vector<LactState*>& states,
                                                  const std::vector<torch::Tensor>& xs,
                                                  const std::vector<int64_t>& committed) const;

 private:
  // Forward over streams whose inputs CheckInputs returned; only the first commit[b] frames of
  // x_in[b] advance stream b's state, the rest are applied but neither kept in its open chunk nor
  // counted (the caller guarantees they do not complete the chunk).
  std::vector<torch::Tensor> Run(const std::vector<LactState*>& states,
                                 const std::vector<torch::Tensor>& x_in,
                                 const std::vector<int64_t>& commit) const;
  absl::Status CheckState(const LactState& state, size_t index) const;

  // Run's steps (lact_stack.cc). Round: the frames each stream takes up to its next chunk
  // boundary, batched.
  struct Round;
  // The inputs checked and moved to the stack's device as float32 (no copy where they are
  // already): [T_b, D] each.
  absl::StatusOr<std::vector<torch::Tensor>> CheckInputs(
      const std::vector<LactState*>& states, const std::vector<torch::Tensor>& xs) const;
  // The next round from frames offset[b] on; false when every stream's frames are done.
  bool NextRound(const std::vector<LactState*>& states, const std::vector<torch::Tensor>& x_in,
                 const std::vector<int64_t>& offset, const std::vector<int64_t>& commit,
                 Round* round) const;
  // Layer l's fast-weight update of the streams whose chunk filled, batched over them;
  // rows [A, N, F] are the round's projected rows of layer l.
  void UpdateFilledChunks(const std::vector<LactState*>& states, const Round& round, int64_t l,
                          const torch::Tensor& rows) const;
  // Frame counts and open chunks of the committing streams; rows [A, L, N, F] (undefined when
  // no committing stream keeps an open chunk).
  void CommitRound(const std::vector<LactState*>& states, const Round& round,
                   const torch::Tensor& rows) const;

  LactConfig config_;
  torch::Device device_ = torch::kCPU;
  bool trained_ = false;
  bool tf32_products_ = false;     // CUDA: float32 products in TF32 (set_tf32_products)
  bool bf16_projections_ = false;  // slow-weight projections in bf16 (set_bf16_projections)
  std::vector<LactLayer> layers_;
  torch::Tensor initial_fast_;  // [L, 3, H, m, d]: per layer (w0, w1ᵀ, w2)
};

}  // namespace lact
