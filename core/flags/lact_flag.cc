#include "core/flags/lact_flag.h"

#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(lact::LactModeFlag, lact, lact::LactModeFlag{},
          "LaCT: auto (where the model folder has LaCT files) | on | off | both (tools that compare: "
          "without LaCT, then with it). Default: auto in lact_server and lact_transcribe, both in "
          "lact_bench and lact_eval_client. Aliases: true/false, --nolact, server (= auto)");
// clang-format on

namespace lact {

bool AbslParseFlag(absl::string_view text, LactModeFlag* flag, std::string* error) {
  flag->text = std::string(text);
  flag->mode = LactMode::kUnset;  // "" (the tool's default), or a bad value GetLactFlag reports
  if (!text.empty()) ParseLactMode(text, &flag->mode);
  return true;
}

std::string AbslUnparseFlag(const LactModeFlag& flag) { return flag.text; }

std::string LactModeName(LactMode mode) {
  switch (mode) {
    case LactMode::kAuto: return "auto";
    case LactMode::kOn: return "on";
    case LactMode::kOff: return "off";
    case LactMode::kBoth: return "both";
    case LactMode::kUnset: break;
  }
  return "";
}

absl::StatusOr<LactMode> GetLactFlag(LactMode tool_default,
                                     std::initializer_list<LactMode> accepted) {
  const LactModeFlag flag = absl::GetFlag(FLAGS_lact);
  if (!flag.text.empty() && flag.mode == LactMode::kUnset) {
    return absl::InvalidArgumentError(
        absl::StrCat("--lact must be auto, on, off or both, got '", flag.text, "'"));
  }
  const LactMode value = flag.mode == LactMode::kUnset ? tool_default : flag.mode;
  for (LactMode a : accepted) {
    if (a == value) return value;
  }
  std::vector<std::string> names;
  for (LactMode a : accepted) names.push_back(LactModeName(a));
  return absl::InvalidArgumentError(absl::StrCat("--lact must be ", absl::StrJoin(names, ", "),
                                                 " here, got '", LactModeName(value), "'"));
}

}  // namespace lact
