// Tests of core/decoding/ctc_decoder: greedy CTC decoding rules, word timings, and the incremental
// decoder (any split of the frames decodes as the whole; committed text only grows).
#include "core/decoding/ctc_decoder.h"

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lact {
namespace {

constexpr double kFrame = 0.02;

const Vocab& TestVocab() {
  static const Vocab* vocab = [] {
    absl::StatusOr<Vocab> v =
        Vocab::FromTokens({"<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I",
                           "H",     "S",   "R",    "D",     "L", "U", "M", "W", "C", "F", "G",
                           "Y",     "P",   "B",    "V",     "K", "'", "X", "J", "Q", "Z"});
    return new Vocab(std::move(v).value());
  }();
  return *vocab;
}

// "H H <pad> E" -> ids, one token per frame.
std::vector<int64_t> Ids(const std::string& frames) {
  std::istringstream in(frames);
  std::vector<int64_t> ids;
  for (std::string token; in >> token;) {
    const int64_t id = TestVocab().id(token);
    EXPECT_GE(id, 0) << "unknown token " << token;
    ids.push_back(id);
  }
  return ids;
}

torch::Tensor IdTensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kLong);  // [T]
}

// One-hot-ish logits whose argmax is `ids`: [T, V].
torch::Tensor LogitsFor(const std::vector<int64_t>& ids) {
  torch::Tensor logits = torch::randn({static_cast<int64_t>(ids.size()), TestVocab().size()});
  for (size_t t = 0; t < ids.size(); ++t) logits[t][ids[t]] = 100.0;
  return logits;
}

void ExpectSameResult(const CtcResult& a, const CtcResult& b) {
  EXPECT_EQ(a.text, b.text);
  ASSERT_EQ(a.words.size(), b.words.size());
  for (size_t i = 0; i < a.words.size(); ++i) {
    EXPECT_EQ(a.words[i].word, b.words[i].word) << i;
    EXPECT_DOUBLE_EQ(a.words[i].start_s, b.words[i].start_s) << i;
    EXPECT_DOUBLE_EQ(a.words[i].end_s, b.words[i].end_s) << i;
  }
}

TEST(CtcDecoderTest, HelloWithWordTimes) {
  //                      0 1 2     3 4 5     6 7 8 9 10 11
  const auto ids = Ids("H H <pad> E L <pad> L O | | W O");
  const CtcResult r = GreedyDecodeIds(IdTensor(ids), TestVocab(), kFrame);
  EXPECT_EQ(r.text, "HELLO WO");
  ASSERT_EQ(r.words.size(), 2u);
  EXPECT_EQ(r.words[0].word, "HELLO");
  EXPECT_DOUBLE_EQ(r.words[0].start_s, 0 * kFrame);
  EXPECT_DOUBLE_EQ(r.words[0].end_s, 8 * kFrame);  // "O" at frame 7
  EXPECT_EQ(r.words[1].word, "WO");
  EXPECT_DOUBLE_EQ(r.words[1].start_s, 10 * kFrame);
  EXPECT_DOUBLE_EQ(r.words[1].end_s, 12 * kFrame);

  // The same from logits, [T, V] and [1, T, V].
  const torch::Tensor logits = LogitsFor(ids);
  ExpectSameResult(GreedyDecode(logits, TestVocab(), kFrame), r);
  ExpectSameResult(GreedyDecode(logits.unsqueeze(0), TestVocab(), kFrame), r);
  EXPECT_TRUE(torch::equal(CtcArgmax(logits), IdTensor(ids)));
}

TEST(CtcDecoderTest, WordEndsAtTheEndOfItsLastRun) {
  //                      0 1 2 3 4 5     6     7 8
  const auto ids = Ids("<pad> A A B B B <pad> <pad> |");
  const CtcResult r = GreedyDecodeIds(IdTensor(ids), TestVocab(), kFrame);
  EXPECT_EQ(r.text, "AB");
  ASSERT_EQ(r.words.size(), 1u);
  EXPECT_DOUBLE_EQ(r.words[0].start_s, 1 * kFrame);
  EXPECT_DOUBLE_EQ(r.words[0].end_s, 6 * kFrame);
}

TEST(CtcDecoderTest, DelimitersCollapseAndDoNotPadTheText) {
  EXPECT_EQ(
      GreedyDecodeIds(IdTensor(Ids("| <pad> | A | <pad> | | B <pad> | |")), TestVocab(), kFrame)
          .text,
      "A B");
  EXPECT_EQ(GreedyDecodeIds(IdTensor(Ids("A | B")), TestVocab(), kFrame).text, "A B");
  EXPECT_EQ(GreedyDecodeIds(IdTensor(Ids("| | |")), TestVocab(), kFrame).text, "");
}

TEST(CtcDecoderTest, BlankSeparatesRepeatedLetters) {
  EXPECT_EQ(GreedyDecodeIds(IdTensor(Ids("L L L")), TestVocab(), kFrame).text, "L");
  EXPECT_EQ(GreedyDecodeIds(IdTensor(Ids("L <pad> L")), TestVocab(), kFrame).text, "LL");
  EXPECT_EQ(GreedyDecodeIds(IdTensor(Ids("L | L")), TestVocab(), kFrame).text, "L L");
}

TEST(CtcDecoderTest, SpecialTokensAreDroppedBeforeCollapsing) {
  // As transformers' decode(skip_special_tokens=True): "<s>", "</s>", "<unk>" vanish, as if their
  // frames were not there, so they neither appear nor separate a run.
  const CtcResult r =
      GreedyDecodeIds(IdTensor(Ids("<s> A <unk> A </s> B | <unk> | C <s>")), TestVocab(), kFrame);
  EXPECT_EQ(r.text, "AB C");
  ASSERT_EQ(r.words.size(), 2u);
  EXPECT_DOUBLE_EQ(r.words[0].start_s, 1 * kFrame);
  EXPECT_DOUBLE_EQ(r.words[0].end_s, 6 * kFrame);
  EXPECT_DOUBLE_EQ(r.words[1].start_s, 9 * kFrame);
  EXPECT_DOUBLE_EQ(r.words[1].end_s, 10 * kFrame);
  EXPECT_EQ(GreedyDecodeIds(IdTensor(Ids("A <pad> <unk> A")), TestVocab(), kFrame).text, "AA");
}

TEST(CtcDecoderTest, EmptyAndAllBlank) {
  const CtcResult empty = GreedyDecodeIds(torch::empty({0}, torch::kLong), TestVocab(), kFrame);
  EXPECT_EQ(empty.text, "");
  EXPECT_TRUE(empty.words.empty());
  EXPECT_EQ(GreedyDecode(torch::zeros({0, TestVocab().size()}), TestVocab(), kFrame).text, "");
  EXPECT_EQ(GreedyDecodeIds(IdTensor(Ids("<pad> <pad> <s>")), TestVocab(), kFrame).text, "");
}

TEST(CtcDecoderTest, AcceptsOtherIntegerDtypesAndRejectsBadInput) {
  const auto ids = Ids("C A T");
  EXPECT_EQ(GreedyDecodeIds(IdTensor(ids).to(torch::kInt), TestVocab(), kFrame).text, "CAT");
  EXPECT_THROW(GreedyDecodeIds(torch::tensor({0, 99}, torch::kLong), TestVocab(), kFrame),
               c10::Error);
  EXPECT_THROW(GreedyDecodeIds(torch::tensor({-1}, torch::kLong), TestVocab(), kFrame), c10::Error);
  EXPECT_THROW(GreedyDecodeIds(torch::zeros({2, 2}, torch::kLong), TestVocab(), kFrame),
               c10::Error);
  EXPECT_THROW(GreedyDecodeIds(torch::zeros({2}), TestVocab(), kFrame), c10::Error);
  EXPECT_THROW(GreedyDecode(torch::zeros({3, 5}), TestVocab(), kFrame), c10::Error);
  EXPECT_THROW(GreedyDecode(torch::zeros({2, 3, 32}), TestVocab(), kFrame), c10::Error);
  EXPECT_THROW(CtcGreedyDecoder(TestVocab(), 0.0), c10::Error);
}

// A random frame sequence that looks like CTC output: mostly blanks, runs, delimiters.
std::vector<int64_t> RandomFrames(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> any(0, TestVocab().size() - 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<int64_t> ids;
  while (ids.size() < n) {
    const double p = u(rng);
    const int64_t id = p < 0.45   ? TestVocab().blank_id()
                       : p < 0.55 ? TestVocab().word_delimiter_id()
                                  : any(rng);
    const int run = 1 + static_cast<int>(u(rng) * 3);
    for (int k = 0; k < run && ids.size() < n; ++k) ids.push_back(id);
  }
  return ids;
}

TEST(CtcGreedyDecoderTest, EveryTwoWaySplitEqualsOneShot) {
  const auto ids = Ids("H H <pad> E L <pad> L O | | W O R R <unk> L D D | <pad>");
  const CtcResult whole = GreedyDecodeIds(IdTensor(ids), TestVocab(), kFrame);
  EXPECT_EQ(whole.text, "HELLO WORLD");
  for (size_t cut = 0; cut <= ids.size(); ++cut) {
    SCOPED_TRACE(cut);
    CtcGreedyDecoder decoder(TestVocab(), kFrame);
    decoder.Accept(IdTensor({ids.begin(), ids.begin() + cut}));
    decoder.Accept(IdTensor({ids.begin() + cut, ids.end()}));
    ExpectSameResult(decoder.Committed(), whole);
    EXPECT_EQ(decoder.num_frames(), static_cast<int64_t>(ids.size()));
  }
}

TEST(CtcGreedyDecoderTest, RandomSplitsEqualOneShot) {
  for (unsigned seed = 0; seed < 20; ++seed) {
    const std::vector<int64_t> ids = RandomFrames(500, seed);
    const CtcResult whole = GreedyDecodeIds(IdTensor(ids), TestVocab(), kFrame);
    std::mt19937 rng(seed + 100);
    std::uniform_int_distribution<size_t> piece(0, 40);
    CtcGreedyDecoder decoder(TestVocab(), kFrame);
    for (size_t pos = 0; pos < ids.size();) {
      const size_t n = std::min(piece(rng), ids.size() - pos);
      decoder.Accept(ids.data() + pos, n);
      pos += n;
    }
    SCOPED_TRACE(seed);
    ExpectSameResult(decoder.Committed(), whole);
  }
}

TEST(CtcGreedyDecoderTest, CommittedTextOnlyGrows) {
  const std::vector<int64_t> ids = RandomFrames(400, 42);
  CtcGreedyDecoder decoder(TestVocab(), kFrame);
  CtcResult before = decoder.Committed();
  for (size_t t = 0; t < ids.size(); ++t) {
    decoder.Accept(ids.data() + t, 1);
    const CtcResult after = decoder.Committed();
    ASSERT_EQ(after.text.compare(0, before.text.size(), before.text), 0)
        << "'" << before.text << "' is not a prefix of '" << after.text << "'";
    ASSERT_GE(after.words.size(), before.words.size());
    for (size_t i = 0; i < before.words.size(); ++i) {
      const bool last = i + 1 == before.words.size();
      if (!last) {
        EXPECT_EQ(after.words[i].word, before.words[i].word);
        EXPECT_EQ(after.words[i].end_s, before.words[i].end_s);
      } else {  // the open word may still gain tokens and end later
        EXPECT_EQ(after.words[i].word.compare(0, before.words[i].word.size(), before.words[i].word),
                  0);
        EXPECT_GE(after.words[i].end_s, before.words[i].end_s);
      }
      EXPECT_EQ(after.words[i].start_s, before.words[i].start_s);
    }
    before = after;
  }
}

TEST(CtcGreedyDecoderTest, WithProvisionalDoesNotChangeState) {
  const auto committed = Ids("H E L <pad> L");
  const auto provisional = Ids("L O | W");
  CtcGreedyDecoder decoder(TestVocab(), kFrame);
  decoder.Accept(IdTensor(committed));
  const CtcResult c = decoder.Committed();
  EXPECT_EQ(c.text, "HELL");

  std::vector<int64_t> all = committed;
  all.insert(all.end(), provisional.begin(), provisional.end());
  const CtcResult p = decoder.WithProvisional(IdTensor(provisional));
  ExpectSameResult(p, GreedyDecodeIds(IdTensor(all), TestVocab(), kFrame));
  EXPECT_EQ(p.text, "HELLO W");
  // "L" continues the committed run: no extra letter, and HELLO ends after the "O" at frame 6.
  EXPECT_DOUBLE_EQ(p.words[0].end_s, 7 * kFrame);

  ExpectSameResult(decoder.Committed(), c);
  EXPECT_EQ(decoder.num_frames(), 5);
  ExpectSameResult(decoder.WithProvisional(torch::empty({0}, torch::kLong)), c);
}

TEST(CtcGreedyDecoderTest, ResetStartsOver) {
  CtcGreedyDecoder decoder(TestVocab(), kFrame);
  decoder.Accept(IdTensor(Ids("A A | B")));
  decoder.Reset();
  EXPECT_EQ(decoder.num_frames(), 0);
  EXPECT_EQ(decoder.Committed().text, "");
  decoder.Accept(IdTensor(Ids("A")));  // must not collapse with the "B"/"A" from before the reset
  const CtcResult r = decoder.Committed();
  EXPECT_EQ(r.text, "A");
  ASSERT_EQ(r.words.size(), 1u);
  EXPECT_DOUBLE_EQ(r.words[0].start_s, 0.0);
  EXPECT_DOUBLE_EQ(r.words[0].end_s, kFrame);
}

TEST(CtcGreedyDecoderTest, CopiesAreIndependent) {
  CtcGreedyDecoder a(TestVocab(), kFrame);
  a.Accept(IdTensor(Ids("A")));
  CtcGreedyDecoder b = a;
  b.Accept(IdTensor(Ids("| B")));
  EXPECT_EQ(a.Committed().text, "A");
  EXPECT_EQ(b.Committed().text, "A B");
}

}  // namespace
}  // namespace lact
