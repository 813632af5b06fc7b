#include "core/model/npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace lact {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

bool HostIsLittleEndian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// Finds the value text of 'key' in a Python dict literal: the characters after "'key':" up to
// the matching ',' or '}' at nesting depth 0 (tuples nest). Empty on failure.
std::string DictValue(absl::string_view dict, absl::string_view key) {
  const std::string needle = absl::StrCat("'", key, "'");
  size_t pos = dict.find(needle);
  if (pos == absl::string_view::npos) return "";
  pos = dict.find(':', pos + needle.size());
  if (pos == absl::string_view::npos) return "";
  int depth = 0;
  size_t end = pos + 1;
  for (; end < dict.size(); ++end) {
    const char c = dict[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) return "";
  }
  return std::string(absl::StripAsciiWhitespace(dict.substr(pos + 1, end - pos - 1)));
}

}  // namespace

absl::Status WriteNpy(const std::string& path, const torch::Tensor& t) {
  if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat(path, ": undefined tensor"));
  if (!HostIsLittleEndian()) return absl::UnimplementedError("WriteNpy: big-endian host");
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  std::vector<std::string> dims;
  for (int64_t s : c.sizes()) dims.push_back(absl::StrCat(s));
  std::string shape = absl::StrJoin(dims, ", ");
  if (dims.size() == 1) shape += ",";  // Python's 1-tuple
  std::string header =
      absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", shape, "), }");
  // Magic (6) + version (2) + length (2) + header + '\n', padded to a multiple of 64.
  const size_t prefix = kMagicLen + 2 + 2;
  size_t total = prefix + header.size() + 1;
  total = (total + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');
  if (header.size() > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": shape too long for a v1.0 header"));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot open for writing"));
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char version[2] = {1, 0};
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(kMagic, kMagicLen);
  out.write(version, 2);
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(c.data_ptr()),
            static_cast<std::streamsize>(c.numel() * sizeof(float)));
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

absl::StatusOr<torch::Tensor> ReadNpy(const std::string& path) {
  if (!HostIsLittleEndian()) return absl::UnimplementedError("ReadNpy: big-endian host");
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a valid .npy file: ", why));
  };
  if (bytes.size() < kMagicLen + 4 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0) {
    return bad("missing \\x93NUMPY magic");
  }
  const uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len =
        static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return bad("truncated header");
    for (int i = 0; i < 4; ++i) {
      header_len |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    }
    header_start = 12;
  } else {
    return bad(absl::StrCat("unsupported format version ", major));
  }
  if (bytes.size() < header_start + header_len) return bad("truncated header");
  const absl::string_view header(bytes.data() + header_start, header_len);

  std::string descr = DictValue(header, "descr");
  const std::string fortran = DictValue(header, "fortran_order");
  std::string shape_text = DictValue(header, "shape");
  if (descr.empty() || fortran.empty() || shape_text.empty()) {
    return bad(absl::StrCat("header lacks descr/fortran_order/shape: ", header));
  }
  descr = std::string(absl::StripSuffix(absl::StripPrefix(descr, "'"), "'"));
  size_t item = 0;
  if (descr == "<f4") {
    item = 4;
  } else if (descr == "<f8") {
    item = 8;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": unsupported dtype '", descr, "' (only '<f4' and '<f8' are read)"));
  }
  if (fortran != "False") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": Fortran-order arrays are not supported (save with C order)"));
  }
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') {
    return bad(absl::StrCat("bad shape ", shape_text));
  }
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(shape_text).substr(1, shape_text.size() - 2), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;  // trailing comma of a 1-tuple
    int64_t dim = 0;
    if (!absl::SimpleAtoi(part, &dim) || dim < 0)
      return bad(absl::StrCat("bad shape ", shape_text));
    shape.push_back(dim);
    numel *= dim;
  }
  const size_t data_start = header_start + header_len;
  const size_t need = static_cast<size_t>(numel) * item;
  if (bytes.size() - data_start < need) {
    return absl::DataLossError(absl::StrCat(path, ": truncated data (", bytes.size() - data_start,
                                            " bytes, shape ", shape_text, " needs ", need, ")"));
  }
  torch::Tensor t = torch::empty(shape, item == 4 ? torch::kFloat : torch::kDouble);
  if (need > 0) std::memcpy(t.data_ptr(), bytes.data() + data_start, need);
  return t.to(torch::kFloat).contiguous();
}

}  // namespace lact
