#include "core/util/remove_tree.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace lact {
namespace {

namespace fs = std::filesystem;

class RemoveTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("remove_tree_test_" + std::to_string(::getpid()));
    fs::create_directories(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  fs::path root_;
};

TEST_F(RemoveTreeTest, RemovesNestedDirectoriesAndFiles) {
  const fs::path tree = root_ / "tree";
  fs::create_directories(tree / "a" / "b");
  std::ofstream(tree / "top.txt") << "x";
  std::ofstream(tree / "a" / "b" / "deep.bin") << "y";
  ASSERT_TRUE(RemoveTree(tree.string()).ok());
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_TRUE(fs::exists(root_));
}

TEST_F(RemoveTreeTest, RemovesALinkButNotWhatItPointsTo) {
  const fs::path keep = root_ / "keep";
  fs::create_directories(keep);
  std::ofstream(keep / "precious.txt") << "z";
  const fs::path tree = root_ / "tree";
  fs::create_directories(tree);
  fs::create_directory_symlink(keep, tree / "link");
  ASSERT_TRUE(RemoveTree(tree.string()).ok());
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_TRUE(fs::exists(keep / "precious.txt"));
}

TEST_F(RemoveTreeTest, RemovesASingleFile) {
  const fs::path file = root_ / "file.txt";
  std::ofstream(file) << "x";
  ASSERT_TRUE(RemoveTree(file.string()).ok());
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(RemoveTreeTest, AMissingPathIsNotAnError) {
  EXPECT_TRUE(RemoveTree((root_ / "never-created").string()).ok());
}

}  // namespace
}  // namespace lact
