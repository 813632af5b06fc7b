// core/model/model_errors: the one place a model call's exception becomes a status. Out of memory
// is known by its type (or, for LibTorch's CPU allocator, by its text at the boundary) and carried
// as a payload, so no caller has to search messages.
#include "core/model/model_errors.h"

#include <new>
#include <stdexcept>

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

namespace lact {
namespace {

template <typename Raise>
absl::Status StatusOf(Raise raise) {
  try {
    raise();
  } catch (...) {
    return ModelCallStatus(std::current_exception(), "model step failed");
  }
  return absl::OkStatus();
}

TEST(ModelErrorsTest, OutOfMemoryIsClassifiedByTypeAndCarriedAsAPayload) {
  const absl::Status cuda = StatusOf([] {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "CUDA out of memory. Tried to allocate 2.00 GiB");
  });
  EXPECT_TRUE(IsOutOfMemory(cuda)) << cuda;
  EXPECT_EQ(cuda.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(cuda.message().find("model step failed: CUDA out of memory"), std::string::npos)
      << cuda;
  EXPECT_EQ(cuda.message().find('\n'), std::string::npos) << "backtrace lines are cut: " << cuda;

  const absl::Status host = StatusOf([] { throw std::bad_alloc(); });
  EXPECT_TRUE(IsOutOfMemory(host)) << host;
  EXPECT_NE(host.message().find("host allocation failed"), std::string::npos) << host;
}

TEST(ModelErrorsTest, TheCpuAllocatorsPlainErrorIsOutOfMemoryToo) {
  // LibTorch 1.13's DefaultCPUAllocator throws a plain c10::Error with this text.
  const absl::Status cpu = StatusOf([] {
    TORCH_CHECK(
        false,
        "DefaultCPUAllocator: not enough memory: you tried to allocate 1099511627776 bytes.");
  });
  EXPECT_TRUE(IsOutOfMemory(cpu)) << cpu;
  const absl::Status runtime =
      StatusOf([] { throw std::runtime_error("allocator: out of memory"); });
  EXPECT_TRUE(IsOutOfMemory(runtime)) << runtime;
}

TEST(ModelErrorsTest, OtherFailuresAreInternalAndNotOutOfMemory) {
  const absl::Status shape =
      StatusOf([] { TORCH_CHECK(false, "mat1 and mat2 shapes cannot be multiplied"); });
  EXPECT_EQ(shape.code(), absl::StatusCode::kInternal) << shape;
  EXPECT_FALSE(IsOutOfMemory(shape));
  EXPECT_NE(shape.message().find("shapes cannot be multiplied"), std::string::npos);
  const absl::Status unknown = StatusOf([] { throw 42; });
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInternal) << unknown;
  // A status is out of memory by its payload, not by what its message says.
  EXPECT_FALSE(IsOutOfMemory(absl::ResourceExhaustedError("out of memory")));
  EXPECT_TRUE(IsOutOfMemory(OutOfMemoryError("anything")));
}

}  // namespace
}  // namespace lact
