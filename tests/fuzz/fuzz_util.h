// Helpers shared by the fuzz targets (tests/fuzz/*.cc).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace lact::fuzz {

// One file per process, rewritten for every input: for the readers that take a path
// (libsndfile, Wav2Vec2Config::FromJsonFile). Lives in $TMPDIR; removed at exit.
class ScratchFile {
 public:
  explicit ScratchFile(const char* suffix) {
    path_ = (std::filesystem::temp_directory_path() /
             ("lact_fuzz_" + std::to_string(::getpid()) + suffix))
                .string();
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  const std::string& Write(const uint8_t* data, size_t size) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", path_.c_str());
      std::abort();
    }
    return path_;
  }

 private:
  std::string path_;
};

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// A property of the code under test does not hold: report it as a crash (libFuzzer saves the
// input as crash-<sha1>).
#define LACT_FUZZ_CHECK(cond)                                                   \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

}  // namespace lact::fuzz
