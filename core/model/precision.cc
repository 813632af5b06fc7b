#include "core/model/precision.h"

#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/quantized_linear.h"

namespace lact {

std::string Precision::Name() const {
  const char* base = dtype == torch::kBFloat16  ? "bfloat16"
                     : dtype == torch::kFloat16 ? "float16"
                                                : "float32";
  if (!int8_linear) return base;
  return dtype == torch::kBFloat16 ? "int8-bfloat16" : "int8";
}

bool CpuHasAnyFlag(std::initializer_list<std::string_view> wanted) {
  static const std::vector<std::string> flags = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream words(line);
      std::vector<std::string> all;
      for (std::string flag; words >> flag;) all.push_back(flag);
      return all;  // the first processor's flags speak for all
    }
    return std::vector<std::string>{};
  }();
  for (const std::string& flag : flags) {
    for (std::string_view w : wanted) {
      if (flag == w) return true;
    }
  }
  return false;
}

bool CpuHasNativeBfloat16() { return CpuHasAnyFlag({"avx512_bf16", "amx_bf16"}); }

const char* PrecisionNames() { return "auto, float32, bfloat16, float16, int8, int8-bfloat16"; }

bool LactProductsInTf32(const Precision& encoder, const torch::Device& device) {
  return device.is_cuda() &&
         (encoder.dtype == torch::kFloat16 || encoder.dtype == torch::kBFloat16);
}

bool LactProjectionsInBf16(const Precision& encoder, const torch::Device& device, bool muon) {
  return device.is_cuda() && encoder.dtype == torch::kBFloat16 && !muon;
}

absl::StatusOr<Precision> ResolvePrecision(const std::string& name, const torch::Device& device) {
  const bool cpu = device.is_cpu();
  if (name == "auto") {
    if (!cpu) return Precision{torch::kFloat16, false};
    return Precision{CpuHasNativeBfloat16() ? torch::kBFloat16 : torch::kFloat32, false};
  }
  if (name == "float32") return Precision{};
  if (name == "bfloat16") return Precision{torch::kBFloat16, false};
  if (name == "float16") {
    if (cpu) {
      return absl::InvalidArgumentError(
          "dtype float16 needs a CUDA device (LibTorch's CPU kernels lack it); on the CPU use "
          "bfloat16, int8 or auto");
    }
    return Precision{torch::kFloat16, false};
  }
  if (name == "int8" || name == "int8-bfloat16") {
    if (!cpu) {
      return absl::InvalidArgumentError(absl::StrCat("dtype ", name, " runs on the CPU only; on ",
                                                     device.str(), " use float16 or bfloat16"));
    }
    if (absl::Status ok = QuantizedLinear::Available(); !ok.ok()) return ok;
    return Precision{name == "int8" ? torch::kFloat32 : torch::kBFloat16, true};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("dtype must be one of ", PrecisionNames(), "; got '", name, "'"));
}

}  // namespace lact
