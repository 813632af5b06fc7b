#include "core/model/precision.h"

#include <fstream>
#include <sstream>

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

bool CpuHasNativeBfloat16() {
  static const bool native = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream words(line);
      std::string flag;
      while (words >> flag) {
        if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
      }
      return false;  // the first processor's flags speak for all
    }
    return false;
  }();
  return native;
}

const char* PrecisionNames() { return "auto, float32, bfloat16, float16, int8, int8-bfloat16"; }

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
