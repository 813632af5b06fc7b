// .npy reader/writer. The fixtures in tests/fixtures/npy/ were written by NumPy 1.24:
//   cd tests/fixtures/npy && /usr/bin/python3 generate.py
#include "core/model/npy.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lact {
namespace {

const std::string kDir = std::string(LACT_TEST_FIXTURES) + "/npy/";

std::string TempPath(const std::string& name) { return ::testing::TempDir() + "/npy_test_" + name; }

std::vector<char> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(NpyTest, RoundTripAnyRank) {
  torch::manual_seed(3);
  for (std::vector<int64_t> shape :
       std::vector<std::vector<int64_t>>{{}, {0}, {5}, {3, 4}, {2, 0, 3}, {2, 3, 4, 5}}) {
    torch::Tensor t = torch::randn(shape);
    const std::string path = TempPath("rt.npy");
    ASSERT_TRUE(WriteNpy(path, t).ok());
    absl::StatusOr<torch::Tensor> back = ReadNpy(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->sizes(), t.sizes());
    EXPECT_EQ(back->scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(*back, t));
  }
}

TEST(NpyTest, WritesNonContiguousDoubleAsFloatCOrder) {
  torch::Tensor t = torch::arange(12, torch::kDouble).reshape({3, 4}).t();  // [4, 3], strided
  const std::string path = TempPath("t.npy");
  ASSERT_TRUE(WriteNpy(path, t).ok());
  absl::StatusOr<torch::Tensor> back = ReadNpy(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(torch::equal(*back, t.to(torch::kFloat)));
}

TEST(NpyTest, HeaderIsV1AndDataIs64ByteAligned) {
  const std::string path = TempPath("h.npy");
  ASSERT_TRUE(WriteNpy(path, torch::ones({7, 3})).ok());
  std::vector<char> bytes = ReadBytes(path);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(std::string(bytes.data() + 1, 5), "NUMPY");
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  const size_t header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ(bytes[10 + header_len - 1], '\n');
  EXPECT_EQ(bytes.size(), 10 + header_len + 7 * 3 * 4);
  const std::string header(bytes.data() + 10, header_len);
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (7, 3)"), std::string::npos) << header;
}

TEST(NpyTest, WritesOneTupleShapeLikeNumpy) {
  const std::string path = TempPath("one.npy");
  ASSERT_TRUE(WriteNpy(path, torch::ones({4})).ok());
  std::vector<char> bytes = ReadBytes(path);
  EXPECT_NE(std::string(bytes.begin(), bytes.end()).find("'shape': (4,)"), std::string::npos);
}

TEST(NpyTest, ReadsNumpyFloat32) {
  absl::StatusOr<torch::Tensor> t = ReadNpy(kDir + "f4_2x3.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(torch::equal(*t, torch::arange(6, torch::kFloat).reshape({2, 3}) / 4));
}

TEST(NpyTest, ReadsNumpyFloat64AsFloat32) {
  absl::StatusOr<torch::Tensor> t = ReadNpy(kDir + "f8_3.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(*t, torch::tensor({1.5f, -2.25f, 1e-3f})));
}

TEST(NpyTest, ReadsNumpyScalar) {
  absl::StatusOr<torch::Tensor> t = ReadNpy(kDir + "f4_scalar.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->dim(), 0);
  EXPECT_EQ(t->item<float>(), 3.5f);
}

TEST(NpyTest, RejectsOtherDtypesAndFortranOrder) {
  absl::StatusOr<torch::Tensor> i4 = ReadNpy(kDir + "i4_2.npy");
  ASSERT_FALSE(i4.ok());
  EXPECT_NE(i4.status().message().find("<i4"), std::string::npos) << i4.status();
  absl::StatusOr<torch::Tensor> f = ReadNpy(kDir + "f4_fortran.npy");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("Fortran"), std::string::npos) << f.status();
}

TEST(NpyTest, RejectsMissingTruncatedAndGarbage) {
  EXPECT_EQ(ReadNpy(TempPath("does_not_exist.npy")).status().code(), absl::StatusCode::kNotFound);

  const std::string path = TempPath("trunc.npy");
  ASSERT_TRUE(WriteNpy(path, torch::ones({10, 10})).ok());
  std::vector<char> bytes = ReadBytes(path);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() - 4));
  }
  absl::StatusOr<torch::Tensor> t = ReadNpy(path);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("truncated"), std::string::npos) << t.status();

  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "not a numpy file at all";
  }
  EXPECT_FALSE(ReadNpy(path).ok());
}

}  // namespace
}  // namespace lact
