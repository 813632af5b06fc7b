#include "core/flags/lact_scope_flag.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

// clang-format off
ABSL_FLAG(std::string, lact_scope, "stream", "stream|utterance: LaCT's fast weights adapt over the "
          "whole stream (stream), or start again from the slow weights after each endpoint "
          "(utterance), as RecognitionConfig.lact_scope");
// clang-format on

namespace lact {

absl::StatusOr<LactScope> GetLactScopeFlag() {
  const std::string scope = absl::AsciiStrToLower(absl::GetFlag(FLAGS_lact_scope));
  if (scope == "stream") return LactScope::kStream;
  if (scope == "utterance") return LactScope::kUtterance;
  return absl::InvalidArgumentError(
      absl::StrCat("--lact_scope must be stream or utterance, got '", scope, "'"));
}

}  // namespace lact
