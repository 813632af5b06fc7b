#!/usr/bin/python3
"""Float64 NumPy reference of the LaCT adapter stack, written from /work/shared/LACT_SPEC.md.

    /usr/bin/python3 tests/reference/lact_reference.py --model DIR --hidden IN.npy --out OUT.npy

DIR holds lact_config.json (missing keys take the spec defaults) and lact.safetensors. Without
lact.safetensors the adapter is the untrained identity (o_proj = 0), so OUT = IN.
IN is [T, D] (any float dtype), OUT is written as float32 [T, D] (--float64 to keep float64).

Library use:
    cfg = load_config(dir); params = load_params(dir, cfg)
    y = lact_forward(x, params, cfg)                       # whole sequence
    s = LactStream(params, cfg); y = concat(s.feed(piece) for piece in pieces)   # streaming
"""

import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

DEFAULTS = {
    "num_lact_layers": 2, "hidden_size": 768, "num_lact_heads": 4,
    "inter_multi": 1.0, "chunk_size": 512, "lr_scale": 0.01,
    "base_lr": 1.0, "use_momentum": True, "momentum": 0.9,
    "use_muon": False, "weight_norm": True,
    "rms_norm_eps": 1e-6, "layer_norm_eps": 1e-5, "seed": 0,
}

NS_COEFFS = [(4.0848, -6.8946, 2.9270), (3.9505, -6.3029, 2.6377), (3.7418, -5.5913, 2.3037),
             (2.8769, -3.1427, 1.2046), (2.8366, -3.0525, 1.2012)]


def load_config(model_dir):
    cfg = dict(DEFAULTS)
    path = os.path.join(model_dir, "lact_config.json")
    if os.path.exists(path):
        with open(path) as f:
            cfg.update(json.load(f))
    return cfg


def dims(cfg):
    D = int(cfg["hidden_size"])
    H = int(cfg["num_lact_heads"])
    assert D % H == 0, "hidden_size must be divisible by num_lact_heads"
    d = D // H
    m = int(round(d * float(cfg["inter_multi"])))
    return D, H, d, m


def param_shapes(cfg):
    """name -> shape, exactly the spec table."""
    D, H, d, m = dims(cfg)
    shapes = {}
    for l in range(int(cfg["num_lact_layers"])):
        p = f"layers.{l}."
        shapes.update({
            p + "norm.weight": (D,), p + "norm.bias": (D,),
            p + "qkv.weight": (3 * D, D),
            p + "lr_proj.weight": (3 * H, D), p + "lr_proj.bias": (3 * H,),
            p + "w0": (H, m, d), p + "w1": (H, d, m), p + "w2": (H, m, d),
            p + "out_norm.weight": (d,),
            p + "o_proj.weight": (D, D),
        })
        if cfg["use_momentum"]:
            shapes[p + "momentum_proj.weight"] = (H, D)
            shapes[p + "momentum_proj.bias"] = (H,)
    return shapes


def load_params(model_dir, cfg):
    """-> dict name -> float64 array, or None when lact.safetensors is absent (identity)."""
    path = os.path.join(model_dir, "lact.safetensors")
    if not os.path.exists(path):
        return None
    raw = safetensors_io.load_file(path)
    params = {}
    for name, shape in param_shapes(cfg).items():
        if name not in raw:
            raise KeyError(f"{path}: missing {name}")
        if tuple(raw[name].shape) != shape:
            raise ValueError(f"{path}: {name} has shape {raw[name].shape}, expected {shape}")
        params[name] = np.asarray(raw[name], dtype=np.float64)
    return params


# ---------------------------------------------------------------------------------------------
# elementwise pieces

def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def silu(z):
    return z * sigmoid(z)


def silu_prime(z):
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def softplus(z):
    return np.logaddexp(0.0, z)


def l2n(u):
    """u / (||u||_2 + 1e-5) over the last axis."""
    return u / (np.sqrt((u * u).sum(axis=-1, keepdims=True)) + 1e-5)


def layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def newton_schulz(g):
    """Muon orthogonalisation, spec step 7 (transpose if more rows than columns)."""
    x = g
    transposed = x.shape[0] > x.shape[1]
    if transposed:
        x = x.T
    x = x / (np.sqrt((x * x).sum()) + 1e-7)
    for a, b, c in NS_COEFFS:
        xx = x @ x.T
        x = a * x + (b * xx + c * (xx @ xx)) @ x
    return x.T if transposed else x


def row_norms(w):
    return np.sqrt((w * w).sum(axis=1))


# ---------------------------------------------------------------------------------------------
# fast-weight pieces for one head

def fw_apply(W0, W1, W2, q):
    """q [n, d] -> o [n, d]: o_i = W1 (silu(W0 q_i) * (W2 q_i))."""
    return (silu(q @ W0.T) * (q @ W2.T)) @ W1.T


def fw_grads(W0, W1, W2, K, V, lr0, lr1, lr2):
    """Spec step 7 update directions (ascent on sum_i lr_i <f_W(k_i), v_i>).
    K, V [C, d]; lr0, lr1, lr2 [C]. Returns dW0 [m, d], dW1 [d, m], dW2 [m, d]."""
    G = W0 @ K.T            # [m, C]
    Hd = W2 @ K.T           # [m, C]
    A = silu(G) * Hd        # [m, C]
    dW1 = (V.T * lr1) @ A.T                 # sum_i lr1_i v_i a_i^T   [d, m]
    dA = W1.T @ V.T                          # [m, C]
    dHd = dA * silu(G)
    dG = dA * Hd * silu_prime(G)
    dW0 = (dG * lr0) @ K                     # sum_i lr0_i dg_i k_i^T  [m, d]
    dW2 = (dHd * lr2) @ K                    # sum_i lr2_i dhd_i k_i^T [m, d]
    return dW0, dW1, dW2


class _LayerState:
    """Per-layer, per-head stream state: W, M, r, and the frames of the open chunk."""

    def __init__(self, params, prefix, cfg):
        D, H, d, m = dims(cfg)
        self.H, self.d = H, d
        self.W = [[params[prefix + n][h].copy() for n in ("w0", "w1", "w2")] for h in range(H)]
        self.M = [[np.zeros_like(w) for w in Wh] for Wh in self.W]
        self.r = [[row_norms(w) for w in Wh] for Wh in self.W]
        # open chunk buffers (per frame): k [H, d], v [H, d], lr [3H], beta [H]
        self.buf_k, self.buf_v, self.buf_lr, self.buf_beta = [], [], [], []


class LactStream:
    """Streaming LaCT stack. feed(x [n, D]) -> y [n, D]; any split gives the same output."""

    def __init__(self, params, cfg, updates=True):
        self.cfg = cfg
        self.params = params
        self.updates = updates
        self.layers = None
        if params is not None:
            self.layers = [_LayerState(params, f"layers.{l}.", cfg)
                           for l in range(int(cfg["num_lact_layers"]))]

    def feed(self, x):
        x = np.asarray(x, dtype=np.float64)
        if self.params is None:
            return x.copy()
        for l, st in enumerate(self.layers):
            x = self._layer(x, f"layers.{l}.", st)
        return x

    def _layer(self, x, p, st):
        cfg, P = self.cfg, self.params
        D, H, d, m = dims(cfg)
        C = int(cfg["chunk_size"])
        T = x.shape[0]
        # 1. LayerNorm
        xh = layer_norm(x, P[p + "norm.weight"], P[p + "norm.bias"], float(cfg["layer_norm_eps"]))
        # 2. qkv, silu
        qkv = silu(xh @ P[p + "qkv.weight"].T)
        q = qkv[:, 0:D].reshape(T, H, d)
        k = qkv[:, D:2 * D].reshape(T, H, d)
        v = qkv[:, 2 * D:3 * D].reshape(T, H, d)
        # 3. l2n on q, k
        q, k = l2n(q), l2n(k)
        # 4. learning rates
        lr = float(cfg["lr_scale"]) * softplus(xh @ P[p + "lr_proj.weight"].T + P[p + "lr_proj.bias"])
        # 5. momentum
        if cfg["use_momentum"]:
            beta = sigmoid(xh @ P[p + "momentum_proj.weight"].T + P[p + "momentum_proj.bias"])
        else:
            beta = np.zeros((T, H))
        # 6./7. fast weights: apply with the state before this chunk's update, update on full chunks
        o = np.zeros((T, H, d))
        for t in range(T):
            for h in range(H):
                W0, W1, W2 = st.W[h]
                o[t, h] = fw_apply(W0, W1, W2, q[t, h][None, :])[0]
            st.buf_k.append(k[t])
            st.buf_v.append(v[t])
            st.buf_lr.append(lr[t])
            st.buf_beta.append(beta[t])
            if len(st.buf_k) == C:
                if self.updates:
                    self._update(st)
                st.buf_k, st.buf_v, st.buf_lr, st.buf_beta = [], [], [], []
        # 8. RMSNorm per frame and head, gain shared by heads
        eps = float(cfg["rms_norm_eps"])
        o = o / np.sqrt((o * o).mean(axis=-1, keepdims=True) + eps) * P[p + "out_norm.weight"]
        # 9. output projection + residual
        return x + o.reshape(T, D) @ P[p + "o_proj.weight"].T

    def _update(self, st):
        cfg = self.cfg
        H = st.H
        K = np.stack(st.buf_k)      # [C, H, d]
        V = np.stack(st.buf_v)
        LR = np.stack(st.buf_lr)    # [C, 3H]
        B = np.stack(st.buf_beta)   # [C, H]
        for h in range(H):
            W = st.W[h]
            dW = list(fw_grads(W[0], W[1], W[2], K[:, h], V[:, h],
                               LR[:, h], LR[:, H + h], LR[:, 2 * H + h]))
            if cfg["use_momentum"]:
                b = B[:, h].mean()
                for j in range(3):
                    st.M[h][j] = dW[j] + b * st.M[h][j]
                    dW[j] = st.M[h][j]
            if cfg["use_muon"]:
                dW = [newton_schulz(g) for g in dW]
            for j in range(3):
                W[j] = W[j] + dW[j]
                if cfg["weight_norm"]:
                    W[j] = W[j] / (row_norms(W[j])[:, None] + 1e-5) * st.r[h][j][:, None]


def lact_forward(x, params, cfg, updates=True):
    """Whole sequence at once. updates=False keeps the fast weights at their initial values."""
    return LactStream(params, cfg, updates=updates).feed(x)


def main():
    ap = argparse.ArgumentParser(description="float64 LaCT reference (LACT_SPEC.md)")
    ap.add_argument("--model", required=True, help="folder with lact_config.json, lact.safetensors")
    ap.add_argument("--hidden", required=True, help="input .npy [T, D]")
    ap.add_argument("--out", required=True, help="output .npy [T, D]")
    ap.add_argument("--float64", action="store_true", help="write float64 instead of float32")
    a = ap.parse_args()
    cfg = load_config(a.model)
    x = np.load(a.hidden).astype(np.float64)
    if x.ndim != 2 or x.shape[1] != int(cfg["hidden_size"]):
        sys.exit(f"hidden has shape {x.shape}, expected [T, {cfg['hidden_size']}]")
    params = load_params(a.model, cfg)
    if params is None:
        print("lact.safetensors not found: untrained adapter, identity", file=sys.stderr)
    y = lact_forward(x, params, cfg)
    np.save(a.out, y if a.float64 else y.astype(np.float32))


if __name__ == "__main__":
    main()
