#include "core/lact/lact_state.h"

namespace lact {

LactState::LactState(torch::Tensor initial_fast, bool use_momentum, int64_t row_width)
    : initial_fast_(std::move(initial_fast)) {
  fast_ = initial_fast_.clone();
  if (use_momentum) momentum_ = torch::zeros_like(initial_fast_);
  pending_ = torch::empty({initial_fast_.size(0), 0, row_width}, initial_fast_.options());
}

void LactState::Reset() {
  if (!initialized()) return;
  fast_.copy_(initial_fast_);
  if (momentum_.defined()) momentum_.zero_();
  pending_ = torch::empty({pending_.size(0), 0, pending_.size(2)}, pending_.options());
  frames_ = 0;
}

LactState LactState::Clone() const {
  LactState c;
  c.initial_fast_ = initial_fast_;
  if (fast_.defined()) c.fast_ = fast_.clone();
  if (momentum_.defined()) c.momentum_ = momentum_.clone();
  if (pending_.defined()) c.pending_ = pending_.clone();
  c.frames_ = frames_;
  return c;
}

int64_t LactState::ByteSize() const {
  int64_t bytes = 0;
  for (const torch::Tensor* t : {&fast_, &momentum_, &pending_}) {
    if (t->defined()) bytes += t->numel() * static_cast<int64_t>(t->element_size());
  }
  return bytes;
}

}  // namespace lact
