// core/corpus/librispeech: the real LibriSpeech sample (../shared/data/librispeech-sample), folder
// spellings, manifests, long-form grouping and error cases on temporary folders.
#include "core/corpus/librispeech.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

namespace lact::eval {
namespace {
namespace fs = std::filesystem;

const std::string kSample = LACT_SHARED_DATA "/librispeech-sample";

bool HaveSample() { return fs::is_directory(kSample + "/LibriSpeech/test-clean"); }

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("lact_client_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void Write(const fs::path& rel, const std::string& content) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel) << content;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(LibriSpeech, ReadsTheRealSampleInOrder) {
  if (!HaveSample()) GTEST_SKIP() << "no " << kSample;
  CorpusOptions options;
  options.librispeech_dir = kSample + "/LibriSpeech";
  auto items = LoadCorpus(options);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[0].id, "1089-134686-0000");
  EXPECT_EQ((*items)[1].id, "1089-134686-0001");
  EXPECT_EQ((*items)[2].id, "1089-134691-0000");
  EXPECT_EQ((*items)[3].id, "1089-134691-0001");
  EXPECT_EQ((*items)[0].speaker, "1089");
  EXPECT_EQ((*items)[0].chapter, "134686");
  EXPECT_EQ((*items)[1].reference, "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM");
  EXPECT_EQ((*items)[2].reference, "HE COULD WAIT NO LONGER");
  ASSERT_EQ((*items)[3].audio_paths.size(), 1u);
  EXPECT_TRUE(fs::is_regular_file((*items)[3].audio_paths[0]));
  EXPECT_EQ(fs::path((*items)[3].audio_paths[0]).filename(), "1089-134691-0001.flac");
}

TEST(LibriSpeech, AcceptsParentOfLibriSpeechAndTheSplitFolder) {
  if (!HaveSample()) GTEST_SKIP() << "no " << kSample;
  for (const std::string& dir : {kSample, kSample + "/LibriSpeech", kSample + "/LibriSpeech/",
                                 kSample + "/LibriSpeech/test-clean"}) {
    auto split = ResolveSplitDir(dir, "test-clean");
    ASSERT_TRUE(split.ok()) << dir << ": " << split.status();
    EXPECT_TRUE(fs::equivalent(*split, kSample + "/LibriSpeech/test-clean")) << dir;
  }
  auto missing = ResolveSplitDir(kSample, "dev-other");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("dev-other"), std::string::npos);
}

TEST(LibriSpeech, LongFormJoinsEachChapterInOrder) {
  if (!HaveSample()) GTEST_SKIP() << "no " << kSample;
  CorpusOptions options;
  options.librispeech_dir = kSample;
  options.long_form = true;
  auto items = LoadCorpus(options);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].id, "1089-134686");
  EXPECT_EQ((*items)[0].audio_paths.size(), 2u);
  EXPECT_EQ(fs::path((*items)[0].audio_paths[1]).filename(), "1089-134686-0001.flac");
  EXPECT_EQ((*items)[1].reference,
            "HE COULD WAIT NO LONGER FOR A FULL HOUR HE HAD PACED UP AND DOWN WAITING BUT HE "
            "COULD WAIT NO LONGER");
  options.limit = 1;
  items = LoadCorpus(options);
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->size(), 1u);
}

TEST(LibriSpeech, LimitKeepsTheFirstItems) {
  if (!HaveSample()) GTEST_SKIP() << "no " << kSample;
  CorpusOptions options;
  options.librispeech_dir = kSample;
  options.limit = 3;
  auto items = LoadCorpus(options);
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->size(), 3u);
}

TEST(LibriSpeech, NumericSpeakerOrderAndErrors) {
  TempDir dir;
  dir.Write("test-clean/1089/7/1089-7.trans.txt", "1089-7-0000 B\n");
  dir.Write("test-clean/1089/7/1089-7-0000.flac", "x");
  dir.Write("test-clean/121/9/121-9.trans.txt", "121-9-0000 A\n\n");
  dir.Write("test-clean/121/9/121-9-0000.flac", "x");
  CorpusOptions options;
  options.librispeech_dir = dir.path().string();
  auto items = LoadCorpus(options);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].id, "121-9-0000");  // 121 < 1089 numerically
  EXPECT_EQ((*items)[1].id, "1089-7-0000");

  dir.Write("test-clean/121/9/121-9.trans.txt", "121-9-0000 A\n121-9-0001 MISSING AUDIO\n");
  items = LoadCorpus(options);
  EXPECT_EQ(items.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(items.status().message().find("121-9-0001.flac"), std::string::npos);

  dir.Write("test-clean/121/9/121-9.trans.txt", "999-9-0000 WRONG SPEAKER\n");
  items = LoadCorpus(options);
  EXPECT_EQ(items.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(items.status().message().find(":1:"), std::string::npos);

  options.split = "test-other";
  EXPECT_EQ(LoadCorpus(options).status().code(), absl::StatusCode::kNotFound);
}

TEST(Manifest, RelativePathsCommentsAndIds) {
  TempDir dir;
  dir.Write("audio/a.wav", "x");
  dir.Write("audio/84-121123-0001.flac", "x");
  dir.Write("audio/84-121123-0002.flac", "x");
  dir.Write("list.tsv",
            "# comment\n\naudio/a.wav\tHello, world\r\n"
            "audio/84-121123-0001.flac\tGO DO YOU HEAR\n"
            "audio/84-121123-0002.flac\tBUT IN LESS THAN FIVE MINUTES\n");
  CorpusOptions options;
  options.manifest = (dir.path() / "list.tsv").string();
  auto items = LoadCorpus(options);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[0].id, "a");
  EXPECT_EQ((*items)[0].speaker, "");
  EXPECT_EQ((*items)[0].reference, "Hello, world");
  EXPECT_TRUE(fs::equivalent((*items)[0].audio_paths[0], dir.path() / "audio/a.wav"));
  EXPECT_EQ((*items)[1].speaker, "84");
  EXPECT_EQ((*items)[1].chapter, "121123");

  options.long_form = true;
  items = LoadCorpus(options);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].id, "a");
  EXPECT_EQ((*items)[1].id, "84-121123");
  EXPECT_EQ((*items)[1].reference, "GO DO YOU HEAR BUT IN LESS THAN FIVE MINUTES");
}

TEST(Manifest, Errors) {
  TempDir dir;
  dir.Write("no_tab.tsv", "audio.wav HELLO\n");
  dir.Write("missing.tsv", "nope.wav\tHELLO\n");
  CorpusOptions options;
  options.manifest = (dir.path() / "no_tab.tsv").string();
  auto items = LoadCorpus(options);
  EXPECT_EQ(items.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(items.status().message().find("no_tab.tsv:1"), std::string::npos);
  options.manifest = (dir.path() / "missing.tsv").string();
  EXPECT_EQ(LoadCorpus(options).status().code(), absl::StatusCode::kNotFound);
  options.manifest = (dir.path() / "absent.tsv").string();
  EXPECT_EQ(LoadCorpus(options).status().code(), absl::StatusCode::kNotFound);
}

TEST(CorpusOptions, Validate) {
  CorpusOptions options;
  EXPECT_FALSE(options.Validate().ok());  // neither source
  options.librispeech_dir = "x";
  options.manifest = "y";
  EXPECT_FALSE(options.Validate().ok());  // both
  options.manifest.clear();
  EXPECT_TRUE(options.Validate().ok());
  options.limit = -1;
  EXPECT_FALSE(options.Validate().ok());
}

}  // namespace
}  // namespace lact::eval
