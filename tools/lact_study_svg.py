"""Hand-written SVG line charts for tools/lact_study_report.py (standard library only).

line_chart(series, ...) -> SVG text: one <polyline> per series (with a marker per point), axes
with ticks and labels, a legend, and an optional dashed y = 0 reference line.
"""
import math
from xml.sax.saxutils import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf"]
W, H = 760, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 190, 40, 60


def nice_ticks(lo, hi, count=6, integer=False):
    """Round tick values covering [lo, hi] (whole numbers only when integer)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1, math.ceil(step))
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-6:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi - step * 1e-6:
        ticks.append(round(t, 10))
    return ticks


def fmt(v):
    return f"{v:g}" if abs(v) >= 1e-9 else "0"


def _axes(out, xt, yt, sx, sy, xlabel, ylabel):
    x0, x1, y0, y1 = LEFT, W - RIGHT, H - BOTTOM, TOP
    out.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" '
               'fill="none" stroke="#000"/>')
    for v in xt:
        x = sx(v)
        out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + 5}" stroke="#000"/>')
        out.append(f'<text x="{x:.1f}" y="{y0 + 18}" text-anchor="middle">{fmt(v)}</text>')
    for v in yt:
        y = sy(v)
        out.append(f'<line x1="{x0 - 5}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 8}" y="{y + 4:.1f}" text-anchor="end">{fmt(v)}</text>')
    out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{H - 15}" text-anchor="middle">'
               f'{escape(xlabel)}</text>')
    out.append(f'<text x="18" y="{(y0 + y1) / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 18 {(y0 + y1) / 2:.1f})">{escape(ylabel)}</text>')


def _legend(out, names):
    x, y = W - RIGHT + 15, TOP + 10
    for i, name in enumerate(names):
        c = COLORS[i % len(COLORS)]
        out.append(f'<line x1="{x}" y1="{y + 20 * i}" x2="{x + 24}" y2="{y + 20 * i}" '
                   f'stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{x + 30}" y="{y + 20 * i + 4}">{escape(name)}</text>')


def line_chart(series, title, xlabel, ylabel, zero_line=False):
    """series: list of (name, [(x, y), ...]). Returns the SVG document as a string."""
    xs = [p[0] for _, pts in series for p in pts] or [0.0, 1.0]
    ys = [p[1] for _, pts in series for p in pts] or [0.0, 1.0]
    ylo, yhi = min(ys + [0.0]), max(ys + [0.0])
    xt, yt = nice_ticks(min(xs), max(xs), integer=True), nice_ticks(ylo, yhi)

    def sx(v):
        return LEFT + (v - xt[0]) / ((xt[-1] - xt[0]) or 1.0) * (W - RIGHT - LEFT)

    def sy(v):
        return H - BOTTOM - (v - yt[0]) / ((yt[-1] - yt[0]) or 1.0) * (H - BOTTOM - TOP)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="#fff"/>',
           f'<text x="{W / 2:.1f}" y="22" text-anchor="middle" font-size="15">'
           f'{escape(title)}</text>']
    _axes(out, xt, yt, sx, sy, xlabel, ylabel)
    if zero_line:
        out.append(f'<line x1="{LEFT}" y1="{sy(0):.1f}" x2="{W - RIGHT}" y2="{sy(0):.1f}" '
                   'stroke="#000" stroke-dasharray="4 3"/>')
    for i, (name, pts) in enumerate(series):
        c = COLORS[i % len(COLORS)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        out.append(f'<polyline class="series" data-name="{escape(name, {chr(34): "&quot;"})}" '
                   f'points="{coords}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y in pts:
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{c}"/>')
    _legend(out, [name for name, _ in series])
    out.append("</svg>")
    return "\n".join(out) + "\n"
