// Tests of core/decoding/ctc_beam_search beyond the closed lexicon: agreement with the independent
// Python reference on open-vocabulary, LM-free and phrase-boosted decoding
// (tests/fixtures/beam_search/expected_open.tsv, made by
// tests/fixtures/make_beam_search_fixtures.py), incremental decoding with a boost, and the
// unknown-word penalty's effect.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "core/decoding/ctc_beam_search.h"
#include "core/decoding/phrase_boost.h"
#include "tests/core/beam_search_fixture.h"

namespace lact {
namespace {

constexpr double kFrame = testing_util::kFixtureFrameSeconds;
using testing_util::FixtureLm;
using testing_util::FixtureLogits;
using testing_util::FixtureVocab;

struct OpenRow {
  std::string file;
  CtcBeamSearchOptions options;
  bool with_lm = true;
  std::vector<BoostPhrase> phrases;
  std::string expected;

  std::shared_ptr<const LanguageModel> lm() const { return with_lm ? FixtureLm() : nullptr; }
  std::shared_ptr<const PhraseBoost> boost() const {
    if (phrases.empty()) return nullptr;
    return PhraseBoost::Build(phrases, FixtureVocab()).value();
  }
};

std::vector<OpenRow> OpenRows() {
  std::vector<OpenRow> rows;
  for (const auto& c : testing_util::FixtureTsv("expected_open.tsv", 8)) {
    OpenRow r;
    r.file = c[0];
    r.options.beam_size = std::stoi(c[1]);
    r.options.lm_weight = std::stod(c[2]);
    r.options.word_score = std::stod(c[3]);
    r.options.unk_penalty = c[4] == "inf" ? INFINITY : std::stod(c[4]);
    r.options.token_threshold = 8.0;
    r.with_lm = c[5] == "1";
    if (c[6] != "-") {
      for (absl::string_view p : absl::StrSplit(c[6], ';')) {
        std::vector<std::string> kv = absl::StrSplit(p, ':');
        r.phrases.push_back({kv[0], std::stod(kv[1])});
      }
    }
    r.expected = c[7];
    rows.push_back(r);
  }
  return rows;
}

std::string Describe(const OpenRow& r) {
  std::string s = r.file + (r.with_lm ? " lm" : " no-lm") +
                  " unk_penalty=" + std::to_string(r.options.unk_penalty) + " boost:";
  for (const BoostPhrase& p : r.phrases) s += " " + p.text + "=" + std::to_string(p.boost);
  return s;
}

TEST(CtcBeamSearchOpenTest, MatchesTheReference) {
  const auto rows = OpenRows();
  ASSERT_EQ(rows.size(), 70u);
  for (const OpenRow& r : rows) {
    CtcResult got = BeamSearchDecode(FixtureLogits(r.file), r.lm(), FixtureVocab(), kFrame,
                                     r.options, r.boost());
    EXPECT_EQ(got.text, r.expected) << Describe(r);
  }
}

// With a boost (and with no LM), accepting the frames in pieces gives the whole's result.
TEST(CtcBeamSearchOpenTest, IncrementalEqualsWhole) {
  std::mt19937 rng(11);
  int checked = 0;
  for (const OpenRow& r : OpenRows()) {
    if (r.phrases.empty() && r.with_lm) continue;
    torch::Tensor logits = FixtureLogits(r.file);
    CtcBeamSearchDecoder d(r.lm(), FixtureVocab(), kFrame, r.options, r.boost());
    for (int64_t at = 0; at < logits.size(0);) {
      const int64_t n = std::min<int64_t>(logits.size(0) - at, 1 + static_cast<int64_t>(rng() % 7));
      d.Accept(logits.narrow(0, at, n));
      at += n;
      d.Stable();
    }
    EXPECT_EQ(d.Final().text, r.expected) << Describe(r);
    d.Reset();
    d.Accept(logits);
    EXPECT_EQ(d.Final().text, r.expected) << Describe(r);
    ++checked;
  }
  EXPECT_EQ(checked, 50);
}

// "KAT" (not in the fixture's lexicon) beats "CAT" acoustically by a wide margin: the closed
// vocabulary outputs CAT, an open one KAT once the penalty is small enough, never a mix.
TEST(CtcBeamSearchOpenTest, UnknownWordPenaltyDecides) {
  const Vocab& v = FixtureVocab();
  const std::vector<std::string> frames = {"K", "A", "T"};
  torch::Tensor logits = torch::full({3, v.size()}, -10.0);
  for (int64_t t = 0; t < 3; ++t) logits[t][v.id(frames[static_cast<size_t>(t)])] = 10.0;
  logits[0][v.id("C")] = 4.0;  // C six nats below K
  CtcBeamSearchOptions o;
  EXPECT_EQ(BeamSearchDecode(logits, FixtureLm(), v, kFrame, o).text, "CAT");
  o.unk_penalty = 100;
  EXPECT_EQ(BeamSearchDecode(logits, FixtureLm(), v, kFrame, o).text, "CAT");
  o.unk_penalty = 0;
  EXPECT_EQ(BeamSearchDecode(logits, FixtureLm(), v, kFrame, o).text, "KAT");
  // Without an LM there is no lexicon: the acoustics decide.
  EXPECT_EQ(BeamSearchDecode(logits, nullptr, v, kFrame, {}).text, "KAT");
  // A boost's word joins the vocabulary of a closed search, and its boost can outweigh the LM.
  auto boost = PhraseBoost::Build({{"kat", 0.0}}, v).value();
  EXPECT_EQ(BeamSearchDecode(logits, FixtureLm(), v, kFrame, {}, boost).text, "KAT");
  auto against = PhraseBoost::Build({{"kat", -20.0}}, v).value();
  EXPECT_EQ(BeamSearchDecode(logits, FixtureLm(), v, kFrame, {}, against).text, "CAT");
  o.unk_penalty = -1;
  EXPECT_EQ(o.Validate().code(), absl::StatusCode::kInvalidArgument);
  o.unk_penalty = NAN;
  EXPECT_EQ(o.Validate().code(), absl::StatusCode::kInvalidArgument);
}

// Confidences stay in [0, 1] and alternatives distinct with a boost and without an LM.
TEST(CtcBeamSearchOpenTest, AlternativesWithBoostAndNoLm) {
  for (const OpenRow& r : OpenRows()) {
    if (r.with_lm || r.file != "case_07.npy") continue;
    CtcBeamSearchDecoder d(nullptr, FixtureVocab(), kFrame, r.options, r.boost());
    d.Accept(FixtureLogits(r.file));
    const auto alts = d.FinalAlternatives(5);
    ASSERT_GE(alts.size(), 2u) << Describe(r);
    EXPECT_EQ(alts[0].text, r.expected);
    for (size_t i = 0; i < alts.size(); ++i) {
      EXPECT_GE(alts[i].confidence, 0.0);
      EXPECT_LE(alts[i].confidence, 1.0);
      if (i) EXPECT_LE(alts[i].confidence, alts[i - 1].confidence);
      for (size_t j = 0; j < i; ++j) EXPECT_NE(alts[i].text, alts[j].text);
    }
  }
}

}  // namespace
}  // namespace lact
