#!/usr/bin/python3
"""Times torchaudio's wav2vec2-base (random weights, 32-token CTC head) on the same input length
and thread count as lact_bench, for docs/benchmarks.md. Uses Debian's python3-torchaudio.

  tools/bench_torchaudio.py [--seconds 10] [--threads 2] [--repeats 3]
Prints one line: torchaudio base RTF/RTFX (median of --repeats after one warm-up)."""
import argparse
import statistics
import time

import torch
import torchaudio

p = argparse.ArgumentParser()
p.add_argument("--seconds", type=float, default=10.0)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = torchaudio.models.wav2vec2_base(aux_num_out=32).eval()
n = int(a.seconds * 16000)
t = torch.arange(n) / 16000.0
wave = (0.3 * torch.sin(2 * torch.pi * 150 * t) + 0.05 * torch.randn(n)).unsqueeze(0)
times = []
with torch.inference_mode():
    for r in range(a.repeats + 1):
        t0 = time.perf_counter()
        logits, _ = model(wave)
        logits.argmax(-1)
        if r:
            times.append(time.perf_counter() - t0)
wall = statistics.median(times)
print(f"torchaudio {torchaudio.__version__} (torch {torch.__version__}) wav2vec2_base "
      f"threads={a.threads} audio={a.seconds:.1f}s wall={wall:.3f}s RTF={wall / a.seconds:.4f} "
      f"RTFX={a.seconds / wall:.2f}")
