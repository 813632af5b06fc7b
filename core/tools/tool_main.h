// The last guard of a command-line tool's main: an exception that escapes the tool's work (a
// LibTorch error, std::bad_alloc) becomes one line on stderr, "<tool>: internal error: <what>",
// and exit code 1, instead of std::terminate's abort. It also tunes malloc for LibTorch's large
// tensors first (core/util/malloc_tuning.h).
//
//   int main(int argc, char** argv) {
//     return lact::RunToolMain("lact_transcribe", [&] { return Run(argc, argv); });
//   }
#pragma once

#include <exception>
#include <iostream>

#include <c10/util/Exception.h>

#include "core/util/malloc_tuning.h"

namespace lact {

template <typename Run>
int RunToolMain(const char* tool, Run&& run) {
  TuneMallocForTensors();
  try {
    return run();
  } catch (const c10::Error& e) {
    std::cerr << tool << ": internal error: " << e.what_without_backtrace() << "\n";
  } catch (const std::exception& e) {
    std::cerr << tool << ": internal error: " << e.what() << "\n";
  }
  return 1;
}

}  // namespace lact
