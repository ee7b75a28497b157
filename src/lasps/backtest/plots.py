"""Equity-curve chart of several runs beside KOSPI (PNG via matplotlib's Agg backend, no display)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from lasps.files import atomic_write


def equity_png(path: Path, curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str,
               benchmark: tuple[np.ndarray, np.ndarray] | None = None) -> Path:
    """Plot ``label -> (dates, values / capital)`` (growth of 1 KRW) and optionally the benchmark.

    Written to a temporary file and renamed, so a reader never sees half a PNG. Returns ``path``.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=100)
    try:
        for label, (dates, values) in curves.items():
            ax.plot(np.asarray(dates, dtype="datetime64[D]"), values, label=label, linewidth=1.3)
        if benchmark is not None and np.isfinite(benchmark[1]).any():
            ax.plot(np.asarray(benchmark[0], dtype="datetime64[D]"), benchmark[1], label="KOSPI",
                    color="black", linestyle="--", linewidth=1.2)
        ax.axhline(1.0, color="grey", linewidth=0.6)
        ax.set_title(title)
        ax.set_ylabel("growth of 1 KRW (after costs)")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
    return path


__all__ = ["equity_png"]
