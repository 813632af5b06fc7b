#include "core/lact/muon.h"

namespace lact {

torch::Tensor NewtonSchulz5(const torch::Tensor& g) {
  static constexpr double kCoefficients[5][3] = {{4.0848, -6.8946, 2.9270},
                                                 {3.9505, -6.3029, 2.6377},
                                                 {3.7418, -5.5913, 2.3037},
                                                 {2.8769, -3.1427, 1.2046},
                                                 {2.8366, -3.0525, 1.2012}};
  const bool tall = g.size(-2) > g.size(-1);
  torch::Tensor x = tall ? g.transpose(-1, -2) : g;  // [..., r', c'], r' <= c'
  x = x / (x.square().sum({-2, -1}, /*keepdim=*/true).sqrt() + 1e-7);
  for (const auto& abc : kCoefficients) {
    torch::Tensor gram = torch::matmul(x, x.transpose(-1, -2));               // [..., r', r']
    torch::Tensor poly = abc[1] * gram + abc[2] * torch::matmul(gram, gram);  // [..., r', r']
    x = abc[0] * x + torch::matmul(poly, x);                                  // [..., r', c']
  }
  return tall ? x.transpose(-1, -2).contiguous() : x;
}

}  // namespace lact
