"""Figures and self-contained HTML pages of evaluation results (rendering only; nothing is computed
here beyond rolling means and cumulative products of the result objects).

matplotlib with the Agg backend (no display needed). HTML pages inline the figures as SVG and carry
their tables and notes, so one file can be mailed or opened offline.
"""

from __future__ import annotations

import html
import io

import numpy as np
import pandas as pd

from lasps.research.evaluate import Evaluation
from lasps.research.walkforward import WalkForwardResult

_COLORS = {"walk_forward": "#1f77b4", "in_sample": "#d62728", "train_test": "#2ca02c",
           "in_sample_test": "#ff7f0e", "walk_forward_test": "#9467bd", "market": "#7f7f7f"}


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _shade_splits(ax, ev: Evaluation) -> None:  # type: ignore[no-untyped-def]
    colors = {"train": "#f0f0f0", "val": "#fff4dc", "test": "#e3f1e3"}
    for name, color in colors.items():
        b = ev.splits.bounds(ev.dates, name)
        if b:
            ax.axvspan(pd.Timestamp(b[0]), pd.Timestamp(b[1]), color=color, zorder=0, label=f"{name} split")


def plot_ic(ev: Evaluation, variants: list[str], window: int = 63):  # type: ignore[no-untyped-def]
    """Rolling ``window``-day mean of the daily rank IC of ``variants`` by signal date."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 4.8), dpi=100)
    _shade_splits(ax, ev)
    dates = pd.to_datetime(ev.dates)
    for v in variants:
        s = pd.Series(ev.ic[ev.index(v)], index=dates)
        ax.plot(dates, s.rolling(window, min_periods=max(2, window // 2)).mean(), lw=1.2, label=v)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_ylabel(f"rank IC, {window}-day mean")
    lag = ev.fwd.lag
    ax.set_title(f"Daily rank IC ({ev.config.horizon}-day forward return, entry at "
                 f"{'next open' if ev.config.entry == 'open' else 'close'}); signal date on the x-axis — "
                 f"each IC is known {lag} sessions later", fontsize=10)
    ax.legend(fontsize=8, ncol=2, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_walkforward(wf: WalkForwardResult):  # type: ignore[no-untyped-def]
    """Growth of 1 (no costs) of the walk-forward portfolio vs the in-sample and train→test ones."""
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter, NullFormatter

    lo_hi = [np.inf, 0.0]
    fig, axes = plt.subplots(2, 1, figsize=(11, 7.5), dpi=100, sharex=True)
    for ax, kind, title in ((axes[0], "ls", "long-short (top minus bottom quantile)"),
                            (axes[1], "lo", "long-only (top quantile)")):
        for name in ("walk_forward", "in_sample", "train_test", "in_sample_test"):
            a = wf.approaches.get(name)
            if a is None or len(a.rows) == 0:
                continue
            r = getattr(a, kind)
            growth = np.cumprod(1.0 + np.where(np.isfinite(r), np.maximum(r, -1.0), 0.0))
            style = "--" if name.startswith("in_sample") else "-"
            if len(growth):
                lo_hi[0], lo_hi[1] = min(lo_hi[0], float(growth.min())), max(lo_hi[1], float(growth.max()))
            ax.plot(pd.to_datetime(wf.dates[a.rows]), growth, style, lw=1.4, color=_COLORS[name], label=a.label)
        if kind == "lo":
            a = wf.approaches["walk_forward"]
            if len(a.rows):
                m = np.cumprod(1.0 + np.where(np.isfinite(a.market), a.market, 0.0))
                ax.plot(pd.to_datetime(wf.dates[a.rows]), m, ":", color=_COLORS["market"],
                        label="equal-weight universe")
        if lo_hi[0] > 0 and lo_hi[1] / lo_hi[0] > 8:  # log scale only when growth spans a wide range
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.3g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        lo_hi = [np.inf, 0.0]
        ax.set_title(f"{title}: growth of 1, {wf.horizon}-day holdings, no costs", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def to_png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def to_svg(fig) -> str:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.find("<svg"):]


def close(fig) -> None:  # type: ignore[no-untyped-def]
    _pyplot().close(fig)


def html_page(title: str, figures: list[str], tables: list[tuple[str, pd.DataFrame]],
              notes: list[str]) -> str:
    """A self-contained HTML page: inline SVG figures, tables and notes (no external resources)."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
        "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}"
        "td:first-child,th:first-child{text-align:left}.note{color:#8a5a00}svg{max-width:100%;height:auto}"
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for n in notes:
        parts.append(f"<p class='note'>{html.escape(n)}</p>")
    for svg in figures:
        parts.append(f"<div>{svg}</div>")
    for caption, frame in tables:
        parts.append(f"<h2>{html.escape(caption)}</h2>")
        parts.append(frame.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="—", border=0))
    parts.append("</body></html>")
    return "\n".join(parts)
