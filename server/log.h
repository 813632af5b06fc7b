// One-line log messages on stderr with a UTC timestamp ("2025-01-31T12:00:00.123Z lact_server:
// ..."). Lines from different threads never interleave (one fwrite per line).
#pragma once

#include <string>

#include "absl/strings/str_cat.h"

namespace lact::server {

void LogLine(const std::string& message);

template <typename... Args>
void Log(const Args&... args) {
  LogLine(absl::StrCat(args...));
}

}  // namespace lact::server
