// The folder the state-cache tests work in (header only; not a test file itself): a copy of the
// tiny_group model under DIR/model, and two audio files, DIR/a.wav (the fixture's long input) and
// DIR/b.wav (its first half), that an example joins in order.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/audio/audio_io.h"

namespace lact::train::testing_util {

inline void MakeStateCacheTestFolder(const std::filesystem::path& dir,
                                     const std::string& fixtures) {
  namespace fs = std::filesystem;
  fs::remove_all(dir);
  fs::create_directories(dir / "model");
  for (const char* f :
       {"config.json", "model.safetensors", "vocab.json", "preprocessor_config.json"}) {
    fs::copy_file(fixtures + "/tiny_group/" + f, dir / "model" / f);
  }
  auto audio = ReadAudioFile(fixtures + "/tiny_group/expected_long/input.wav", 16000);
  ASSERT_TRUE(audio.ok()) << audio.status();
  ASSERT_TRUE(WriteWav16((dir / "a.wav").string(), *audio, 16000).ok());
  ASSERT_TRUE(WriteWav16((dir / "b.wav").string(),
                         std::vector<float>(audio->begin(), audio->begin() + audio->size() / 2),
                         16000)
                  .ok());
}

}  // namespace lact::train::testing_util
