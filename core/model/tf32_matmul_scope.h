// Lets float32 matrix products on CUDA run in TF32 (tensor cores: float32 range, a 10-bit
// mantissa, float32 accumulation) while the scope lives, then restores LibTorch's setting.
// LibTorch keeps the setting per process (at::Context::allowTF32CuBLAS) and reads it when a
// product is dispatched, so the scope covers the products dispatched on this thread meanwhile,
// and those of any other thread that dispatches CUDA float32 products at the same time: use it
// where one thread owns the device's float32 products (the recognizer's model thread). No effect
// on the CPU's products.
#pragma once

namespace lact {

class Tf32MatmulScope {
 public:
  explicit Tf32MatmulScope(bool enable);  // enable = false: leaves the setting alone
  ~Tf32MatmulScope();
  Tf32MatmulScope(const Tf32MatmulScope&) = delete;
  Tf32MatmulScope& operator=(const Tf32MatmulScope&) = delete;

 private:
  bool changed_ = false;
  bool previous_ = false;
};

}  // namespace lact
