#!/usr/bin/python3
"""Compares two .npy arrays the way the acceptance tests do:
max|out - ref| <= tol * max|ref|, and (with --argmax) the per-row argmax agrees on every row.

  compare_npy.py REF.npy OUT.npy [--tol 1e-3] [--argmax [--min-agreement F]] [--label NAME]
--min-agreement: the fraction of rows whose argmax must agree (default 1.0: every row).
Exit 0 when they agree, 1 otherwise (with a one-line reason)."""
import argparse
import sys

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("ref")
p.add_argument("out")
p.add_argument("--tol", type=float, default=1e-3)
p.add_argument("--argmax", action="store_true")
p.add_argument("--min-agreement", type=float, default=1.0)
p.add_argument("--label", default="")
a = p.parse_args()
ref = np.load(a.ref).astype(np.float64)
out = np.load(a.out).astype(np.float64)
name = a.label or a.out
if ref.shape != out.shape:
    print(f"FAIL {name}: shape {out.shape} != reference {ref.shape}")
    sys.exit(1)
scale = np.abs(ref).max()
diff = np.abs(out - ref).max()
rel = diff / scale if scale > 0 else diff
ok = rel <= a.tol
msg = f"{name}: shape {ref.shape} max|diff|/max|ref| = {rel:.3g} (tol {a.tol:g})"
if a.argmax:
    agree = (ref.argmax(-1) == out.argmax(-1)).mean()
    msg += f", argmax agreement {agree:.4f} (min {a.min_agreement:g})"
    ok = ok and agree >= a.min_agreement
print(("ok   " if ok else "FAIL ") + msg)
sys.exit(0 if ok else 1)
