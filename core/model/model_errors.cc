#include "core/model/model_errors.h"

#include <new>

#include <c10/util/Exception.h>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lact {
namespace {

bool SaysOutOfMemory(absl::string_view first_line) {
  const std::string lower = absl::AsciiStrToLower(first_line);
  return absl::StrContains(lower, "out of memory") || absl::StrContains(lower, "not enough memory");
}

}  // namespace

std::string FirstLine(absl::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

absl::Status OutOfMemoryError(absl::string_view message) {
  absl::Status status = absl::ResourceExhaustedError(message);
  status.SetPayload(kOutOfMemoryPayload, absl::Cord("1"));
  return status;
}

bool IsOutOfMemory(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         status.GetPayload(kOutOfMemoryPayload).has_value();
}

absl::Status ModelCallStatus(const std::exception_ptr& error, absl::string_view what_failed) {
  try {
    std::rethrow_exception(error);
  } catch (const c10::OutOfMemoryError& e) {
    return OutOfMemoryError(absl::StrCat(what_failed, ": ", FirstLine(e.what_without_backtrace())));
  } catch (const std::bad_alloc& e) {
    return OutOfMemoryError(absl::StrCat(what_failed, ": host allocation failed (", e.what(), ")"));
  } catch (const c10::Error& e) {
    const std::string line = FirstLine(e.what_without_backtrace());
    if (SaysOutOfMemory(line)) return OutOfMemoryError(absl::StrCat(what_failed, ": ", line));
    return absl::InternalError(absl::StrCat(what_failed, ": ", line));
  } catch (const std::exception& e) {
    const std::string line = FirstLine(e.what());
    if (SaysOutOfMemory(line)) return OutOfMemoryError(absl::StrCat(what_failed, ": ", line));
    return absl::InternalError(absl::StrCat(what_failed, ": ", line));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what_failed, " with an unknown exception"));
  }
}

}  // namespace lact
