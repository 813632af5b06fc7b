// Reading the whole file a command-line flag names (certificates, keys, token lists), with
// errors that name the flag and the path.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace lact::server {

// The bytes of `path`. InvalidArgument "<flag> <path>: cannot read it: <errno text>" when it
// cannot be opened, "<flag> <path>: read error" when reading fails.
absl::StatusOr<std::string> ReadFlagFile(const char* flag, const std::string& path);

}  // namespace lact::server
