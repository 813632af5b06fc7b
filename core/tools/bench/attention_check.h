// lact_bench --check_attention: the fused attention kernel (core/model/attention.h) against the
// reference's explicit ops on this device and dtype, through the whole encoder and lm_head, on a
// ragged batch (rows of 10, 7.3 and 3.1 s right-padded into one, so two rows carry key masks).
// A new LibTorch, GPU or dtype is checked before it is timed: a wrong scale or mask in the fused
// call shows here, where a CPU-vs-GPU comparison of the same binary would not (both fused).
#pragma once

#include <nlohmann/json.hpp>

#include "core/streaming/asr_model.h"

namespace lact::bench {

// Over each row's valid frames: max|fused - explicit| / max|explicit| of the hidden states and of
// the logits, and the share of frames whose logits' argmax agree. *ok: the logits within `tol`
// of their range and >= `min_agreement` of the argmax equal (true, with {"available": false}, where
// this LibTorch has no fused kernel). Leaves FusedAttentionEnabled() as it found it.
nlohmann::json CheckAttention(const AsrModel& model, double tol, double min_agreement, bool* ok);

}  // namespace lact::bench
