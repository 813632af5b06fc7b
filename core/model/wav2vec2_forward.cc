#include "core/model/wav2vec2_forward.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/model/attention.h"
#include "core/model/dense_linear.h"

namespace lact {
namespace {

namespace F = torch::nn::functional;
using Weights = Wav2Vec2Weights;

// Dropout, or nothing at inference.
torch::Tensor Drop(const torch::Tensor& x, const Wav2Vec2ForwardOptions& o) {
  if (!o.training || o.dropout <= 0) return x;
  return F::dropout(x, F::DropoutFuncOptions().p(o.dropout).training(true));
}

// x [..., in] -> [..., out], in int8 where the layer was packed (core/model/quantized_linear.h).
torch::Tensor Linear(const torch::Tensor& x, const Weights::Linear& l) {
  return l.int8 ? l.int8->Apply(x) : DenseLinear(x, l.weight, l.bias);
}

torch::Tensor LayerNorm(const torch::Tensor& x, const Weights::Norm& n, double eps) {
  return torch::layer_norm(x, {x.size(-1)}, n.weight, n.bias, eps);
}

// x [B, T, D] -> [B, T, D]; key_valid [B, T] bool (false: a padded frame), or undefined.
torch::Tensor Attention(const Wav2Vec2Config& c, const Weights::EncoderLayer& e,
                        const torch::Tensor& x, const torch::Tensor& key_valid,
                        const Wav2Vec2ForwardOptions& o) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  const int64_t H = c.num_attention_heads, hd = D / H;
  auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, hd}).transpose(1, 2); };
  torch::Tensor ctx = Attend(heads(Linear(x, e.q)), heads(Linear(x, e.k)), heads(Linear(x, e.v)),
                             key_valid, o.training ? o.dropout : 0.0);  // [B, H, T, hd]
  return Drop(Linear(ctx.transpose(1, 2).reshape({B, T, D}), e.out), o);
}

// x [B, T, D] -> [B, T, D]
torch::Tensor FeedForward(const Wav2Vec2Config& c, const Weights::EncoderLayer& e,
                          const torch::Tensor& x, const Wav2Vec2ForwardOptions& o) {
  torch::Tensor h = Wav2Vec2Activation(Linear(x, e.ff_in),
                                       c.hidden_act);  // [B, T, I]
  return Drop(Linear(Drop(h, o), e.ff_out), o);
}

// The first conv layer and its GroupNorm (one group per channel, over time: "group" models) as
// one conv with per-row weights, for reduced precisions: x [B, 1, S] -> [B, C, T], normalised.
// Over the row's patches p_t [K] (mean mu, biased covariance Sigma), channel c's output
// w_c.p_t + b_c has mean w_c.mu + b_c and variance w_c' Sigma w_c, so the normalised output is
// w_c.(p_t - mu) * s_c + beta_c with s_c = gamma_c / sqrt(var_c + eps): exact algebra, with the
// statistics in float32 from a K x K covariance instead of a pass over C x T values in bf16.
// `valid` [B] (CPU int64, or undefined: all): each row's statistics over its first valid patches.
torch::Tensor FirstConvGroupNormed(const Weights::ConvLayer& layer, const torch::Tensor& x,
                                   int64_t stride, const torch::Tensor& valid) {
  const int64_t C = layer.weight.size(0), K = layer.weight.size(2);
  const torch::Tensor w = layer.weight.to(torch::kFloat32).view({C, K});  // [C, K]
  const torch::Tensor gamma = layer.norm.weight.to(torch::kFloat32);      // [C]
  const torch::Tensor beta = layer.norm.bias.to(torch::kFloat32);         // [C]
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < x.size(0); ++b) {
    torch::Tensor p = x[b][0].to(torch::kFloat32).unfold(0, K, stride);  // [T, K]
    if (valid.defined()) p = p.narrow(0, 0, std::min(p.size(0), valid[b].item<int64_t>()));
    const torch::Tensor mu = p.mean(0);                                         // [K]
    const torch::Tensor pc = p - mu;                                            // [T, K]
    const torch::Tensor cov = pc.t().mm(pc) / std::max<int64_t>(p.size(0), 1);  // [K, K]
    const torch::Tensor var = (w.mm(cov) * w).sum(1);                           // [C]
    const torch::Tensor scale = gamma / torch::sqrt(var + 1e-5);                // [C]
    const torch::Tensor wf = (w * scale.unsqueeze(1)).view({C, 1, K});          // [C, 1, K]
    const torch::Tensor bf = beta - w.mv(mu) * scale;                           // [C]
    rows.push_back(torch::conv1d(x.narrow(0, b, 1), wf.to(x.scalar_type()), bf.to(x.scalar_type()),
                                 stride));  // [1, C, T]
  }
  return torch::cat(rows, 0);
}

// GroupNorm with one group per channel (normalises each channel over time), x [B, C, T]. With
// `valid` [B] (CPU int64): a row shorter than T is normalised over its first valid frames alone,
// the same op as for that row by itself (its padded frames are left unnormalised).
torch::Tensor ChannelNorm(const torch::Tensor& x, const Weights::Norm& n,
                          const torch::Tensor& valid) {
  torch::Tensor y = torch::group_norm(x, x.size(1), n.weight, n.bias, 1e-5);
  if (!valid.defined()) return y;
  for (int64_t b = 0; b < x.size(0); ++b) {
    const int64_t t = std::min(x.size(2), valid[b].item<int64_t>());
    if (t == x.size(2)) continue;  // full rows: the batched op
    y[b].narrow(1, 0, t).copy_(
        torch::group_norm(x.narrow(0, b, 1).narrow(2, 0, t), x.size(1), n.weight, n.bias, 1e-5)[0]);
  }
  return y;
}

// Valid output frames [B] of a conv layer (kernel, stride) over `frames` valid input frames.
torch::Tensor ConvFrames(const torch::Tensor& frames, int64_t kernel, int64_t stride) {
  return torch::clamp_min(torch::div(frames - kernel, stride, "floor") + 1, 0);
}

// waveform [B, S] -> features [B, C, T]; frames [B] (if defined) follows each row's valid length.
torch::Tensor ConvFeatures(const Wav2Vec2Config& c, const Weights& w, const torch::Tensor& waveform,
                           torch::Tensor* frames, bool exact_padding) {
  const bool layer_mode = c.feat_extract_norm == "layer";
  torch::Tensor x = waveform.unsqueeze(1);  // [B, 1, S]
  for (size_t i = 0; i < w.conv_layers.size(); ++i) {
    const Weights::ConvLayer& layer = w.conv_layers[i];
    // Exact padding: the first layer's valid frames per row, on the host (CPU int64 [B]).
    torch::Tensor valid;
    if (i == 0 && !layer_mode && exact_padding && frames->defined()) {
      valid = ConvFrames(frames->cpu(), c.conv_kernel[i], c.conv_stride[i]);
    }
    // Reduced precision on the CPU: the first layer's GroupNorm folded into it (exact, and its
    // statistics in float32); float32 keeps the reference's ops one for one.
    const bool fold = i == 0 && !layer_mode && x.device().is_cpu() &&
                      x.scalar_type() != torch::kFloat32 && !x.requires_grad();
    if (fold) {
      x = FirstConvGroupNormed(layer, x, c.conv_stride[i], valid);  // [B, C_0, T_0], normalised
    } else {
      x = torch::conv1d(x, layer.weight, layer.bias, c.conv_stride[i]);  // [B, C_i, T_i]
    }
    if (layer_mode) {
      // LayerNorm over channels (nn.LayerNorm default eps 1e-5).
      x = torch::layer_norm(x.transpose(1, 2), {x.size(1)}, layer.norm.weight, layer.norm.bias,
                            1e-5)
              .transpose(1, 2);
    } else if (i == 0 && !fold) {
      x = ChannelNorm(x, layer.norm, valid);
    }
    x = Wav2Vec2Activation(x, c.feat_extract_activation);
    if (frames->defined()) *frames = ConvFrames(*frames, c.conv_kernel[i], c.conv_stride[i]);
  }
  return x;
}

// x [B, T, D] -> x + gelu(conv(x)) ("same" padding; an even kernel drops the last output frame).
torch::Tensor AddPositional(const Wav2Vec2Config& c, const Weights& w, const torch::Tensor& x) {
  torch::Tensor weight = w.pos_conv_weight;  // [D, D / G, K]
  if (!weight.defined()) {
    // Weight norm over dim 2: g · v / ||v||, the norm over dims 0 and 1 for each kernel position.
    weight = w.pos_conv_g * w.pos_conv_v /
             w.pos_conv_v.pow(2).sum(std::vector<int64_t>{0, 1}, true).sqrt();
  }
  const int64_t K = c.num_conv_pos_embeddings;
  torch::Tensor pos = torch::conv1d(x.transpose(1, 2), weight, w.pos_conv_bias, 1, K / 2, 1,
                                    c.num_conv_pos_embedding_groups);  // [B, D, T (+1)]
  if (K % 2 == 0) pos = pos.narrow(2, 0, pos.size(2) - 1);
  return x + torch::gelu(pos).transpose(1, 2);
}

// [B, T] true for the valid frames of each row.
torch::Tensor ValidFrames(const torch::Tensor& frames, int64_t T) {
  return torch::arange(T, frames.options()).unsqueeze(0) < frames.unsqueeze(1);
}

// The keys attention may use, [B, T] bool, from valid frames [B]; undefined when every frame is
// valid (frames undefined).
torch::Tensor KeyValid(const torch::Tensor& frames, const torch::Tensor& x) {
  if (!frames.defined()) return {};
  return ValidFrames(frames, x.size(1));
}

// One transformer layer: post-LN (base) or pre-LN (do_stable_layer_norm). x [B, T, D] -> [B, T, D].
torch::Tensor Layer(const Wav2Vec2Config& c, const Weights::EncoderLayer& e, const torch::Tensor& x,
                    const torch::Tensor& key_valid, const Wav2Vec2ForwardOptions& o) {
  const double eps = c.layer_norm_eps;
  if (!c.do_stable_layer_norm) {
    torch::Tensor h = LayerNorm(x + Attention(c, e, x, key_valid, o), e.attn_norm, eps);
    return LayerNorm(h + FeedForward(c, e, h, o), e.final_norm, eps);
  }
  torch::Tensor h = x + Attention(c, e, LayerNorm(x, e.attn_norm, eps), key_valid, o);
  return h + FeedForward(c, e, LayerNorm(h, e.final_norm, eps), o);
}

}  // namespace

torch::Tensor Wav2Vec2Activation(const torch::Tensor& x, const std::string& name) {
  if (name == "gelu") return torch::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (name == "relu") return torch::relu(x);
  return torch::silu(x);  // "silu" / "swish" (Wav2Vec2Config::Validate admits nothing else)
}

Wav2Vec2ForwardOutput Wav2Vec2EncodeBelow(const Wav2Vec2Config& c, const Weights& w,
                                          const torch::Tensor& waveform, int64_t layer,
                                          const Wav2Vec2ForwardOptions& o) {
  TORCH_CHECK(layer >= 0 && layer <= c.num_hidden_layers, "layer ", layer, " outside [0, ",
              c.num_hidden_layers, "]");
  const double eps = c.layer_norm_eps;
  torch::Tensor frames;  // [B] valid frames, only with a padding mask
  if (o.lengths.defined()) frames = o.lengths.to(torch::kLong).clone();
  torch::Tensor x =
      ConvFeatures(c, w, waveform, &frames, o.exact_padding).transpose(1, 2);  // [B, T, C]
  x = DenseLinear(LayerNorm(x, w.projection_norm, eps), w.projection.weight,
                  w.projection.bias);  // [B, T, D]
  x = Drop(x, o);
  if (frames.defined()) {
    frames = torch::clamp_max(frames, x.size(1));
    if (c.feat_extract_norm == "layer" || o.exact_padding)
      x = x * ValidFrames(frames, x.size(1)).unsqueeze(-1).to(x.dtype());  // padded frames zeroed
  }
  x = AddPositional(c, w, x);
  // Post-LN (base) normalises before the first layer; pre-LN (large-lv60) after the last.
  x = c.do_stable_layer_norm ? Drop(x, o) : Drop(LayerNorm(x, w.encoder_norm, eps), o);
  const torch::Tensor key_valid = KeyValid(frames, x);
  for (int64_t l = 0; l < layer; ++l)
    x = Layer(c, w.layers[static_cast<size_t>(l)], x, key_valid, o);
  return {x, frames};
}

torch::Tensor Wav2Vec2EncodeFrom(const Wav2Vec2Config& c, const Weights& w, const torch::Tensor& x,
                                 int64_t layer, const torch::Tensor& frame_lengths,
                                 const Wav2Vec2ForwardOptions& o) {
  TORCH_CHECK(layer >= 0 && layer <= c.num_hidden_layers, "layer ", layer, " outside [0, ",
              c.num_hidden_layers, "]");
  const torch::Tensor key_valid = KeyValid(frame_lengths, x);
  torch::Tensor h = x;
  for (int64_t l = layer; l < c.num_hidden_layers; ++l)
    h = Layer(c, w.layers[static_cast<size_t>(l)], h, key_valid, o);
  return c.do_stable_layer_norm ? LayerNorm(h, w.encoder_norm, c.layer_norm_eps) : h;
}

Wav2Vec2ForwardOutput Wav2Vec2Encode(const Wav2Vec2Config& c, const Weights& w,
                                     const torch::Tensor& waveform,
                                     const Wav2Vec2ForwardOptions& o) {
  Wav2Vec2ForwardOutput below = Wav2Vec2EncodeBelow(c, w, waveform, c.num_hidden_layers, o);
  // With every layer run, only the pre-LN model's final norm is left.
  return {Wav2Vec2EncodeFrom(c, w, below.hidden, c.num_hidden_layers, below.frame_lengths, o),
          below.frame_lengths};
}

torch::Tensor Wav2Vec2Logits(const Weights& w, const torch::Tensor& hidden) {
  return DenseLinear(hidden, w.lm_head.weight, w.lm_head.bias);  // [B, T, V]
}

}  // namespace lact
