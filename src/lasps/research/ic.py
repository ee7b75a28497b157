"""Daily rank IC and its summary statistics.

The daily rank IC of signal row ``t`` is the Spearman correlation, across the codes in
``panel.universe_mask[t]`` that have both an alpha value and a forward return, between the alpha and the
forward return dated ``t`` (average ranks for ties; NaN when fewer than ``min_names`` pairs or when
either side is constant). It is computed by :func:`lasps.research.kernels.evaluate_alpha` (a numba
kernel that ranks each row, parallel over dates) and is **known at** ``known_row[t]`` (``t + 1 + h`` for
next-open entry), not at t.

Summary over a set of signal days (a split):

* ``ic_mean``, ``ic_std`` (ddof 1), ``ic_ir = ic_mean / ic_std`` (per day, not annualised);
* ``ic_t_nw``: ``ic_mean`` over its Newey–West standard error with Bartlett weights and ``lag = h - 1``.
  Consecutive h-day forward returns overlap by h - 1 days, so daily ICs are autocorrelated up to that
  lag; the plain t-stat ``ic_mean / (ic_std / sqrt(n))`` overstates significance about ``sqrt(h)``-fold;
* ``hit_rate``: share of days with IC > 0;
* ``n_days``: days with a finite IC.

Days without an IC (NaN) are dropped and the remaining values treated as consecutive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lasps.research import kernels


@dataclass(frozen=True)
class ICStats:
    """IC summary of one variant over one set of days (see the module docstring)."""

    n_days: int
    ic_mean: float
    ic_std: float
    ic_ir: float
    ic_t_nw: float
    hit_rate: float


def newey_west_se(x: np.ndarray, lag: int) -> float:
    """Newey–West (Bartlett) standard error of the mean of ``x`` (finite values, in order).

    ``S = g0 + 2 * sum_{j=1..lag} (1 - j / (lag + 1)) * g_j`` with ``g_j = sum_t e_t e_{t-j} / n`` and
    ``e = x - mean(x)``; the standard error is ``sqrt(S / n)``. NaN for fewer than 2 values or ``S <= 0``.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 2:
        return math.nan
    e = x - x.mean()
    s = float(e @ e) / n
    for j in range(1, min(int(lag), n - 1) + 1):
        s += 2.0 * (1.0 - j / (lag + 1.0)) * float(e[j:] @ e[:-j]) / n
    return math.sqrt(s / n) if s > 0 else math.nan


def newey_west_tstat(x: np.ndarray, lag: int) -> float:
    """``mean(x) / newey_west_se(x, lag)`` (NaN when undefined)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    se = newey_west_se(x, lag)
    if not np.isfinite(se) or se == 0:
        return math.nan
    return float(x.mean()) / se


def ic_stats(ic: np.ndarray, lag: int) -> ICStats:
    """Summary of a daily IC series (already restricted to the days of interest)."""
    x = np.asarray(ic, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return ICStats(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    ir = mean / std if n > 1 and std > 0 else math.nan
    return ICStats(n, mean, std, ir, newey_west_tstat(x, lag), float((x > 0).mean()))


def rank_ic(alpha: np.ndarray, fwd: np.ndarray, mask: np.ndarray | None = None,
            min_names: int = 3) -> np.ndarray:
    """``(T,)`` daily rank IC of one ``(T, N)`` alpha against ``(T, N)`` forward returns.

    ``mask`` (``(T, N)`` bool, default all True) is the universe; the IC of row t uses the codes where the
    mask is True and both values are finite. For many alphas use
    :func:`lasps.research.evaluate.evaluate` (shares the forward-return sort and computes everything in
    one pass).
    """
    alpha = np.ascontiguousarray(alpha, dtype=np.float64)
    fwd = np.ascontiguousarray(fwd, dtype=np.float64)
    if alpha.shape != fwd.shape:
        raise ValueError(f"alpha has shape {alpha.shape}, forward returns {fwd.shape}")
    mask = np.ones(alpha.shape, dtype=bool) if mask is None else np.ascontiguousarray(mask, dtype=bool)
    forder, fcount, franks = kernels.sort_rows(fwd, mask)
    zrow = np.full(alpha.shape[0], -1, dtype=np.int64)
    zout = np.empty((0, alpha.shape[1]), dtype=np.float32)
    return kernels.evaluate_alpha(alpha, fwd, mask, forder, fcount, franks, 1, min_names, zrow, zout)[0]
