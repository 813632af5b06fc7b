// Helpers shared by the streaming recognizer's tests (header only; not a test file itself).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/audio/audio_io.h"
#include "core/streaming/asr_model.h"
#include "core/streaming/streaming_config.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace testing_util {

// The tiny LaCT model (TinyLactModelDir's folder `name`), loaded.
inline std::shared_ptr<const AsrModel> LoadTinyLactModel(const std::string& fixtures,
                                                         const std::string& name) {
  auto m = AsrModel::Load(TinyLactModelDir(fixtures, name));
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : nullptr;
}

// The tiny model's 6 s test input at 16 kHz.
inline std::vector<float> LongTestAudio(const std::string& fixtures) {
  auto a = ReadAudioFile(fixtures + "/tiny_group/expected_long/input.wav", 16000);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : std::vector<float>();
}

// A window small enough for the 6 s input to run many steps: 300 ms step, 400 ms left context,
// 200 ms lookahead.
inline StreamingConfig SmallStreamingWindow() {
  StreamingConfig c;
  c.step_ms = 300;
  c.left_context_ms = 400;
  c.lookahead_ms = 200;
  return c;
}

}  // namespace testing_util
}  // namespace lact
