#!/usr/bin/env python3
"""Reliability diagram (SVG) of word confidences from lact_eval_client --word_confidence runs.

  tools/reliability_svg.py --run "beam, raw=eval_raw/summary.json" \\
      --run "beam, calibrated=eval_cal/summary.json" --out reliability.svg [--title T]

Each run's `word_confidence` bins (summary.json) are drawn as accuracy against mean confidence,
non-empty bins only, with the diagonal of perfect calibration; the legend gives each run's
expected calibration error and word count. Standard library only.
"""
import argparse
import json
import sys
from xml.sax.saxutils import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
W, H = 560, 460
LEFT, RIGHT, TOP, BOTTOM = 60, 230, 40, 55


def sx(v):
    return LEFT + v * (W - LEFT - RIGHT)


def sy(v):
    return H - BOTTOM - v * (H - TOP - BOTTOM)


def load(spec):
    """'LABEL=PATH' -> (label, word_confidence dict)."""
    label, sep, path = spec.rpartition("=")
    if not sep or not label:
        raise SystemExit(f"reliability_svg: --run wants LABEL=PATH, got '{spec}'")
    try:
        settings = json.load(open(path))["settings"]
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"reliability_svg: {path}: {e}")
    for s in settings:
        if s.get("word_confidence", {}).get("words", 0) > 0:
            return label, s["word_confidence"]
    raise SystemExit(f"reliability_svg: {path}: no word_confidence (run with --word_confidence)")


def svg(runs, title):
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="#fff"/>',
           f'<text x="{W / 2:.1f}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
           f'<rect x="{sx(0)}" y="{sy(1)}" width="{sx(1) - sx(0)}" height="{sy(0) - sy(1)}" '
           'fill="none" stroke="#444"/>']
    for i in range(11):
        t = i / 10
        out.append(f'<line x1="{sx(t):.1f}" y1="{sy(0)}" x2="{sx(t):.1f}" y2="{sy(0) + 5}" stroke="#444"/>'
                   f'<text x="{sx(t):.1f}" y="{sy(0) + 18}" text-anchor="middle">{t:g}</text>'
                   f'<line x1="{sx(0) - 5}" y1="{sy(t):.1f}" x2="{sx(0)}" y2="{sy(t):.1f}" stroke="#444"/>'
                   f'<text x="{sx(0) - 8}" y="{sy(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    out.append(f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}" stroke="#999" '
               'stroke-dasharray="5,4"/>')
    out.append(f'<text x="{(sx(0) + sx(1)) / 2:.1f}" y="{H - 15}" text-anchor="middle">'
               'mean confidence of the bin</text>')
    out.append(f'<text transform="translate(16,{(sy(0) + sy(1)) / 2:.1f}) rotate(-90)" '
               'text-anchor="middle">share of its words that are right</text>')
    for k, (label, wc) in enumerate(runs):
        color = COLORS[k % len(COLORS)]
        pts = [(b["mean_confidence"], b["accuracy"]) for b in wc["bins"] if b["count"] > 0]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        out += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="{color}"/>' for x, y in pts]
        ly = TOP + 10 + 36 * k
        out.append(f'<line x1="{W - RIGHT + 15}" y1="{ly}" x2="{W - RIGHT + 40}" y2="{ly}" '
                   f'stroke="{color}" stroke-width="2"/>'
                   f'<text x="{W - RIGHT + 46}" y="{ly + 4}">{escape(label)}</text>'
                   f'<text x="{W - RIGHT + 46}" y="{ly + 19}" fill="#555">ECE {wc["ece"]:.3f}, '
                   f'{wc["words"]} words</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", action="append", required=True, help="LABEL=summary.json (repeat)")
    p.add_argument("--out", required=True, help="the SVG file to write")
    p.add_argument("--title", default="Word confidence: reliability diagram")
    a = p.parse_args()
    runs = [load(r) for r in a.run]
    with open(a.out, "w") as f:
        f.write(svg(runs, a.title))
    print(f"reliability_svg: wrote {a.out} ({len(runs)} runs)", file=sys.stderr)


if __name__ == "__main__":
    main()
