"""The trailing top-K selection rule, written once (DESIGN §4): no look-ahead by construction.

A decision taken at the close of row ``s`` may read only outcomes known by then. With the outcome of
signal row ``t`` known at row ``t + lag`` (:class:`~lasps.research.timing.Timing`), the **trailing
window** of ``s`` over ``lookback`` signal days is the signal rows ``[s - lag - lookback + 1, s - lag]``
(clipped at row 0; empty when ``s < lag``). Each variant is scored on that window, and the **top K**
are the variants with the highest finite scores and enough known values (``counts >= min_count``),
ties broken by position (or by ``tie_keys``). Walk-forward (:mod:`lasps.research.walkforward`), the
backtest's adaptive strategy and top-N selection (:mod:`lasps.backtest.selection`) and the daily
pipeline's choice (:mod:`lasps.pipeline.steps`) all go through these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def trailing_window(decision_rows: np.ndarray | int, lag: int, lookback: int,
                    n_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` inclusive signal rows of the trailing window of each decision row.

    ``hi = s - lag`` (the last signal row whose outcome is known at the close of ``s``, capped at
    ``n_rows - 1``), ``lo = max(0, hi - lookback + 1)``; ``hi < lo`` (``hi = -1``) means an empty window.
    Scalars in, 0-d arrays out (``int(lo)`` works).
    """
    hi = np.asarray(decision_rows, dtype=np.int64) - int(lag)
    if n_rows is not None:
        hi = np.minimum(hi, int(n_rows) - 1)
    hi = np.maximum(hi, -1)
    lo = np.maximum(hi - int(lookback) + 1, 0)
    return lo, hi


def prefix_sums(x: np.ndarray) -> np.ndarray:
    """``(V, T + 1)`` running sums of ``(V, T)`` ``x`` with a leading zero column, so that the sum over
    signal rows ``lo..hi`` is ``p[:, hi + 1] - p[:, lo]`` (:func:`window_sum`)."""
    x = np.atleast_2d(x)
    out = np.zeros((x.shape[0], x.shape[1] + 1))
    np.cumsum(x, axis=1, out=out[:, 1:])
    return out


def window_sum(prefix: np.ndarray, lo: np.ndarray | int, hi: np.ndarray | int) -> np.ndarray:
    """Sums over the inclusive windows ``lo..hi`` from :func:`prefix_sums`: ``(V,)`` for scalars,
    ``(V, R)`` for ``(R,)`` windows."""
    return prefix[:, np.asarray(hi) + 1] - prefix[:, np.asarray(lo)]


def top_k(scores: np.ndarray, k: int, *, counts: np.ndarray | None = None, min_count: float = 0,
          tie_keys: Sequence[str] | None = None) -> list[int]:
    """Indices of the ``k`` best variants: finite ``scores`` with ``counts >= min_count``, highest first.

    Ties keep their position order, or the order of ``tie_keys`` (e.g. variant names) when given.
    """
    s = np.asarray(scores, dtype=np.float64)
    ok = np.isfinite(s)
    if counts is not None:
        ok &= np.asarray(counts) >= min_count
    idx = np.flatnonzero(ok)
    if tie_keys is not None:
        idx = idx[np.argsort(np.asarray([tie_keys[i] for i in idx], dtype=object), kind="stable")]
    order = idx[np.argsort(-s[idx], kind="stable")]
    return [int(i) for i in order[:k]]


__all__ = ["prefix_sums", "top_k", "trailing_window", "window_sum"]
