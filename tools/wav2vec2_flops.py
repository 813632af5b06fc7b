#!/usr/bin/env python3
"""FLOPs of a Wav2Vec2ForCTC forward pass (+ LaCT layers), per second of audio: the numerator of
the floor in docs/benchmarks.md (floor RTFX = GPU matrix throughput / FLOPs per audio second).

  tools/wav2vec2_flops.py [--config config.json] [--seconds 10] [--step-ms 640 --left-ms 2560
                          --lookahead-ms 640] [--lact-layers 2 --lact-heads 4 --lact-dim 192]

Counts multiply-adds of convolutions, linear layers and attention as 2 FLOPs; norms, activations
and softmax are left out (a few per cent). Without --config: wav2vec2-base (facebook/wav2vec2-base-960h).
With --step-ms, also the streaming cost: every step re-encodes left + step + lookahead."""
import argparse
import json
import sys

BASE = {"conv_dim": [512] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
        "hidden_size": 768, "num_hidden_layers": 12, "intermediate_size": 3072,
        "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16, "vocab_size": 32}


def encoder_flops(c, samples):
    """FLOPs to encode `samples` audio samples; returns (flops, frames)."""
    flops, length, channels = 0, samples, 1
    for dim, k, s in zip(c["conv_dim"], c["conv_kernel"], c["conv_stride"]):
        length = (length - k) // s + 1
        flops += 2 * length * dim * channels * k
        channels = dim
    T, D, F = length, c["hidden_size"], c["intermediate_size"]
    flops += 2 * T * channels * D                                          # feature projection
    flops += 2 * T * D * (D // c["num_conv_pos_embedding_groups"]) * c["num_conv_pos_embeddings"]
    per_layer = 2 * T * 4 * D * D + 2 * T * 2 * D * F + 2 * 2 * T * T * D  # qkvo, ffn, QK^T and AV
    flops += c["num_hidden_layers"] * per_layer
    flops += 2 * T * D * c["vocab_size"]                                   # lm_head
    return flops, T


def lact_flops(frames, D, layers, heads, dim):
    """Per frame and layer: q/k/v/lr projections and output projection (D x D each, roughly), the
    SwiGLU fast-weight apply (3 d x m per head) and its update's gradient (about 2x the apply)."""
    proj = 2 * (4 * D * D)
    fast = heads * 3 * (2 * 3 * dim * dim)  # apply + backward of the three fast matrices
    return layers * frames * (proj + fast)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="a Hugging Face config.json (default: wav2vec2-base)")
    p.add_argument("--seconds", type=float, default=10.0, help="utterance length (offline)")
    p.add_argument("--rate", type=int, default=16000)
    p.add_argument("--step-ms", type=int, default=0)
    p.add_argument("--left-ms", type=int, default=2560)
    p.add_argument("--lookahead-ms", type=int, default=640)
    p.add_argument("--lact-layers", type=int, default=0)
    p.add_argument("--lact-heads", type=int, default=4)
    p.add_argument("--lact-dim", type=int, default=192)
    a = p.parse_args()
    c = dict(BASE)
    if a.config:
        try:
            c.update({k: v for k, v in json.load(open(a.config)).items() if k in BASE})
        except (OSError, ValueError) as e:
            sys.exit(f"wav2vec2_flops: cannot read {a.config}: {e}")
    flops, T = encoder_flops(c, int(a.seconds * a.rate))
    lact = lact_flops(T, c["hidden_size"], a.lact_layers, a.lact_heads, a.lact_dim)
    print(f"offline {a.seconds:g} s: encoder {flops / a.seconds / 1e9:.2f} GFLOP per audio second, "
          f"LaCT {lact / a.seconds / 1e9:.2f} ({T} frames)")
    if a.step_ms > 0:
        window_s = (a.left_ms + a.step_ms + a.lookahead_ms) / 1000
        wf, wt = encoder_flops(c, int(window_s * a.rate))
        per_audio_s = wf / (a.step_ms / 1000)
        print(f"streaming step {a.step_ms} ms (window {window_s:g} s, {wt} frames): encoder "
              f"{per_audio_s / 1e9:.2f} GFLOP per audio second "
              f"({per_audio_s / (flops / a.seconds):.2f}x offline)")


if __name__ == "__main__":
    main()
