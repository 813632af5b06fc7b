// Failures of a model call (LibTorch kernels, device and host allocators) as statuses, classified
// once here: running out of memory is ResourceExhausted carrying the kOutOfMemoryPayload payload;
// anything else is Internal. Callers ask IsOutOfMemory(status), never the message text.
#pragma once

#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace lact {

// The payload type URL that marks an out-of-memory status.
inline constexpr absl::string_view kOutOfMemoryPayload = "type.lact.dev/lact.OutOfMemory";

// The status for an exception thrown by a model call; `what_failed` prefixes the message (e.g.
// "model step failed"). Out of memory: c10::OutOfMemoryError (the CUDA allocator),
// std::bad_alloc (the host), or a c10::Error / std::exception whose first line says "out of
// memory" or "not enough memory" (LibTorch 1.13's CPU allocator throws a plain c10::Error with
// the latter: the text is the only sign, so it is read here, at the boundary, and nowhere else).
absl::Status ModelCallStatus(const std::exception_ptr& error, absl::string_view what_failed);

// An out-of-memory status (ResourceExhausted with the payload) with `message`.
absl::Status OutOfMemoryError(absl::string_view message);
bool IsOutOfMemory(const absl::Status& status);

// The first line of an exception's text (LibTorch appends backtraces and hints).
std::string FirstLine(absl::string_view text);

}  // namespace lact
