// --onednn_linear, shared by the binaries that run a model for inference (lact_server,
// lact_transcribe, lact_bench): the CPU's float32 linear layers through oneDNN on the --threads
// threads instead of one OpenBLAS thread (core/model/dense_linear.h).
#pragma once

namespace lact {

bool GetOneDnnLinearFlag();
// SetOneDnnLinear(--onednn_linear): OneDnnLinearEnabled() says whether the path is on (never
// without oneDNN).
void SetOneDnnLinearFromFlag();

}  // namespace lact
