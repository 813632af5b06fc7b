#include "core/model/tf32_matmul_scope.h"

#include <ATen/Context.h>

namespace lact {

Tf32MatmulScope::Tf32MatmulScope(bool enable) {
  if (!enable) return;
  previous_ = at::globalContext().allowTF32CuBLAS();
  changed_ = !previous_;
  if (changed_) at::globalContext().setAllowTF32CuBLAS(true);
}

Tf32MatmulScope::~Tf32MatmulScope() {
  if (changed_) at::globalContext().setAllowTF32CuBLAS(previous_);
}

}  // namespace lact
