// absl::Status -> grpc::Status, the one place the two meet (only server/ knows gRPC). The numeric
// codes are the same (both follow google.rpc.Code).
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace lact::server {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace lact::server
