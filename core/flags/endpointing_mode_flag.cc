#include "core/flags/endpointing_mode_flag.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

// clang-format off
ABSL_FLAG(std::string, endpointing, "", "on|off: cut streams into utterances, a final result "
          "each (lact_server: on by default; off: one final per stream, at its end; "
          "lact_eval_client: unset leaves it to the server). See docs/server.md, \"Endpointing\"");
// clang-format on

namespace lact {

absl::StatusOr<std::optional<bool>> GetEndpointingModeFlag() {
  const std::string mode = absl::AsciiStrToLower(absl::GetFlag(FLAGS_endpointing));
  if (mode.empty()) return std::optional<bool>();
  if (mode == "on" || mode == "true" || mode == "1") return std::optional<bool>(true);
  if (mode == "off" || mode == "false" || mode == "0") return std::optional<bool>(false);
  return absl::InvalidArgumentError(
      absl::StrCat("--endpointing must be on or off, got '", mode, "'"));
}

}  // namespace lact
