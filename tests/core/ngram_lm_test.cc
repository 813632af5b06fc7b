// Tests of core/decoding/ngram_lm (ARPA reading, back-off scoring), core/decoding/lexicon (the
// spelling trie) and core/decoding/language_model (the model folder's language_model/). Expected
// scores are worked out by hand from the ARPA text below.
#include "core/decoding/ngram_lm.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/decoding/language_model.h"
#include "core/decoding/lexicon.h"
#include "lact_test_util.h"

namespace lact {
namespace {

constexpr double kLn10 = 2.302585092994046;

constexpr char kArpa[] = R"(some free text before the header is allowed

\data\
ngram 1=5
ngram 2=3
ngram 3=1

\1-grams:
-1.0	<s>	-0.5
-0.7	A	-0.3
-0.9	B	-0.2
-1.2	</s>
-2.0	<unk>

\2-grams:
-0.4	<s> A	-0.1
-0.6	A B
-0.3	B </s>

\3-grams:
-0.2	<s> A B

\end\
)";

NgramLm Lm() { return NgramLm::FromArpaString(kArpa, "test.arpa").value(); }

double Score(const NgramLm& lm, std::vector<std::string> history, const std::string& word) {
  std::vector<int32_t> ids;
  for (const auto& w : history) ids.push_back(lm.WordId(w));
  return lm.Score(ids.data(), static_cast<int>(ids.size()), lm.WordId(word));
}

TEST(NgramLmTest, ReadsHeaderAndIds) {
  NgramLm lm = Lm();
  EXPECT_EQ(lm.order(), 3);
  EXPECT_EQ(lm.num_words(), 5);
  EXPECT_EQ(lm.num_ngrams(1), 5);
  EXPECT_EQ(lm.num_ngrams(2), 3);
  EXPECT_EQ(lm.num_ngrams(3), 1);
  EXPECT_GE(lm.bos_id(), 0);
  EXPECT_GE(lm.eos_id(), 0);
  EXPECT_GE(lm.unk_id(), 0);
  EXPECT_EQ(lm.WordId("C"), -1);
  EXPECT_EQ(lm.Word(lm.WordId("B")), "B");
}

TEST(NgramLmTest, ScoresWithBackOff) {
  NgramLm lm = Lm();
  // Listed trigram.
  EXPECT_NEAR(Score(lm, {"<s>", "A"}, "B"), -0.2 * kLn10, 1e-6);
  // "B A B" and the context "B A" are not listed (no back-off weight): the bigram "A B".
  EXPECT_NEAR(Score(lm, {"B", "A"}, "B"), -0.6 * kLn10, 1e-6);
  // "A B A": "A B" lists no back-off (0); "B A" missing: bo(B) + p(A).
  EXPECT_NEAR(Score(lm, {"A", "B"}, "A"), (-0.2 - 0.7) * kLn10, 1e-6);
  // "<s> A A": bo(<s> A) + bo(A) + p(A).
  EXPECT_NEAR(Score(lm, {"<s>", "A"}, "A"), (-0.1 - 0.3 - 0.7) * kLn10, 1e-6);
  // Only the last order-1 words of a long history count.
  EXPECT_NEAR(Score(lm, {"B", "B", "<s>", "A"}, "B"), -0.2 * kLn10, 1e-6);
  // Unigram with no history; bigram back-off to </s>.
  EXPECT_NEAR(Score(lm, {}, "B"), -0.9 * kLn10, 1e-6);
  EXPECT_NEAR(Score(lm, {"A"}, "</s>"), (-0.3 - 1.2) * kLn10, 1e-6);
  // An unknown word scores as <unk>.
  EXPECT_NEAR(lm.Score(nullptr, 0, -1), -2.0 * kLn10, 1e-6);
  EXPECT_NEAR(lm.UnigramScore(lm.WordId("A")), -0.7 * kLn10, 1e-6);
}

TEST(NgramLmTest, WithoutUnkUsesTheFloor) {
  NgramLm lm =
      NgramLm::FromArpaString("\\data\\\nngram 1=1\n\\1-grams:\n-0.5 A\n\\end\\\n").value();
  EXPECT_EQ(lm.unk_id(), -1);
  EXPECT_EQ(lm.Score(nullptr, 0, -1), NgramLm::kUnkFloor);
}

void ExpectError(const std::string& text, const std::string& needle) {
  auto lm = NgramLm::FromArpaString(text, "bad.arpa");
  ASSERT_FALSE(lm.ok()) << text;
  EXPECT_EQ(lm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(lm.status().message().find(needle), std::string::npos) << lm.status().message();
  EXPECT_NE(lm.status().message().find("bad.arpa"), std::string::npos) << lm.status().message();
}

TEST(NgramLmTest, RejectsMalformedFiles) {
  ExpectError("hello\n", "no \\data\\");
  ExpectError("\\data\\\nngram 1=1\n\\1-grams:\n-0.5 A\n", "no \\end\\");
  ExpectError("\\data\\\nngram 1=2\n\\1-grams:\n-0.5 A\n\\end\\\n", "announced 2 1-grams");
  ExpectError("\\data\\\nngram 1=1\n\\1-grams:\n-0.5 A\n-0.5 B\n\\end\\\n", "more unigrams");
  ExpectError("\\data\\\nngram 1=1\nngram 2=1\n\\1-grams:\n-0.5 A\n\\2-grams:\n-0.1 A C\n\\end\\\n",
              "word 'C' of a 2-gram is not a unigram");
  ExpectError("\\data\\\nngram 1=1\n\\1-grams:\nx A\n\\end\\\n", "bad number 'x'");
  ExpectError("\\data\\\nngram 1=1\n\\1-grams:\n-0.5\n\\end\\\n", "needs a log10 probability");
  ExpectError("\\data\\\nngram 1=1\n\\2-grams:\n\\end\\\n", "out of order");
  ExpectError("\\data\\\nngram 1=1\nngram 2=0\n\\1-grams:\n-0.5 A\n\\end\\\n",
              "ends after the 1-grams");
  ExpectError("\\data\\\nngram two\n", "expected 'ngram N=count'");
  // The line number is given.
  ExpectError("\\data\\\nngram 1=1\n\\1-grams:\nx A\n\\end\\\n", "bad.arpa:4:");
}

TEST(NgramLmTest, MissingFileIsNotFound) {
  auto lm = NgramLm::LoadArpa("/nonexistent/lm.arpa");
  ASSERT_FALSE(lm.ok());
  EXPECT_EQ(lm.status().code(), absl::StatusCode::kNotFound);
}

const Vocab& Letters() {
  static const Vocab* vocab = new Vocab(
      Vocab::FromTokens({"<pad>", "<s>", "</s>", "<unk>", "|", "A", "B", "C", "R", "T", "'"})
          .value());
  return *vocab;
}

TEST(LexiconTest, SpellsWordsAlongTheTrie) {
  NgramLm lm = NgramLm::FromArpaString(
                   "\\data\\\nngram 1=4\n\\1-grams:\n-1 CAT\n-2 CAR\n-0.5 A\n-3 <unk>\n\\end\\\n")
                   .value();
  Lexicon lex =
      Lexicon::Build({"CAT", "CAR", "A", "CAB", "CAT", "C3PO", ""}, Letters(), lm).value();
  EXPECT_EQ(lex.num_words(), 4);    // CAT, CAR, A, CAB (CAT twice counts once)
  EXPECT_EQ(lex.num_skipped(), 2);  // "C3PO" has a character without a token; "" is empty
  const Vocab& v = Letters();
  const int32_t c = lex.Child(Lexicon::kRoot, v.id("C"));
  ASSERT_GE(c, 0);
  EXPECT_EQ(lex.WordAt(c), Lexicon::kNoWord);
  const int32_t ca = lex.Child(c, v.id("A"));
  const int32_t cat = lex.Child(ca, v.id("T"));
  const int32_t cab = lex.Child(ca, v.id("B"));
  ASSERT_GE(cat, 0);
  ASSERT_GE(cab, 0);
  EXPECT_EQ(lex.Child(ca, v.id("C")), -1);
  EXPECT_EQ(lex.WordAt(cat), lm.WordId("CAT"));
  EXPECT_EQ(lex.WordAt(cab), -1);  // a lexicon word the LM does not list
  EXPECT_EQ(lex.WordText(cat), "CAT");
  EXPECT_EQ(lex.Spell(cab, v), "CAB");
  // Look-ahead: the best unigram below the node (CAT -1, CAR -2, CAB as <unk> -3; log10 -> ln).
  EXPECT_NEAR(lex.LookAhead(ca), -1 * kLn10, 1e-6);
  EXPECT_NEAR(lex.LookAhead(cab), -3 * kLn10, 1e-6);
  EXPECT_EQ(lex.Parent(cat), ca);
  EXPECT_EQ(lex.TokenOf(cat), v.id("T"));
}

TEST(LexiconTest, RejectsWordsThatCannotBeSpelled) {
  NgramLm lm = Lm();
  auto lex = Lexicon::Build({"cat", "car"}, Letters(), lm);
  ASSERT_FALSE(lex.ok());
  EXPECT_NE(lex.status().message().find("case"), std::string::npos) << lex.status().message();
  auto no_delim = Lexicon::Build({"CAT"}, Vocab::FromTokens({"<pad>", "C", "A", "T"}).value(), lm);
  EXPECT_FALSE(no_delim.ok());
}

void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(LanguageModelTest, LoadsTheFolder) {
  const std::filesystem::path dir = testing_util::TempDir("lm_folder");
  EXPECT_FALSE(LanguageModel::Present(dir.string()));
  WriteFile(dir / "language_model" / "5gram.arpa",
            "\\data\\\nngram 1=3\n\\1-grams:\n-1 CAT\n-2 CAR\n-3 <unk>\n\\end\\\n");
  WriteFile(dir / "language_model" / "attrs.json",
            R"({"alpha": 0.7, "beta": -0.5, "unk_score_offset": -10})");
  EXPECT_TRUE(LanguageModel::Present(dir.string()));
  auto lm = LanguageModel::Load(dir.string(), Letters());
  ASSERT_TRUE(lm.ok()) << lm.status();
  EXPECT_DOUBLE_EQ((*lm)->attrs().alpha, 0.7);
  EXPECT_DOUBLE_EQ((*lm)->attrs().beta, -0.5);
  EXPECT_EQ((*lm)->lexicon().num_words(), 2);  // <unk> is not a lexicon word
  // unigrams.txt replaces the LM's words as the lexicon.
  WriteFile(dir / "language_model" / "unigrams.txt", "CAT\nTAR\nBAT\n\n");
  auto with_list = LanguageModel::Load(dir.string(), Letters());
  ASSERT_TRUE(with_list.ok()) << with_list.status();
  EXPECT_EQ((*with_list)->lexicon().num_words(), 3);
}

TEST(LanguageModelTest, ReportsFolderErrors) {
  const std::filesystem::path dir = testing_util::TempDir("lm_bad");
  std::filesystem::create_directories(dir / "language_model");
  WriteFile(dir / "language_model" / "lm.bin", "binary");
  auto none = LanguageModel::Load(dir.string(), Letters());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("exactly one *.arpa"), std::string::npos);
  EXPECT_NE(none.status().message().find("KenLM binary"), std::string::npos);
  WriteFile(dir / "language_model" / "lm.arpa",
            "\\data\\\nngram 1=1\n\\1-grams:\n-1 CAT\n\\end\\\n");
  WriteFile(dir / "language_model" / "attrs.json", R"({"alpha": "high"})");
  auto attrs = LanguageModel::Load(dir.string(), Letters());
  ASSERT_FALSE(attrs.ok());
  EXPECT_NE(attrs.status().message().find("alpha"), std::string::npos) << attrs.status();
  WriteFile(dir / "language_model" / "attrs.json", R"({"alpha": 1})");
  WriteFile(dir / "language_model" / "lm.arpa",
            "\\data\\\nngram 1=1\n\\1-grams:\n-1 cat\n\\end\\\n");
  auto lower = LanguageModel::Load(dir.string(), Letters());
  ASSERT_FALSE(lower.ok());
  EXPECT_NE(lower.status().message().find("language_model"), std::string::npos) << lower.status();
}

}  // namespace
}  // namespace lact
