// Small helpers for absl::Status plumbing used across core/.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LACT_STATUS_CONCAT_INNER(a, b) a##b
#define LACT_STATUS_CONCAT(a, b) LACT_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define LACT_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status lact_status_ = (expr);        \
    if (!lact_status_.ok()) return lact_status_; \
  } while (0)

// `LACT_ASSIGN_OR_RETURN(auto x, MakeX());` assigns the value of an absl::StatusOr or returns
// its error from the enclosing function.
#define LACT_ASSIGN_OR_RETURN(lhs, expr) \
  LACT_ASSIGN_OR_RETURN_IMPL(LACT_STATUS_CONCAT(lact_statusor_, __LINE__), lhs, expr)
#define LACT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
