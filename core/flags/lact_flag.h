// --lact: one flag, one vocabulary in every binary that takes it (docs/server.md, "Flags"):
//   auto   LaCT where the model folder has LaCT files (the server's and lact_transcribe's default)
//   on     LaCT on (lact_transcribe: the untrained identity stack when the folder has none)
//   off    LaCT off
//   both   tools that compare (lact_bench, lact_eval_client): without LaCT, then with it
// Accepted aliases, so that no deployment or script breaks: true/false/1/0/yes/no (lact_server's
// old boolean --lact, FLAGS_lact=true in the images), --nolact (= off), a bare --lact (= on), and
// `server` (lact_eval_client's old name for auto: leave enable_lact unset).
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace lact {

enum class LactMode { kUnset, kAuto, kOn, kOff, kBoth };

// The flag's type (abseil parses it with the functions below). Parsing keeps any text, so that a
// bad value is reported by GetLactFlag like every other bad setting (one line, exit code 2)
// rather than by abseil (exit code 1).
struct LactModeFlag {
  LactMode mode = LactMode::kUnset;
  std::string text;  // as given ("" when not given)
};
bool AbslParseFlag(absl::string_view text, LactModeFlag* flag, std::string* error);
std::string AbslUnparseFlag(const LactModeFlag& flag);

std::string LactModeName(LactMode mode);  // "auto", "on", "off", "both" ("" for kUnset)

// The vocabulary with its aliases (case-insensitive); false for anything else.
inline bool ParseLactMode(absl::string_view text, LactMode* mode) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "auto" || t == "server")
    *mode = LactMode::kAuto;
  else if (t == "on" || t == "true" || t == "1" || t == "yes")
    *mode = LactMode::kOn;
  else if (t == "off" || t == "false" || t == "0" || t == "no")
    *mode = LactMode::kOff;
  else if (t == "both")
    *mode = LactMode::kBoth;
  else
    return false;
  return true;
}

// The --lact value, or `tool_default` when it was not given. InvalidArgument naming the accepted
// values when the value is not one this tool takes (e.g. both in lact_server).
absl::StatusOr<LactMode> GetLactFlag(LactMode tool_default,
                                     std::initializer_list<LactMode> accepted);

// argv rewriting for the aliases abseil cannot parse itself (a non-boolean flag has no --noNAME
// and needs a value): --nolact -> --lact=off, and a bare --lact (last, or followed by another
// flag) -> --lact=on; `--lact WORD` stays abseil's (WORD is the value, checked as one).
// Header-only, so that NormalizeFlagNames (core/flags/flag_names.h) can call it in binaries that do
// not take --lact (for them abseil then reports the flag).
inline void RewriteLactAliases(std::vector<std::string>* args) {
  for (size_t i = 1; i < args->size(); ++i) {
    std::string& a = (*args)[i];
    if (a == "--") return;
    if (a == "--nolact" || a == "-nolact") {
      a = "--lact=off";
    } else if ((a == "--lact" || a == "-lact") &&
               (i + 1 == args->size() || (*args)[i + 1].rfind('-', 0) == 0)) {
      a = "--lact=on";  // last, or followed by another flag: the old boolean's bare form
    }
  }
}

}  // namespace lact

ABSL_DECLARE_FLAG(lact::LactModeFlag, lact);
