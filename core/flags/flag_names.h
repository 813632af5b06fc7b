// Command-line parsing shared by every binary:
// - both spellings of a flag are accepted, `--dump-logits` and `--dump_logits` (abseil flag
//   names cannot contain '-', so dashes in the name part of a `--flag[=value]` argument become
//   underscores before parsing);
// - ParseFlags returns the positional arguments; ParseFlagsOnly is for the tools that take none
//   and rejects a stray argument (a forgotten `--`, a value given twice) instead of ignoring it;
// - both set the program's --help text: `usage`, then every flag of this project (see
//   ShowFlagsOfThisProjectInHelp).
#pragma once

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "core/flags/lact_flag.h"

namespace lact {

inline std::vector<char*> NormalizeFlagNames(int argc, char** argv,
                                             std::vector<std::string>* storage) {
  storage->assign(argv, argv + argc);
  RewriteLactAliases(storage);  // --nolact, a bare --lact (core/flags/lact_flag.h)
  bool after_double_dash = false;
  for (size_t i = 1; i < storage->size(); ++i) {
    std::string& a = (*storage)[i];
    if (a == "--") after_double_dash = true;
    if (after_double_dash || a.size() < 3 || a[0] != '-') continue;
    const size_t start = a[1] == '-' ? 2 : 1;
    const size_t end = a.find('=') == std::string::npos ? a.size() : a.find('=');
    for (size_t j = start; j < end; ++j) {
      if (a[j] == '-') a[j] = '_';
    }
  }
  std::vector<char*> out;
  for (auto& s : *storage) out.push_back(s.data());
  return out;
}

// --help lists the flags of every file of this project, not only of the file whose name matches
// the program (abseil's default): a binary's flags may be defined in a shared flag group or a
// flags file beside its main. abseil's own flags stay under --helpfull.
inline void ShowFlagsOfThisProjectInHelp() {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return !absl::StrContains(file, "absl/") && !absl::StartsWith(file, "absl");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
}

// Parses the flags (abseil exits on an unknown flag, a bad value or --help) and returns the
// positional arguments, argv[0] excluded.
inline std::vector<std::string> ParseFlags(int argc, char** argv, std::string_view usage) {
  absl::SetProgramUsageMessage(absl::string_view(usage.data(), usage.size()));
  ShowFlagsOfThisProjectInHelp();
  std::vector<std::string> storage;
  std::vector<char*> args = NormalizeFlagNames(argc, argv, &storage);
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  return std::vector<std::string>(rest.begin() + 1, rest.end());
}

// ParseFlags for a tool without positional arguments: false (after one line on stderr) when
// there is one; the caller exits with status 2.
inline bool ParseFlagsOnly(int argc, char** argv, std::string_view program,
                           std::string_view usage) {
  const std::vector<std::string> rest = ParseFlags(argc, argv, usage);
  if (rest.empty()) return true;
  std::cerr << program << ": unexpected argument '" << rest[0] << "' (flags only; see --help)\n";
  return false;
}

}  // namespace lact
