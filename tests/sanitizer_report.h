// Sanitizer reports in the log of a child process (lact_server under test). Under TSan the
// presets keep going after a report (halt_on_error=0) and a server that a test SIGKILLs never
// reaches the exit code that would flag it, so the tests read its log instead: any report there
// fails the test, exactly as one in the test process itself does.
#pragma once

#include <string>

namespace lact::testing {

// The first sanitizer report in `log` (up to `max_chars` of it), or "" when there is none.
inline std::string SanitizerReport(const std::string& log, size_t max_chars = 6000) {
  size_t at = std::string::npos;
  for (const char* marker : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                             "ERROR: LeakSanitizer", ": runtime error: "}) {
    const size_t found = log.find(marker);
    if (found != std::string::npos && (at == std::string::npos || found < at)) at = found;
  }
  if (at == std::string::npos) return "";
  const size_t line_start = log.rfind('\n', at);
  return log.substr(line_start == std::string::npos ? 0 : line_start + 1, max_chars);
}

}  // namespace lact::testing
