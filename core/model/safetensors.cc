#include "core/model/safetensors.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace lact {
namespace {

// Largest header we accept; real checkpoints have headers of a few hundred KiB.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DtypeInfo {
  torch::ScalarType type;
  int64_t bytes;
};

absl::StatusOr<DtypeInfo> ParseDtype(const std::string& dtype) {
  if (dtype == "F32") return DtypeInfo{torch::kFloat32, 4};
  if (dtype == "F16") return DtypeInfo{torch::kFloat16, 2};
  if (dtype == "BF16") return DtypeInfo{torch::kBFloat16, 2};
  if (dtype == "F64") return DtypeInfo{torch::kFloat64, 8};
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported dtype '", dtype, "' (supported: F32, F16, BF16, F64)"));
}

}  // namespace

absl::StatusOr<TensorMap> LoadSafetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  in.seekg(0, std::ios::end);
  const std::streamoff file_size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (file_size < 0) return absl::DataLossError(absl::StrCat(path, ": cannot read file"));
  std::string bytes(static_cast<size_t>(file_size), '\0');
  if (file_size > 0) {
    in.read(bytes.data(), static_cast<std::streamsize>(file_size));
    if (!in) {
      return absl::DataLossError(
          absl::StrCat(path, ": not a valid safetensors file: could not read tensor data"));
    }
  }
  return ParseSafetensors(bytes, path);
}

absl::StatusOr<TensorMap> ParseSafetensors(std::string_view bytes, const std::string& source) {
  const std::string& path = source;
  const uint64_t file_size = bytes.size();
  auto corrupt = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat(path, ": not a valid safetensors file: ", what));
  };
  if (file_size < 8) return corrupt("shorter than its 8-byte header length");

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  if (header_len > kMaxHeaderBytes || header_len > file_size - 8) {
    return corrupt(
        absl::StrCat("header length ", header_len, " exceeds the file size ", file_size));
  }
  const std::string_view header = bytes.substr(8, header_len);

  nlohmann::json meta = nlohmann::json::parse(header.begin(), header.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (meta.is_discarded() || !meta.is_object()) return corrupt("header is not a JSON object");

  const uint64_t data_begin = 8 + header_len;
  const uint64_t data_size = file_size - data_begin;
  const char* data = bytes.data() + data_begin;

  TensorMap tensors;
  for (const auto& item : meta.items()) {
    // Not a structured binding: clang (C++17) cannot capture one in the lambda below.
    const std::string& name = item.key();
    const nlohmann::json& entry = item.value();
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& what) {
      return corrupt(absl::StrCat("tensor '", name, "': ", what));
    };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets")) {
      return bad("entry needs dtype, shape and data_offsets");
    }
    if (!entry["dtype"].is_string()) return bad("dtype is not a string");
    auto dtype = ParseDtype(entry["dtype"].get<std::string>());
    if (!dtype.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": tensor '", name, "': ", dtype.status().message()));
    }
    const auto& shape_json = entry["shape"];
    const auto& offsets = entry["data_offsets"];
    if (!shape_json.is_array()) return bad("shape is not an array");
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      return bad("data_offsets is not [begin, end]");
    }
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    // The product of the non-zero dimensions is bounded too: with a 0 among them, a dimension of
    // 2^64-1 (-1 as int64) made torch::empty throw, which crashed the loader (regression
    // inputs tests/fuzz/corpus/fuzz_safetensors/regress-*).
    uint64_t span = 1;
    for (const auto& dim : shape_json) {
      if (!dim.is_number_unsigned()) return bad("shape has a non-integer dimension");
      const uint64_t d = dim.get<uint64_t>();
      if (d > 0 && span > std::numeric_limits<uint64_t>::max() / 8 / d)
        return bad("shape overflows");
      if (d > 0) span *= d;
      numel *= d;
      shape.push_back(static_cast<int64_t>(d));
    }
    const uint64_t begin = offsets[0].get<uint64_t>();
    const uint64_t end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return bad(absl::StrCat("data_offsets [", begin, ", ", end, "] outside the ", data_size,
                              " data bytes (truncated file?)"));
    }
    if (end - begin != numel * static_cast<uint64_t>(dtype->bytes)) {
      return bad(absl::StrCat("data_offsets span ", end - begin, " bytes but shape and dtype need ",
                              numel * dtype->bytes));
    }
    try {
      torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(dtype->type));
      if (numel > 0) std::memcpy(t.data_ptr(), data + begin, end - begin);
      tensors.emplace(name, t.to(torch::kFloat32).contiguous());
    } catch (const c10::Error& e) {  // a shape LibTorch refuses: an error, never a crash
      return bad(e.what_without_backtrace());
    }
  }
  return tensors;
}

absl::Status SaveSafetensors(const std::string& path, const TensorMap& tensors,
                             const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> blobs;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * 4;
    header[name] = {
        {"dtype", "F32"}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    blobs.push_back(t);
  }
  std::string header_text = header.dump();
  while (header_text.size() % 8 != 0) header_text.push_back(' ');

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(absl::StrCat(tmp, ": cannot open for writing"));
    uint64_t n = header_text.size();
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(len_bytes), 8);
    out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    for (const auto& t : blobs) {
      out.write(static_cast<const char*>(t.data_ptr()),
                static_cast<std::streamsize>(t.numel() * 4));
    }
    if (!out) return absl::DataLossError(absl::StrCat(tmp, ": write failed"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace lact
