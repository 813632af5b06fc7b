// Tests of core/decoding/vocab: Hugging Face vocab.json parsing, token roles and errors.
#include "core/decoding/vocab.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace lact {
namespace {

namespace fs = std::filesystem;

// facebook/wav2vec2-base-960h's vocab.json (the 32-token English character vocabulary).
constexpr const char* kBase960hVocab =
    R"({"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "E": 5, "T": 6, "A": 7, "O": 8,)"
    R"( "N": 9, "I": 10, "H": 11, "S": 12, "R": 13, "D": 14, "L": 15, "U": 16, "M": 17, "W": 18,)"
    R"( "C": 19, "F": 20, "G": 21, "Y": 22, "P": 23, "B": 24, "V": 25, "K": 26, "'": 27, "X": 28,)"
    R"( "J": 29, "Q": 30, "Z": 31})";

std::string WriteTemp(const std::string& name, const std::string& text) {
  const fs::path dir = fs::path(::testing::TempDir()) / "lact_vocab_test";
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

TEST(VocabTest, ReadsHuggingFaceVocabJson) {
  const std::string path = WriteTemp("vocab.json", kBase960hVocab);
  absl::StatusOr<Vocab> vocab = Vocab::FromJsonFile(path);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->size(), 32);
  EXPECT_EQ(vocab->blank_id(), 0);
  EXPECT_EQ(vocab->word_delimiter_id(), 4);
  EXPECT_EQ(vocab->unk_id(), 3);
  EXPECT_EQ(vocab->token(5), "E");
  EXPECT_EQ(vocab->token(27), "'");
  EXPECT_EQ(vocab->token(31), "Z");
  EXPECT_EQ(vocab->id("E"), 5);
  EXPECT_EQ(vocab->id("e"), -1);
  EXPECT_EQ(vocab->kind(0), Vocab::Kind::kBlank);
  EXPECT_EQ(vocab->kind(1), Vocab::Kind::kSpecial);
  EXPECT_EQ(vocab->kind(2), Vocab::Kind::kSpecial);
  EXPECT_EQ(vocab->kind(3), Vocab::Kind::kSpecial);
  EXPECT_EQ(vocab->kind(4), Vocab::Kind::kDelimiter);
  for (int64_t id = 5; id < 32; ++id) EXPECT_EQ(vocab->kind(id), Vocab::Kind::kText) << id;
  ASSERT_EQ(vocab->tokens().size(), 32u);
}

TEST(VocabTest, PadTokenIdFromConfigOverridesTheName) {
  VocabOptions options;
  options.pad_token_id = 2;
  absl::StatusOr<Vocab> vocab = Vocab::FromJsonString(R"({"a": 0, "<blank>": 2, "|": 1})", options);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->blank_id(), 2);
  EXPECT_EQ(vocab->kind(2), Vocab::Kind::kBlank);
  EXPECT_EQ(vocab->kind(0), Vocab::Kind::kText);
  EXPECT_EQ(vocab->word_delimiter_id(), 1);
  EXPECT_EQ(vocab->unk_id(), -1);

  options.pad_token_id = 3;
  absl::StatusOr<Vocab> out_of_range =
      Vocab::FromJsonString(R"({"a": 0, "<blank>": 2, "|": 1})", options);
  EXPECT_EQ(out_of_range.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VocabTest, CustomPadTokenName) {
  VocabOptions options;
  options.pad_token = "[PAD]";
  absl::StatusOr<Vocab> vocab = Vocab::FromJsonString(R"({"a": 1, "[PAD]": 0})", options);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->blank_id(), 0);
  EXPECT_EQ(vocab->word_delimiter_id(), -1);
}

TEST(VocabTest, FromTokens) {
  absl::StatusOr<Vocab> vocab = Vocab::FromTokens({"<pad>", "|", "A"});
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->size(), 3);
  EXPECT_EQ(vocab->id("A"), 2);
  EXPECT_EQ(Vocab::FromTokens({"<pad>", "A", "A"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Vocab::FromTokens({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VocabTest, MissingFileIsNotFound) {
  const std::string path = "/nonexistent/vocab.json";
  absl::StatusOr<Vocab> vocab = Vocab::FromJsonFile(path);
  EXPECT_EQ(vocab.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(vocab.status().message().find(path), std::string::npos) << vocab.status();
}

// Each malformed vocabulary gives InvalidArgument naming the file and the fault.
TEST(VocabTest, MalformedVocabulariesAreRejected) {
  const struct {
    const char* name;
    const char* json;
    const char* expected_message_part;
  } cases[] = {
      {"bad_json", R"({"<pad>": 0, "a": )", "not valid JSON"},
      {"array", R"(["<pad>", "a"])", "expected a JSON object"},
      {"empty", R"({})", "empty vocabulary"},
      {"duplicate_id", R"({"<pad>": 0, "a": 1, "b": 1})", "duplicate id 1"},
      {"gap", R"({"<pad>": 0, "a": 1, "b": 3})", "without gaps"},
      {"negative", R"({"<pad>": 0, "a": -1})", "negative"},
      {"string_id", R"({"<pad>": 0, "a": "1"})", "not an integer"},
      {"float_id", R"({"<pad>": 0, "a": 1.5})", "not an integer"},
      {"duplicate_token", R"({"<pad>": 0, "a": 1, "a": 2})", "appears twice"},
      {"no_pad", R"({"a": 0, "b": 1})", "no pad token"},
      {"nested", R"({"en": {"<pad>": 0}})", "multi-language"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = WriteTemp(std::string(c.name) + ".json", c.json);
    absl::StatusOr<Vocab> vocab = Vocab::FromJsonFile(path);
    ASSERT_FALSE(vocab.ok());
    EXPECT_EQ(vocab.status().code(), absl::StatusCode::kInvalidArgument) << vocab.status();
    EXPECT_NE(vocab.status().message().find(path), std::string::npos) << vocab.status();
    EXPECT_NE(vocab.status().message().find(c.expected_message_part), std::string::npos)
        << vocab.status();
  }
}

TEST(VocabTest, OptionsAreValidated) {
  VocabOptions options;
  EXPECT_TRUE(options.Validate().ok());
  options.word_delimiter_token = "<pad>";
  EXPECT_EQ(options.Validate().code(), absl::StatusCode::kInvalidArgument);
  options = VocabOptions{};
  options.unk_token = "";
  EXPECT_EQ(options.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Vocab::FromJsonString(kBase960hVocab, options).ok());
}

}  // namespace
}  // namespace lact
