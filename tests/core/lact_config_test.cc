#include "core/lact/lact_config.h"

#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace lact {
namespace {

TEST(LactConfigTest, DefaultsFollowTheSpec) {
  LactConfig c;
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_EQ(c.num_lact_layers, 2);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_lact_heads, 4);
  EXPECT_EQ(c.chunk_size, 512);
  EXPECT_DOUBLE_EQ(c.lr_scale, 0.01);
  EXPECT_TRUE(c.use_momentum);
  EXPECT_FALSE(c.use_muon);
  EXPECT_TRUE(c.weight_norm);
  EXPECT_EQ(c.head_dim(), 192);
  EXPECT_EQ(c.inner_dim(), 192);
  c.inter_multi = 1.5;
  EXPECT_EQ(c.inner_dim(), 288);
  c.hidden_size = 20;  // d = 5, m = round(7.5) = 8
  EXPECT_EQ(c.inner_dim(), 8);
}

TEST(LactConfigTest, ParsesKeysAndIgnoresUnknownOnes) {
  absl::StatusOr<LactConfig> c = LactConfig::FromJsonString(
      R"({"hidden_size": 32, "num_lact_heads": 4, "inter_multi": 1.5, "chunk_size": 16.0,
          "use_muon": true, "momentum": 0, "seed": 7, "some_future_key": [1, 2]})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size, 32);
  EXPECT_EQ(c->head_dim(), 8);
  EXPECT_EQ(c->inner_dim(), 12);
  EXPECT_EQ(c->chunk_size, 16);
  EXPECT_TRUE(c->use_muon);
  EXPECT_DOUBLE_EQ(c->momentum, 0.0);
  EXPECT_EQ(c->seed, 7);
  EXPECT_EQ(c->num_lact_layers, 2);  // default kept
}

TEST(LactConfigTest, AbsentKeysKeepTheGivenDefaults) {
  LactConfig defaults;
  defaults.hidden_size = 1024;
  absl::StatusOr<LactConfig> c = LactConfig::FromJsonString(R"({"chunk_size": 64})", "x", defaults);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size, 1024);
  EXPECT_EQ(c->chunk_size, 64);
}

TEST(LactConfigTest, WrongTypeNamesTheKey) {
  for (const char* text : {R"({"chunk_size": "512"})", R"({"chunk_size": 1.5})",
                           R"({"use_momentum": 1})", R"({"lr_scale": true})"}) {
    absl::StatusOr<LactConfig> c = LactConfig::FromJsonString(text);
    ASSERT_FALSE(c.ok()) << text;
    const std::string key = std::string(text).substr(2, std::string(text).find('"', 2) - 2);
    EXPECT_NE(c.status().message().find("'" + key + "'"), std::string::npos) << c.status();
  }
  EXPECT_FALSE(LactConfig::FromJsonString("[1, 2]").ok());
  EXPECT_FALSE(LactConfig::FromJsonString("{not json").ok());
}

TEST(LactConfigTest, ValidateRejectsBadValues) {
  auto invalid = [](auto mutate) {
    LactConfig c;
    mutate(c);
    return !c.Validate().ok();
  };
  EXPECT_TRUE(invalid([](LactConfig& c) { c.num_lact_heads = 5; }));  // 768 % 5 != 0
  EXPECT_TRUE(invalid([](LactConfig& c) { c.num_lact_layers = 0; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.hidden_size = 0; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.num_lact_heads = 0; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.chunk_size = 0; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.inter_multi = 0; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.inter_multi = 0.001; }));  // m = 0
  EXPECT_TRUE(invalid([](LactConfig& c) { c.momentum = 1.0; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.momentum = -0.1; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.base_lr = 0; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.lr_scale = -1; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.rms_norm_eps = 0; }));
  EXPECT_TRUE(invalid([](LactConfig& c) { c.layer_norm_eps = -1; }));
  EXPECT_FALSE(invalid([](LactConfig& c) { c.momentum = 0; }));
  absl::StatusOr<LactConfig> c = LactConfig::FromJsonString(R"({"num_lact_heads": 5})");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("divisible"), std::string::npos) << c.status();
}

TEST(LactConfigTest, JsonRoundTripAndFile) {
  LactConfig c;
  c.hidden_size = 32;
  c.use_muon = true;
  c.inter_multi = 1.5;
  c.lr_scale = 0.125;
  c.seed = 42;
  const std::string path = ::testing::TempDir() + "/lact_config_test.json";
  {
    std::ofstream out(path);
    out << c.ToJson();
  }
  absl::StatusOr<LactConfig> back = LactConfig::FromJsonFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToString(), c.ToString());
  EXPECT_NE(c.ToString().find("inner_dim=12"), std::string::npos) << c.ToString();
  EXPECT_EQ(LactConfig::FromJsonFile(path + ".missing").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lact
