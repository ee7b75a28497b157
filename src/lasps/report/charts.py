"""Self-contained SVG charts for reports and the dashboard (no JavaScript, no network, no fonts to embed).

Each function returns one ``<svg>`` element as a string, sized by a ``viewBox`` so that it scales with its
container; text is rendered by the browser (Korean names display with the reader's fonts). Charts only
draw what they are given — the numbers are computed elsewhere (pure statistics → result → rendering).

* :func:`line_chart` — dated lines (equity curves, rolling IC) with date and value axes, a legend, an
  optional zero/one reference line and a shaded span (e.g. the selection window);
* :func:`heatmap` — a labelled matrix in a diverging palette (alpha correlations);
* :func:`price_chart` — close line over volume bars (one pick);
* :func:`sparkline` — a tiny line for tables.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f")
FONT = "font-family:system-ui,-apple-system,'Segoe UI','Noto Sans KR','Malgun Gothic',sans-serif"


@dataclass
class Line:
    """One line of a :func:`line_chart`: ``dates`` ``datetime64[D]``, float ``values`` (NaN = gap)."""

    label: str
    dates: np.ndarray
    values: np.ndarray
    color: str | None = None
    width: float = 1.6
    dash: str | None = None


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values (1, 2, 5 × 10^k steps) covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) * 0.1 or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 0.5 and len(ticks) < 50:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _fmt_tick(v: float, fmt: str) -> str:
    if fmt == "pct":
        return f"{v:+.0%}" if abs(v) >= 0.1 or v == 0 else f"{v:+.1%}"
    if fmt == "x":
        return f"{v:.2f}×" if abs(v) < 10 else f"{v:.0f}×"
    if fmt == "krw":
        if abs(v) >= 1e6:
            return f"{v / 1e6:,.1f}M"
        return f"{v:,.0f}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if v != 0 else "0"


def _date_ticks(d0: np.datetime64, d1: np.datetime64) -> list[tuple[np.datetime64, str]]:
    """Month/quarter/year ticks for a span, labelled ``2026-03`` or ``2026``."""
    days = int((d1 - d0).astype(int))
    months = np.arange(d0.astype("datetime64[M]"), d1.astype("datetime64[M]") + 1)
    if days > 365 * 3:
        step, label = 12, "%Y"
        months = months[months.astype(int) % 12 == 0]
    elif days > 500:
        step, label = 3, "%Y-%m"
        months = months[months.astype(int) % 3 == 0]
    elif days > 150:
        step, label = 2, "%Y-%m"
        months = months[months.astype(int) % 2 == 0]
    else:
        step, label = 1, "%Y-%m"
    del step
    out = []
    for m in months:
        d = m.astype("datetime64[D]")
        if d0 <= d <= d1:
            s = str(m)
            out.append((d, s[:4] if label == "%Y" else s[:7]))
    if not out:
        out = [(d0, str(d0)), (d1, str(d1))]
    return out


def _frame(width: int, height: int, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{_esc(title)}" style="{FONT};max-width:{width}px" class="lasps-chart">',
            f"<title>{_esc(title)}</title>",
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
            f'<text x="12" y="20" font-size="14" font-weight="600" fill="#222">{_esc(title)}</text>']


def line_chart(lines: Sequence[Line], *, title: str, y_label: str = "", y_format: str = "num",
               width: int = 1080, height: int = 320, ref: float | None = None,
               shade: tuple[np.datetime64, np.datetime64, str] | None = None, log_y: bool = False) -> str:
    """Dated lines on shared axes (see the module docstring).

    ``y_format``: ``num``, ``pct`` (0.05 → +5%), ``x`` (growth multiple) or ``krw``; ``ref`` draws a
    dashed horizontal reference (0 for ICs, 1 for wealth); ``shade`` = ``(start, end, label)``.
    """
    parts = _frame(width, height, title)
    usable = [ln for ln in lines if len(ln.dates) and np.isfinite(np.asarray(ln.values, float)).any()]
    legend_rows = max(1, math.ceil(len(usable) / 4))
    left, right, top, bottom = 64, 16, 34, 30 + 14 * legend_rows
    pw, ph = width - left - right, height - top - bottom
    if not usable:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="13" fill="#888">'
                     "no data yet</text></svg>")
        return "".join(parts)
    all_d = np.concatenate([np.asarray(ln.dates, "datetime64[D]") for ln in usable])
    vals = np.concatenate([np.asarray(ln.values, float) for ln in usable])
    vals = vals[np.isfinite(vals)]
    if log_y:
        vals = vals[vals > 0]
    d0, d1 = all_d.min(), all_d.max()
    if d1 == d0:
        d1 = d0 + np.timedelta64(1, "D")
    lo, hi = float(vals.min()), float(vals.max())
    if ref is not None:
        lo, hi = min(lo, ref), max(hi, ref)
    pad = (hi - lo) * 0.06 or abs(hi) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    span_d = float((d1 - d0).astype(int))

    def fx(d: np.ndarray) -> np.ndarray:
        return left + (np.asarray(d, "datetime64[D]") - d0).astype(int) / span_d * pw

    def fy(v: np.ndarray) -> np.ndarray:
        return top + (hi - np.asarray(v, float)) / (hi - lo) * ph

    if shade is not None:
        s0, s1, slabel = np.datetime64(shade[0], "D"), np.datetime64(shade[1], "D"), shade[2]
        s0, s1 = max(s0, d0), min(s1, d1)
        if s1 > s0:
            x0, x1 = float(fx(np.array([s0]))[0]), float(fx(np.array([s1]))[0])
            parts.append(f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{ph}" fill="#fff3cd" '
                         'opacity="0.7"/>')
            parts.append(f'<text x="{x0 + 4:.1f}" y="{top + 12}" font-size="10" fill="#8a6d3b">{_esc(slabel)}</text>')
    for t in nice_ticks(lo, hi):
        if lo <= t <= hi:
            y = float(fy(np.array([t]))[0])
            parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e6e6"/>')
            parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#555">'
                         f"{_esc(_fmt_tick(t, y_format))}</text>")
    for d, lab in _date_ticks(d0, d1):
        x = float(fx(np.array([d]))[0])
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#777"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + ph + 16}" font-size="10" text-anchor="middle" fill="#555">'
                     f"{_esc(lab)}</text>")
    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>')
    if ref is not None and lo <= ref <= hi:
        y = float(fy(np.array([ref]))[0])
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#333" '
                     'stroke-dasharray="4 3" stroke-width="0.8"/>')
    if y_label:
        parts.append(f'<text x="14" y="{top + ph / 2:.1f}" font-size="10" fill="#555" text-anchor="middle" '
                     f'transform="rotate(-90 14 {top + ph / 2:.1f})">{_esc(y_label)}</text>')
    legend_x = left + 8
    for i, ln in enumerate(usable):
        color = ln.color or PALETTE[i % len(PALETTE)]
        xs = fx(ln.dates)
        ys = fy(ln.values)
        ok = np.isfinite(ys)
        segs: list[str] = []
        cur: list[str] = []
        for x, y, good in zip(xs, ys, ok, strict=True):
            if good:
                cur.append(f"{x:.1f},{y:.1f}")
            elif cur:
                segs.append(" ".join(cur))
                cur = []
        if cur:
            segs.append(" ".join(cur))
        dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
        for seg in segs:
            if " " not in seg:  # a single point
                x, y = seg.split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="1.8" fill="{color}"/>')
            else:
                parts.append(f'<polyline points="{seg}" fill="none" stroke="{color}" stroke-width="{ln.width}"'
                             f'{dash} stroke-linejoin="round" data-series="{_esc(ln.label)}"/>')
        row, col = divmod(i, 4)
        lx = legend_x + col * ((pw - 16) / 4)
        ly = height - 8 - 14 * (legend_rows - 1 - row)
        parts.append(f'<line x1="{lx:.1f}" x2="{lx + 16:.1f}" y1="{ly - 4}" y2="{ly - 4}" stroke="{color}" '
                     f'stroke-width="2.5"{dash}/>')
        parts.append(f'<text x="{lx + 20:.1f}" y="{ly}" font-size="10.5" fill="#333">{_esc(ln.label[:40])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _diverging(v: float, vmax: float) -> str:
    """White at 0, blue for positive, red for negative values (|v| / vmax saturates at 1)."""
    if not math.isfinite(v):
        return "#eeeeee"
    t = max(-1.0, min(1.0, v / vmax))
    if t >= 0:
        r, g, b = (255 - t * (255 - 33), 255 - t * (255 - 102), 255 - t * (255 - 172))
    else:
        t = -t
        r, g, b = (255 - t * (255 - 178), 255 - t * (255 - 24), 255 - t * (255 - 43))
    return f"#{int(r):02x}{int(g):02x}{int(b):02x}"


def heatmap(labels: Sequence[str], matrix: np.ndarray, *, title: str, vmax: float = 1.0, cell: int = 34,
            annotate: bool = True) -> str:
    """A square matrix with row/column labels, a diverging palette in ``[-vmax, vmax]`` and cell values."""
    n = len(labels)
    label_w = 10 + 7 * max((len(s) for s in labels), default=4)
    width = max(label_w + n * cell + 80, 24 + int(7.6 * len(title)))
    height = 40 + label_w + n * cell + 20
    parts = _frame(width, height, title)
    x0, y0 = label_w, 34 + label_w
    m = np.asarray(matrix, dtype=float)
    for i in range(n):
        parts.append(f'<text x="{x0 - 6}" y="{y0 + i * cell + cell / 2 + 4:.1f}" font-size="10.5" '
                     f'text-anchor="end" fill="#333">{_esc(labels[i])}</text>')
        xc = x0 + i * cell + cell / 2
        parts.append(f'<text x="{xc:.1f}" y="{y0 - 6}" font-size="10.5" fill="#333" '
                     f'transform="rotate(-55 {xc:.1f} {y0 - 6})">{_esc(labels[i])}</text>')
        for j in range(n):
            v = m[i, j] if i < m.shape[0] and j < m.shape[1] else math.nan
            fill = _diverging(v, vmax)
            parts.append(f'<rect x="{x0 + j * cell}" y="{y0 + i * cell}" width="{cell}" height="{cell}" '
                         f'fill="{fill}" stroke="#fff"><title>{_esc(labels[i])} × {_esc(labels[j])}: '
                         f'{"—" if not math.isfinite(v) else f"{v:+.2f}"}</title></rect>')
            if annotate and math.isfinite(v):
                color = "#fff" if abs(v) / vmax > 0.6 else "#222"
                parts.append(f'<text x="{x0 + j * cell + cell / 2:.1f}" y="{y0 + i * cell + cell / 2 + 3.5:.1f}" '
                             f'font-size="9.5" text-anchor="middle" fill="{color}">{v:+.2f}</text>')
    # colour scale
    sx = x0 + n * cell + 20
    for k in range(21):
        v = vmax - k * (2 * vmax / 20)
        parts.append(f'<rect x="{sx}" y="{y0 + k * (n * cell / 21):.1f}" width="14" height="{n * cell / 21 + 0.5:.1f}" '
                     f'fill="{_diverging(v, vmax)}"/>')
    parts.append(f'<text x="{sx + 18}" y="{y0 + 8}" font-size="10" fill="#555">{vmax:+.1f}</text>')
    parts.append(f'<text x="{sx + 18}" y="{y0 + n * cell / 2 + 4:.1f}" font-size="10" fill="#555">0</text>')
    parts.append(f'<text x="{sx + 18}" y="{y0 + n * cell:.1f}" font-size="10" fill="#555">{-vmax:+.1f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def price_chart(dates: np.ndarray, close: np.ndarray, volume: np.ndarray, *, title: str, width: int = 420,
                height: int = 230, mark: np.datetime64 | None = None) -> str:
    """Close line (top 70 %) over share-volume bars (bottom 30 %); ``mark`` draws a vertical line."""
    parts = _frame(width, height, title)
    left, right, top, bottom = 58, 10, 30, 26
    pw, ph = width - left - right, height - top - bottom
    pv = ph * 0.28
    pc = ph - pv - 6
    d = np.asarray(dates, "datetime64[D]")
    c = np.asarray(close, float)
    v = np.asarray(volume, float)
    ok = np.isfinite(c)
    if len(d) < 2 or not ok.any():
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="12" fill="#888">'
                     "no prices</text></svg>")
        return "".join(parts)
    n = len(d)
    xs = left + np.arange(n) / max(n - 1, 1) * pw
    lo, hi = float(np.nanmin(c)), float(np.nanmax(c))
    pad = (hi - lo) * 0.08 or hi * 0.02 or 1.0
    lo, hi = lo - pad, hi + pad
    ys = top + (hi - c) / (hi - lo) * pc
    for t in nice_ticks(lo, hi, 4):
        if lo <= t <= hi:
            y = top + (hi - t) / (hi - lo) * pc
            parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            parts.append(f'<text x="{left - 5}" y="{y + 3.5:.1f}" font-size="9.5" text-anchor="end" fill="#555">'
                         f"{t:,.0f}</text>")
    vmax = float(np.nanmax(v)) if np.isfinite(v).any() and np.nanmax(v) > 0 else 1.0
    bw = max(pw / n * 0.7, 0.6)
    vb = top + pc + 6
    for x, vol in zip(xs, v, strict=True):
        if np.isfinite(vol) and vol > 0:
            hgt = vol / vmax * pv
            parts.append(f'<rect x="{x - bw / 2:.1f}" y="{vb + pv - hgt:.1f}" width="{bw:.1f}" height="{hgt:.1f}" '
                         'fill="#9ecae1"/>')
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y, g in zip(xs, ys, ok, strict=True) if g)
    parts.append(f'<polyline points="{pts}" fill="none" stroke="#1f77b4" stroke-width="1.6" data-series="close"/>')
    for dd, lab in _date_ticks(d[0], d[-1])[::2]:
        i = int(np.searchsorted(d, dd))
        if i < n:
            parts.append(f'<text x="{xs[i]:.1f}" y="{height - 8}" font-size="9.5" text-anchor="middle" fill="#555">'
                         f"{_esc(lab)}</text>")
    if mark is not None:
        i = int(np.searchsorted(d, np.datetime64(mark, "D")))
        if i < n:
            parts.append(f'<line x1="{xs[i]:.1f}" x2="{xs[i]:.1f}" y1="{top}" y2="{top + ph}" stroke="#d62728" '
                         'stroke-dasharray="3 3"/>')
    last = c[ok][-1]
    parts.append(f'<text x="{width - right}" y="20" font-size="11" text-anchor="end" fill="#333">'
                 f"{last:,.0f} KRW</text>")
    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{pc:.1f}" fill="none" stroke="#ccc"/>')
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[float], *, width: int = 120, height: int = 28, color: str = "#1f77b4") -> str:
    """A tiny line without axes (``values`` in order; NaNs skipped)."""
    v = np.asarray(values, float)
    ok = np.isfinite(v)
    if ok.sum() < 2:
        return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}"></svg>'
    lo, hi = float(v[ok].min()), float(v[ok].max())
    hi = hi if hi > lo else lo + 1.0
    xs = np.arange(len(v)) / max(len(v) - 1, 1) * (width - 4) + 2
    ys = 2 + (hi - v) / (hi - lo) * (height - 4)
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y, g in zip(xs, ys, ok, strict=True) if g)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'class="lasps-spark"><polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.4"/></svg>')


def bar_chart(labels: list[str], values: np.ndarray, *, title: str, width: int = 860) -> str:
    """Horizontal bars (one per label), positive blue, negative red, values printed."""
    n = len(labels)
    bar = 18
    left = 12 + 7 * max((len(s) for s in labels), default=4)
    height = 40 + n * (bar + 4) + 10
    vals = np.asarray(values, dtype=float)
    finite = vals[np.isfinite(vals)]
    vmax = float(np.abs(finite).max()) if len(finite) else 1.0
    vmax = vmax or 1.0
    has_neg = bool((finite < 0).any()) if len(finite) else False
    plot_w = width - left - 80
    zero = left + (plot_w / 2 if has_neg else 0)
    scale = (plot_w / 2 if has_neg else plot_w) / vmax
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{_esc(title)}" class="lasps-chart" style="max-width:{width}px">',
             f'<title>{_esc(title)}</title><rect width="{width}" height="{height}" fill="#fff"/>',
             f'<text x="12" y="20" font-size="14" font-weight="600" fill="#222">{_esc(title)}</text>']
    for i, (lab, v) in enumerate(zip(labels, vals, strict=True)):
        y = 34 + i * (bar + 4)
        parts.append(f'<text x="{left - 6}" y="{y + bar - 5}" font-size="11" text-anchor="end" fill="#333">'
                     f"{_esc(lab)}</text>")
        if np.isfinite(v):
            w = abs(v) * scale
            x = zero if v >= 0 else zero - w
            color = "#1f77b4" if v >= 0 else "#d62728"
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar}" fill="{color}"/>')
            tx = (x + w + 4) if v >= 0 else (x - 4)
            anchor = "start" if v >= 0 else "end"
            parts.append(f'<text x="{tx:.1f}" y="{y + bar - 5}" font-size="10.5" text-anchor="{anchor}" '
                         f'fill="#333">{v:+.3f}</text>')
    parts.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="30" y2="{height - 8}" stroke="#555"/></svg>')
    return "".join(parts)


__all__ = ["PALETTE", "Line", "bar_chart", "heatmap", "line_chart", "nice_ticks", "price_chart", "sparkline"]
