#include "core/flags/fused_attention_flag.h"

#include "absl/flags/flag.h"
#include "core/model/attention.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(bool, fused_attention, true, "Run attention as one fused kernel (LibTorch >= 2.0's "
          "scaled_dot_product_attention: flash or memory-efficient attention) where this LibTorch "
          "has it; --nofused_attention: matmul + softmax + matmul, the reference's ops. LibTorch "
          "1.13 (Debian 12's) has only the latter");
// clang-format on

namespace lact {

bool GetFusedAttentionFlag() { return absl::GetFlag(FLAGS_fused_attention); }

void SetFusedAttentionFromFlag() { SetFusedAttention(GetFusedAttentionFlag()); }

}  // namespace lact
