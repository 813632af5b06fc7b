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
#define LACT_FUZZ_CHECK(cond)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

// Ogg page checksum (fuzz inputs that should reach the Opus decoder past the CRC check).
inline uint32_t OggCrc(const unsigned char* p,
                       size_t n) {  // CRC-32, polynomial 0x04c11db7, no reflection
  static const auto* table = [] {
    static uint32_t t[256];
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t r = i << 24;
      for (int k = 0; k < 8; ++k) r = (r & 0x80000000u) ? (r << 1) ^ 0x04c11db7u : (r << 1);
      t[i] = r;
    }
    return t;
  }();
  uint32_t crc = 0;
  for (size_t i = 0; i < n; ++i) crc = (crc << 8) ^ table[((crc >> 24) ^ p[i]) & 0xff];
  return crc;
}

// Rewrites the CRC field of every complete Ogg page found in `s`.
inline void RepairOggCrcs(std::string* s) {
  size_t pos = 0;
  while ((pos = s->find("OggS", pos)) != std::string::npos) {
    auto* p = reinterpret_cast<unsigned char*>(s->data()) + pos;
    const size_t avail = s->size() - pos;
    if (avail < 27 || avail < 27 + size_t{p[26]}) break;
    size_t len = 27 + size_t{p[26]};
    for (size_t i = 0; i < p[26]; ++i) len += p[27 + i];
    if (len > avail) break;
    p[22] = p[23] = p[24] = p[25] = 0;
    const uint32_t crc = OggCrc(p, len);
    for (int i = 0; i < 4; ++i) p[22 + i] = static_cast<unsigned char>(crc >> (8 * i));
    pos += len;
  }
}

}  // namespace lact::fuzz
