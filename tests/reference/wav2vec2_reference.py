#!/usr/bin/python3
"""Independent float64 NumPy forward pass of a Hugging Face `Wav2Vec2ForCTC` folder.

Reads config.json + model.safetensors (HF tensor names) and computes the last hidden state
(the input of lm_head) and the CTC logits for a waveform. Written from the HF layout, not from
torchaudio, so that gen_wav2vec2_fixtures.py can cross-check its torchaudio reference and so the
C++ side has a short, readable statement of the computation:

  feature extractor (conv stack, 1 channel in):
    layer i: x = conv1d(x, conv_layers.i.conv.weight [, .bias], stride, no padding)
             "group": layer 0 only: GroupNorm(num_groups = channels) = per-channel norm over time
             "layer": every layer: LayerNorm over channels, per frame
             x = gelu(x)                       (exact erf GELU)
  feature projection: LayerNorm(conv_dim[-1], eps=layer_norm_eps) -> Linear(conv_dim[-1], D)
  positional conv: conv1d(h, W, bias, padding=K//2, groups=G); if K even drop the LAST frame;
                   gelu; h = h + that.   W = g * v / ||v||, the norm over dims (0, 1), per k.
  not do_stable_layer_norm (post-LN, "base"):
    h = LayerNorm(h, encoder.layer_norm)          # BEFORE the layers
    per layer: h = LN(h + attn(h), layer_norm); h = LN(h + ffn(h), final_layer_norm)
  do_stable_layer_norm (pre-LN, "large"):
    per layer: h = h + attn(LN(h, layer_norm)); h = h + ffn(LN(h, final_layer_norm))
    h = LayerNorm(h, encoder.layer_norm)          # AFTER the layers
  attention: q = (h Wq^T + bq) * head_dim^-0.5, softmax(q k^T) v per head, out_proj.
  ffn: output_dense(gelu(intermediate_dense(h))).
  logits = h lm_head.W^T + lm_head.b
"""

import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x, w, b, eps):
    """LayerNorm over the last axis."""
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def conv1d(x, w, b, stride=1, padding=0, groups=1):
    """x [Cin, L], w [Cout, Cin/groups, K] -> [Cout, Lout] (cross-correlation, like torch)."""
    cin, _ = x.shape
    cout, cin_g, k = w.shape
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(x, k, axis=1)[:, ::stride, :]  # [Cin, Lout, K]
    cout_g = cout // groups
    outs = []
    for g in range(groups):
        xs = win[g * cin_g:(g + 1) * cin_g]
        ws = w[g * cout_g:(g + 1) * cout_g]
        outs.append(np.einsum("oik,ilk->ol", ws, xs))
    y = np.concatenate(outs, axis=0)
    if b is not None:
        y = y + b[:, None]
    return y


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    sd = safetensors_io.load_file(os.path.join(model_dir, "model.safetensors"))
    sd = {k: np.asarray(v, dtype=np.float64) for k, v in sd.items()}
    return cfg, sd


def pos_conv_weight(sd):
    p = "wav2vec2.encoder.pos_conv_embed.conv."
    if p + "weight_g" in sd:
        g, v = sd[p + "weight_g"], sd[p + "weight_v"]
    elif p + "parametrizations.weight.original0" in sd:
        g, v = sd[p + "parametrizations.weight.original0"], sd[p + "parametrizations.weight.original1"]
    else:
        return sd[p + "weight"]
    norm = np.sqrt((v ** 2).sum(axis=(0, 1), keepdims=True))  # [1, 1, K]
    return g * v / norm


def conv_features(cfg, sd, wave):
    """wave [L] float64 -> conv stack output [frames, conv_dim[-1]]."""
    x = np.asarray(wave, dtype=np.float64)[None, :]
    mode = cfg.get("feat_extract_norm", "group")
    for i, (k, s) in enumerate(zip(cfg["conv_kernel"], cfg["conv_stride"])):
        p = f"wav2vec2.feature_extractor.conv_layers.{i}."
        x = conv1d(x, sd[p + "conv.weight"], sd.get(p + "conv.bias"), stride=s)
        if mode == "group" and i == 0:
            # GroupNorm with one channel per group: normalise each channel over time
            mu = x.mean(axis=1, keepdims=True)
            var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
            x = (x - mu) / np.sqrt(var + 1e-5) * sd[p + "layer_norm.weight"][:, None] \
                + sd[p + "layer_norm.bias"][:, None]
        elif mode == "layer":
            x = layer_norm(x.T, sd[p + "layer_norm.weight"], sd[p + "layer_norm.bias"], 1e-5).T
        x = gelu(x)
    return x.T


def attention(h, sd, p, heads):
    t, dm = h.shape
    hd = dm // heads

    def lin(name, x):
        return x @ sd[p + name + ".weight"].T + sd[p + name + ".bias"]

    q = lin("q_proj", h) * hd ** -0.5
    k = lin("k_proj", h)
    v = lin("v_proj", h)
    q = q.reshape(t, heads, hd).transpose(1, 0, 2)
    k = k.reshape(t, heads, hd).transpose(1, 0, 2)
    v = v.reshape(t, heads, hd).transpose(1, 0, 2)
    s = q @ k.transpose(0, 2, 1)
    s = s - s.max(axis=-1, keepdims=True)
    a = np.exp(s)
    a = a / a.sum(axis=-1, keepdims=True)
    o = (a @ v).transpose(1, 0, 2).reshape(t, dm)
    return lin("out_proj", o)


def ffn(h, sd, p):
    x = gelu(h @ sd[p + "intermediate_dense.weight"].T + sd[p + "intermediate_dense.bias"])
    return x @ sd[p + "output_dense.weight"].T + sd[p + "output_dense.bias"]


def encode(cfg, sd, feats):
    """conv features [frames, C] -> last hidden state [frames, D]."""
    eps = cfg.get("layer_norm_eps", 1e-5)
    stable = cfg.get("do_stable_layer_norm", False)
    heads = cfg["num_attention_heads"]
    fp = "wav2vec2.feature_projection."
    h = layer_norm(feats, sd[fp + "layer_norm.weight"], sd[fp + "layer_norm.bias"], eps)
    h = h @ sd[fp + "projection.weight"].T + sd[fp + "projection.bias"]

    k = cfg["num_conv_pos_embeddings"]
    pc = conv1d(h.T, pos_conv_weight(sd), sd["wav2vec2.encoder.pos_conv_embed.conv.bias"],
                padding=k // 2, groups=cfg["num_conv_pos_embedding_groups"])
    if k % 2 == 0:
        pc = pc[:, :-1]
    h = h + gelu(pc).T

    e = "wav2vec2.encoder."
    if not stable:
        h = layer_norm(h, sd[e + "layer_norm.weight"], sd[e + "layer_norm.bias"], eps)
    for i in range(cfg["num_hidden_layers"]):
        p = f"{e}layers.{i}."
        if stable:
            x = layer_norm(h, sd[p + "layer_norm.weight"], sd[p + "layer_norm.bias"], eps)
            h = h + attention(x, sd, p + "attention.", heads)
            x = layer_norm(h, sd[p + "final_layer_norm.weight"], sd[p + "final_layer_norm.bias"], eps)
            h = h + ffn(x, sd, p + "feed_forward.")
        else:
            h = h + attention(h, sd, p + "attention.", heads)
            h = layer_norm(h, sd[p + "layer_norm.weight"], sd[p + "layer_norm.bias"], eps)
            h = h + ffn(h, sd, p + "feed_forward.")
            h = layer_norm(h, sd[p + "final_layer_norm.weight"], sd[p + "final_layer_norm.bias"], eps)
    if stable:
        h = layer_norm(h, sd[e + "layer_norm.weight"], sd[e + "layer_norm.bias"], eps)
    return h


def lm_head(sd, h):
    return h @ sd["lm_head.weight"].T + sd["lm_head.bias"]


def forward(model_dir, wave):
    """-> (features, hidden, logits), float64."""
    cfg, sd = load_model(model_dir)
    feats = conv_features(cfg, sd, wave)
    hidden = encode(cfg, sd, feats)
    return feats, hidden, lm_head(sd, hidden)


def read_wav_int16(path):
    import wave as wavmod
    with wavmod.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float64) / 32768.0


def normalize(x):
    """HF Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm (population variance)."""
    return (x - x.mean()) / np.sqrt(x.var() + 1e-7)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--wav", required=True)
    ap.add_argument("--logits", help="output .npy, float32 [frames, vocab]")
    ap.add_argument("--hidden", help="output .npy, float32 [frames, hidden]")
    a = ap.parse_args()
    x = read_wav_int16(a.wav)
    pre = os.path.join(a.model, "preprocessor_config.json")
    if os.path.exists(pre) and json.load(open(pre)).get("do_normalize", True):
        x = normalize(x)
    _, hidden, logits = forward(a.model, x)
    if a.logits:
        np.save(a.logits, logits.astype(np.float32))
    if a.hidden:
        np.save(a.hidden, hidden.astype(np.float32))
    print(f"frames={logits.shape[0]} argmax={logits.argmax(-1).tolist()}")


if __name__ == "__main__":
    main()
