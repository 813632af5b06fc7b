#include "core/flags/alternatives_flag.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

// clang-format off
ABSL_FLAG(int32_t, max_alternatives, 1, "Transcripts per final, best first (1..10; LM beam search "
          "only): lact_transcribe lists the others under each segment's \"alternatives\" in "
          "--format json; lact_eval_client asks the server for them and reports the oracle WER");
// clang-format on

namespace lact {

absl::StatusOr<int> GetMaxAlternativesFlag() {
  const int n = absl::GetFlag(FLAGS_max_alternatives);
  if (n < 1 || n > 10) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_alternatives must be in [1, 10], got ", n));
  }
  return n;
}

}  // namespace lact
