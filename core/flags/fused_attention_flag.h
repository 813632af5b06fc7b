// --fused_attention, shared by lact_server, lact_transcribe and lact_bench: attention as LibTorch's
// fused kernel where it has one (core/model/attention.h), or, off, the reference's explicit ops:
// the fallback should a new LibTorch's or GPU's fused kernel misbehave, a benchmark's A/B, and the
// parity check of lact_bench --check_attention.
#pragma once

namespace lact {

// SetFusedAttention(--fused_attention): FusedAttentionEnabled() says whether the fused kernel
// runs (never where this LibTorch lacks it).
bool GetFusedAttentionFlag();
void SetFusedAttentionFromFlag();

}  // namespace lact
