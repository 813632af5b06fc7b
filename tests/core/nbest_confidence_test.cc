// N-best and confidence in the CTC decoders (issue 21): the beam search's alternatives are
// distinct, ranked, led by Final(), with posteriors that sum to at most 1 and follow the LM when
// the acoustics tie; word confidences lie between their alternative's posterior and 1; greedy
// decoding's word confidence is the mean posterior of the chosen tokens over the word's frames,
// the same whatever pieces the frames arrive in.
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "core/decoding/ctc_beam_search.h"
#include "core/decoding/ctc_decoder.h"
#include "core/model/npy.h"
#include "tests/core/beam_search_fixture.h"

namespace lact {
namespace {

constexpr double kFrame = 0.02;
const std::string kDir = testing_util::BeamSearchFixtureDir();
using testing_util::FixtureLm;
using testing_util::FixtureVocab;

// Logits [T, V] with `hot` tokens at 10 on each frame and everything else at -10.
torch::Tensor Frames(const std::vector<std::vector<std::string>>& hot) {
  const Vocab& v = FixtureVocab();
  torch::Tensor logits = torch::full({static_cast<int64_t>(hot.size()), v.size()}, -10.0);
  for (size_t t = 0; t < hot.size(); ++t) {
    for (const std::string& token : hot[t]) logits[static_cast<int64_t>(t)][v.id(token)] = 10.0;
  }
  return logits;
}

TEST(NbestTest, AlternativesAreDistinctRankedAndLedByFinal) {
  CtcBeamSearchOptions o;
  o.beam_size = 16;
  o.lm_weight = 0.6;
  o.word_score = 1.0;
  int with_several = 0;
  for (int i = 0; i < 10; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "/case_%02d.npy", i);
    const torch::Tensor logits = ReadNpy(kDir + name).value();
    CtcBeamSearchDecoder d(FixtureLm(), FixtureVocab(), kFrame, o);
    d.Accept(logits);
    const CtcResult best = d.Final();
    const std::vector<CtcResult> alts = d.FinalAlternatives(5);
    ASSERT_GE(alts.size(), 1u);
    ASSERT_LE(alts.size(), 5u);
    with_several += alts.size() > 1;
    EXPECT_EQ(alts[0].text, best.text) << name;
    ASSERT_EQ(alts[0].words.size(), best.words.size());
    for (size_t w = 0; w < best.words.size(); ++w) {
      EXPECT_EQ(alts[0].words[w].start_s, best.words[w].start_s);
      EXPECT_EQ(alts[0].words[w].end_s, best.words[w].end_s);
    }
    std::set<std::string> texts;
    double sum = 0;
    for (size_t k = 0; k < alts.size(); ++k) {
      texts.insert(alts[k].text);
      EXPECT_TRUE(alts[k].confidence >= 0 && alts[k].confidence <= 1) << alts[k].confidence;
      if (k > 0) EXPECT_LE(alts[k].confidence, alts[k - 1].confidence) << name << " " << k;
      sum += alts[k].confidence;
      for (const WordInfo& w : alts[k].words) {
        EXPECT_GE(w.confidence, alts[k].confidence - 1e-12) << w.word;
        EXPECT_LE(w.confidence, 1.0) << w.word;
      }
    }
    EXPECT_EQ(texts.size(), alts.size()) << name << ": distinct";
    EXPECT_LE(sum, 1.0 + 1e-9);
    EXPECT_EQ(d.FinalAlternatives(1).size(), 1u);
    EXPECT_LE(d.FinalAlternatives(1000).size(), 16u) << "at most the beam";
    EXPECT_EQ(d.FinalAlternatives(1000)[0].text, best.text);
  }
  EXPECT_GE(with_several, 5) << "the fixtures' beams hold other transcripts";
}

// The first frame is C or M with equal acoustic scores: CAT and MAT are the only transcripts,
// and their posteriors' ratio is the LM's (alpha * ln P(word | <s>) + alpha * ln P(</s> | word)).
TEST(NbestTest, PosteriorsFollowTheLanguageModelWhenTheAcousticsTie) {
  CtcBeamSearchOptions o;
  o.lm_weight = 0.7;
  o.word_score = 0.5;
  CtcBeamSearchDecoder d(FixtureLm(), FixtureVocab(), kFrame, o);
  d.Accept(Frames({{"C", "M"}, {"A"}, {"T"}}));
  const std::vector<CtcResult> alts = d.FinalAlternatives(10);
  ASSERT_EQ(alts.size(), 2u);
  const NgramLm& lm = FixtureLm()->lm();
  auto lm_score = [&](const std::string& word) {
    const int32_t bos = lm.bos_id(), id = lm.WordId(word);
    const int32_t hist[2] = {bos, id};
    return o.lm_weight * (lm.Score(&bos, 1, id) + lm.Score(hist, 2, lm.eos_id()));
  };
  const double expected = lm_score(alts[0].text) - lm_score(alts[1].text);
  EXPECT_GT(expected, 0) << "ranked by the LM";
  EXPECT_NEAR(std::log(alts[0].confidence / alts[1].confidence), expected, 1e-6);
  EXPECT_NEAR(alts[0].confidence + alts[1].confidence, 1.0, 1e-9);
  std::set<std::string> texts = {alts[0].text, alts[1].text};
  EXPECT_EQ(texts, (std::set<std::string>{"CAT", "MAT"}));
  // Each word is in one transcript only: its confidence is that transcript's.
  EXPECT_NEAR(alts[0].words[0].confidence, alts[0].confidence, 1e-12);
  // Sure frames: one transcript, certain.
  CtcBeamSearchDecoder sure(FixtureLm(), FixtureVocab(), kFrame, o);
  sure.Accept(Frames({{"C"}, {"A"}, {"T"}, {"|"}, {"S"}, {"A"}, {"T"}}));
  const CtcResult r = sure.Final();
  EXPECT_EQ(r.text, "CAT SAT");
  EXPECT_NEAR(r.confidence, 1.0, 1e-6);
  for (const WordInfo& w : r.words) EXPECT_NEAR(w.confidence, 1.0, 1e-6);
}

// A beam whose totals are all -inf (here: a frame whose log-probabilities are all -inf) keeps the
// reference's fallback transcript and reports confidence 0, never NaN.
TEST(NbestTest, NoFiniteTotalGivesTheFallbackWithConfidenceZero) {
  CtcBeamSearchOptions o;
  CtcBeamSearchDecoder d(FixtureLm(), FixtureVocab(), kFrame, o);
  torch::Tensor lp =
      Frames({{"C"}, {"A"}, {"T"}, {"|"}, {"S"}}).to(torch::kDouble).log_softmax(-1).contiguous();
  lp[4].fill_(-std::numeric_limits<double>::infinity());
  d.AcceptLogProbs(lp.data_ptr<double>(), lp.size(0), lp.size(1));
  const std::vector<CtcResult> alts = d.FinalAlternatives(3);
  ASSERT_EQ(alts.size(), 1u);
  EXPECT_EQ(alts[0].text, d.Final().text);
  EXPECT_EQ(alts[0].confidence, 0.0);
  for (const WordInfo& w : alts[0].words) EXPECT_EQ(w.confidence, 0.0) << w.word;
}

// Greedy: frames of known posteriors; the word's confidence is their mean over its span.
TEST(NbestTest, GreedyWordConfidenceIsTheMeanPosteriorOverTheWordsFrames) {
  const Vocab& v = FixtureVocab();
  const std::vector<std::string> best = {"C", "A", "<pad>", "T", "|", "S", "A", "T", "<pad>"};
  const std::vector<double> margin = {4.0, 1.0, 3.0, 0.5, 6.0, 2.0, 0.2, 5.0, 1.0};
  const int64_t T = static_cast<int64_t>(best.size());
  torch::Tensor logits = torch::zeros({T, v.size()}, torch::kDouble);
  for (int64_t t = 0; t < T; ++t) logits[t][v.id(best[static_cast<size_t>(t)])] = margin[t];
  // The posterior of each frame's best token, computed here from its definition.
  std::vector<double> p(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    const double e = std::exp(margin[t]);
    p[static_cast<size_t>(t)] = e / (e + static_cast<double>(v.size() - 1));
  }
  const CtcResult r = GreedyDecode(logits, v, kFrame);
  ASSERT_EQ(r.text, "CAT SAT");
  EXPECT_NEAR(r.words[0].confidence, (p[0] + p[1] + p[2] + p[3]) / 4, 1e-9);  // frames 0-3
  EXPECT_NEAR(r.words[1].confidence, (p[5] + p[6] + p[7]) / 3, 1e-9);         // frames 5-7
  EXPECT_NEAR(r.confidence, (r.words[0].confidence + r.words[1].confidence) / 2, 1e-12);
  // Any split of the frames gives the same confidences; ids alone count as certain.
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    CtcGreedyDecoder d(v, kFrame);
    for (int64_t at = 0; at < T;) {
      const int64_t n = std::min<int64_t>(T - at, 1 + static_cast<int64_t>(rng() % 4));
      d.Accept(CtcArgmax(logits.narrow(0, at, n)), logits.narrow(0, at, n));
      at += n;
    }
    const CtcResult s = d.Committed();
    ASSERT_EQ(s.words.size(), 2u);
    for (size_t w = 0; w < 2; ++w) EXPECT_NEAR(s.words[w].confidence, r.words[w].confidence, 1e-12);
  }
  const CtcResult ids_only = GreedyDecodeIds(CtcArgmax(logits), v, kFrame);
  for (const WordInfo& w : ids_only.words) EXPECT_EQ(w.confidence, 1.0);
  EXPECT_THROW(CtcGreedyDecoder(v, kFrame).Accept(CtcArgmax(logits), logits.narrow(0, 0, 3)),
               c10::Error);
}

}  // namespace
}  // namespace lact
