// Fuzz target: the safetensors reader (core/model/safetensors.cc, ParseSafetensors: the code behind
// LoadSafetensors, which reads model.safetensors and lact.safetensors of a model folder).
// Input: the bytes of a whole .safetensors file. Every input must give either tensors or an
// error; on success every tensor is float32, contiguous, and its bytes are readable.
#include <cstddef>
#include <cstdint>

#include <torch/torch.h>

#include "core/model/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);  // the conversions are tiny; keep the fuzzer on one core
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tensors = lact::ParseSafetensors(lact::fuzz::AsText(data, size), "fuzz.safetensors");
  if (!tensors.ok()) return 0;
  for (const auto& [name, t] : *tensors) {
    LACT_FUZZ_CHECK(t.scalar_type() == torch::kFloat32);
    LACT_FUZZ_CHECK(t.is_contiguous());
    LACT_FUZZ_CHECK(static_cast<size_t>(t.numel()) * 4 <= size);
    if (t.numel() > 0) {
      const float* p = t.data_ptr<float>();
      volatile float sink = p[0] + p[t.numel() - 1];  // ASan: the whole buffer is owned
      (void)sink;
    }
  }
  return 0;
}
