// The LaCT state of one stream: what the server keeps per stream between decoding steps
// (LACT_SPEC.md "Streaming"). Created by LactStack::NewState(); advanced by LactStack::Forward.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace lact {

class LactStack;

class LactState {
 public:
  LactState() = default;  // empty (initialized() == false); use LactStack::NewState()
  LactState(LactState&&) = default;
  LactState& operator=(LactState&&) = default;
  // Copying would share (and then co-modify) the tensors: use Clone().
  LactState(const LactState&) = delete;
  LactState& operator=(const LactState&) = delete;

  bool initialized() const { return fast_.defined(); }
  // Back to the start of a stream: fast weights = slow weights, momentum 0, no open chunk.
  void Reset();
  // A deep copy.
  LactState Clone() const;

  // Device bytes held by this stream (all tensors are float32):
  //   fast weights  L * 3 * H * m * d * 4
  // + momentum      L * 3 * H * m * d * 4   (only with use_momentum)
  // + open chunk    L * n * F * 4, n = pending_frames() < C, F = 2D + 3H (+ H with momentum)
  // = L * H * 6 * m * d * 4 for a fresh state (spec formula); 7,077,888 bytes (6.75 MiB) for
  // D = 768, H = 4, L = 2. The initial row norms r0, r1, r2 are the norms of the slow weights,
  // identical for every stream, so they live (once) in the layers, not here.
  int64_t ByteSize() const;

  // Frames of the open (not yet full) chunk: 0 <= n < C.
  int64_t pending_frames() const { return pending_.defined() ? pending_.size(1) : 0; }
  // Committed frames since the start (or Reset) of the stream.
  int64_t frames() const { return frames_; }

  // [L, 3, H, m, d]: per layer (W0, W1ᵀ, W2) as they are now.
  const torch::Tensor& fast_weights() const { return fast_; }
  // [L, 3, H, m, d]: (M0, M1ᵀ, M2); undefined without use_momentum.
  const torch::Tensor& momentum() const { return momentum_; }
  // [L, n, F]: per layer and frame of the open chunk, k | v | lr0 lr1 lr2 | beta.
  const torch::Tensor& pending() const { return pending_; }

 private:
  friend class LactStack;
  LactState(torch::Tensor initial_fast, bool use_momentum, int64_t row_width);

  torch::Tensor initial_fast_;  // [L, 3, H, m, d], the stack's slow weights (shared, not counted)
  torch::Tensor fast_;          // [L, 3, H, m, d]
  torch::Tensor momentum_;      // [L, 3, H, m, d] or undefined
  torch::Tensor pending_;       // [L, n, F]
  int64_t frames_ = 0;
};

}  // namespace lact
