#include "core/model/safetensors.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace lact {
namespace {

std::string TempPath(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Builds a safetensors file by hand: 8-byte little-endian header length, header, data.
std::string Pack(const std::string& header, const std::string& data) {
  std::string out;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

TEST(SafetensorsTest, RoundTripKeepsNamesShapesAndValues) {
  TensorMap in;
  in["a.weight"] = torch::randn({3, 4});
  in["b"] = torch::arange(5, torch::kFloat32);
  in["scalar"] = torch::tensor(2.5f).reshape({});
  const std::string path = TempPath("roundtrip.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, in).ok());
  auto out = LoadSafetensors(path);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 3u);
  for (const auto& [name, t] : in) {
    ASSERT_TRUE(out->count(name)) << name;
    EXPECT_TRUE(torch::equal(out->at(name), t)) << name;
  }
}

TEST(SafetensorsTest, ReadsHalfAndBfloat16ByHand) {
  // F16 1.0 = 0x3C00, -2.0 = 0xC000; BF16 1.5 = 0x3FC0.
  std::string data("\x00\x3C\x00\xC0\xC0\x3F", 6);
  std::string header =
      R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1,1],"data_offsets":[4,6]},"__metadata__":{"format":"pt"}})";
  const std::string path = TempPath("half.safetensors");
  WriteBytes(path, Pack(header, data));
  auto out = LoadSafetensors(path);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->at("h").scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(out->at("h")[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(out->at("h")[1].item<float>(), -2.0f);
  EXPECT_EQ(out->at("b").sizes(), (std::vector<int64_t>{1, 1}));
  EXPECT_FLOAT_EQ(out->at("b").item<float>(), 1.5f);
}

TEST(SafetensorsTest, RejectsUnsupportedDtypeNamingTheTensor) {
  std::string header = R"({"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})";
  const std::string path = TempPath("i64.safetensors");
  WriteBytes(path, Pack(header, std::string(8, '\0')));
  auto out = LoadSafetensors(path);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(std::string(out.status().message()).find("ids"), std::string::npos);
  EXPECT_NE(std::string(out.status().message()).find("I64"), std::string::npos);
}

TEST(SafetensorsTest, RejectsTruncatedAndCorruptFiles) {
  TensorMap in;
  in["w"] = torch::randn({64});
  const std::string path = TempPath("full.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, in).ok());
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());

  const std::string truncated = TempPath("truncated.safetensors");
  WriteBytes(truncated, bytes.substr(0, bytes.size() - 10));
  auto t = LoadSafetensors(truncated);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(std::string(t.status().message()).find("'w'"), std::string::npos) << t.status();

  for (const std::string& junk :
       {std::string("abc"), std::string(64, '\xff'), Pack("not json", ""), Pack("[1,2]", "")}) {
    const std::string p = TempPath("junk.safetensors");
    WriteBytes(p, junk);
    EXPECT_FALSE(LoadSafetensors(p).ok());
  }
  // Offsets that disagree with shape x dtype.
  const std::string p = TempPath("badspan.safetensors");
  WriteBytes(
      p, Pack(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  EXPECT_FALSE(LoadSafetensors(p).ok());
  EXPECT_EQ(LoadSafetensors(TempPath("does-not-exist.safetensors")).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lact
