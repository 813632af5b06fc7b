// LactStack against a literal, unbatched float64 transcription of LACT_SPEC.md written here
// (per head, per frame, sums over the chunk's frames as loops). Independent of
// core/lact/fast_weight.cc and core/lact/muon.cc; the Python float64 reference is compared in
// lact_reference_test.cc.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "core/lact/lact_stack.h"
#include "tests/core/lact_test_util.h"

namespace lact {
namespace {

using torch::Tensor;

Tensor Silu(const Tensor& z) { return z * torch::sigmoid(z); }

Tensor SpecNS(Tensor x) {  // [r, c]
  const double abc[5][3] = {{4.0848, -6.8946, 2.9270},
                            {3.9505, -6.3029, 2.6377},
                            {3.7418, -5.5913, 2.3037},
                            {2.8769, -3.1427, 1.2046},
                            {2.8366, -3.0525, 1.2012}};
  const bool tall = x.size(0) > x.size(1);
  if (tall) x = x.t();
  x = x / (x.norm() + 1e-7);
  for (const auto& c : abc) {
    Tensor a = x.mm(x.t());
    x = c[0] * x + (c[1] * a + c[2] * a.mm(a)).mm(x);
  }
  return tall ? x.t() : x;
}

// x [T, D] -> [T, D], float64.
Tensor NaiveLact(const LactConfig& c, const TensorMap& p, Tensor x) {
  x = x.to(torch::kDouble);
  const int64_t T = x.size(0), D = c.hidden_size, H = c.num_lact_heads, d = c.head_dim();
  const int64_t C = c.chunk_size;
  for (int64_t l = 0; l < c.num_lact_layers; ++l) {
    auto P = [&](const char* name) {
      return p.at("layers." + std::to_string(l) + "." + name).to(torch::kDouble);
    };
    Tensor mean = x.mean(-1, true);
    Tensor var = (x - mean).square().mean(-1, true);
    Tensor xh =
        (x - mean) / torch::sqrt(var + c.layer_norm_eps) * P("norm.weight") + P("norm.bias");
    Tensor qkv = Silu(xh.mm(P("qkv.weight").t()));  // [T, 3D]
    Tensor lr =
        c.lr_scale * torch::log1p(torch::exp(xh.mm(P("lr_proj.weight").t()) + P("lr_proj.bias")));
    Tensor beta;
    if (c.use_momentum)
      beta = torch::sigmoid(xh.mm(P("momentum_proj.weight").t()) + P("momentum_proj.bias"));
    Tensor o = torch::zeros({T, D}, torch::kDouble);
    for (int64_t h = 0; h < H; ++h) {
      auto head = [&](int64_t part, int64_t t) {
        Tensor u = qkv[t].narrow(0, part * D + h * d, d);
        return part == 2 ? u : u / (u.norm() + 1e-5);
      };
      Tensor W[3] = {P("w0")[h].clone(), P("w1")[h].clone(), P("w2")[h].clone()};
      Tensor M[3], r[3];
      for (int j = 0; j < 3; ++j) {
        M[j] = torch::zeros_like(W[j]);
        r[j] = W[j].norm(2, {1});
      }
      for (int64_t t = 0; t < T; ++t) {
        Tensor q = head(0, t);
        Tensor a = Silu(W[0].mv(q)) * W[2].mv(q);
        Tensor oh = W[1].mv(a);
        oh = oh / std::sqrt(oh.square().mean().item<double>() + c.rms_norm_eps) *
             P("out_norm.weight");
        o[t].narrow(0, h * d, d).copy_(oh);
        if ((t + 1) % C != 0) continue;
        // Update with frames [t + 1 - C, t].
        Tensor dW[3] = {torch::zeros_like(W[0]), torch::zeros_like(W[1]), torch::zeros_like(W[2])};
        double bsum = 0;
        for (int64_t i = t + 1 - C; i <= t; ++i) {
          Tensor k = head(1, i), v = head(2, i);
          const double lr0 = lr[i][h].item<double>(), lr1 = lr[i][H + h].item<double>(),
                       lr2 = lr[i][2 * H + h].item<double>();
          Tensor g = W[0].mv(k), hd = W[2].mv(k), s = torch::sigmoid(g);
          Tensor ai = g * s * hd;
          dW[1] += lr1 * torch::outer(v, ai);
          Tensor da = W[1].t().mv(v);
          Tensor dhd = da * g * s;
          Tensor dg = da * hd * s * (1 + g * (1 - s));
          dW[0] += lr0 * torch::outer(dg, k);
          dW[2] += lr2 * torch::outer(dhd, k);
          if (c.use_momentum) bsum += beta[i][h].item<double>();
        }
        for (int j = 0; j < 3; ++j) {
          if (c.use_momentum) {
            M[j] = dW[j] + (bsum / C) * M[j];
            dW[j] = M[j];
          }
          if (c.use_muon) dW[j] = SpecNS(dW[j]);
          W[j] = W[j] + dW[j];
          if (c.weight_norm) W[j] = W[j] / (W[j].norm(2, {1}, true) + 1e-5) * r[j].unsqueeze(1);
        }
      }
    }
    x = x + o.mm(P("o_proj.weight").t());
  }
  return x;
}

TEST(LactSpecTest, StackMatchesLiteralFloat64Spec) {
  struct V {
    bool momentum, muon, weight_norm;
    double inter_multi;
  };
  for (V v : {V{true, false, true, 1.5}, V{true, true, false, 1.5}, V{true, true, true, 0.75},
              V{false, false, false, 1.0}, V{false, true, true, 1.0}}) {
    LactConfig c = testing_util::SmallConfig(v.momentum, v.muon, v.weight_norm);
    c.inter_multi = v.inter_multi;
    const TensorMap p = testing_util::RandomTensors(c, 21);
    LactStack stack = LactStack::FromTensors(c, p).value();
    torch::manual_seed(22);
    torch::Tensor x = torch::randn({75, 32});  // 4 updates + a partial chunk of 11
    torch::Tensor ref = NaiveLact(c, p, x);
    torch::Tensor got = stack.ForwardSequence(x).value();
    const double err = testing_util::MaxRelDiff(got, ref);
    EXPECT_LT(err, 1e-4) << c.ToString();
    // and the adapter's contribution itself (y - x) agrees, not only y
    EXPECT_LT(testing_util::MaxRelDiff(got - x, ref - x.to(torch::kDouble)), 1e-4) << c.ToString();
  }
}

}  // namespace
}  // namespace lact
