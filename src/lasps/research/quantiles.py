"""Quantile analysis and h-day holding returns of one variant.

Per signal row ``t`` (computed by :func:`lasps.research.kernels.evaluate_alpha`):

* the codes of the universe that have an alpha value at t are cut into ``Q`` buckets by average rank
  (``max(1, ceil(Q (r - 1) / (n - 1)))``: ``pandas.qcut``/alphalens without ties; ties share a bucket,
  so a binary alpha fills two buckets and a constant one a single bucket). Membership uses only what is
  known at the close of t — not whether the forward return will exist;
* ``qmean[t, q]`` = mean forward return of bucket q over its members that have one;
* ``long[t]`` / ``short[t]`` = mean forward return of the **highest / lowest occupied** bucket (the top
  and bottom decile for a continuous alpha; the two groups of a binary alpha); NaN when fewer than two
  buckets are occupied (a constant alpha has no long-short portfolio);
* ``turnover[t]`` = share of the long bucket at t that was not in it at ``t - h`` (one-way, per
  rebalance).

Summaries over the signal rows of a split (all h-day numbers are simple returns, 0.01 = +1 %):

* ``q_spread``: mean over days of ``long - short`` (an h-day return, overlapping days);
* ``ls_return`` / ``lo_return``: annualised compounded return of the long-short spread / the long
  bucket, **rebalanced every h sessions without overlap** (periods start at rows ``p, p + h, …``);
  the figure is the mean over the h possible start offsets ``p`` (so it does not depend on which
  weekday the sample happens to start; in expectation equal to h staggered 1/h sleeves). Equal
  weights, no costs (costs belong to the backtest);
* ``turnover``: mean of the per-rebalance turnover.
"""

from __future__ import annotations

import math

import numpy as np

PERIODS_PER_YEAR = 252


def quantile_means(qmean: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(Q,)`` mean over the selected rows of the per-date bucket means (NaN for never-filled buckets)."""
    sub = qmean[rows]
    cnt = np.isfinite(sub).sum(axis=0)
    tot = np.where(np.isfinite(sub), sub, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def mean_finite(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else math.nan


def compounded(r: np.ndarray) -> float:
    """``prod(1 + r) - 1`` over the finite entries; ``-1`` once a period loses everything."""
    r = np.asarray(r, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return math.nan
    if (r <= -1.0).any():
        return -1.0
    return float(np.expm1(np.log1p(r).sum()))


def annualised(r: np.ndarray, horizon: int, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """Annualised compounded return of non-overlapping h-session period returns ``r``."""
    r = np.asarray(r, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return math.nan
    if (r <= -1.0).any():
        return -1.0
    years = len(r) * horizon / periods_per_year
    return float(np.expm1(np.log1p(r).sum() / years))


def holding_return(x: np.ndarray, rows: np.ndarray, horizon: int) -> float:
    """Annualised return of h-day holdings rebalanced every h rows, averaged over start offsets.

    ``x`` is the ``(T,)`` per-signal-row h-day return of the portfolio formed at that row; ``rows`` the
    ``(T,)`` bool mask of eligible signal rows. For offset p the periods are the eligible rows
    ``t ≡ p (mod h)``.
    """
    T = len(x)
    idx = np.arange(T)
    vals = []
    for p in range(horizon):
        sel = rows & (idx % horizon == p)
        v = annualised(x[sel], horizon)
        if np.isfinite(v):
            vals.append(v)
    return float(np.mean(vals)) if vals else math.nan


def cumulative_curve(x: np.ndarray, rows: np.ndarray, horizon: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Growth of 1 for h-day holdings at rows ``offset, offset + h, …`` within ``rows``.

    Returns ``(period_rows, wealth)``: the signal rows of the periods and the wealth after each period
    (missing period returns count as 0 — flat).
    """
    T = len(x)
    idx = np.arange(T)
    sel = np.flatnonzero(rows & (idx % horizon == offset % horizon))
    r = np.where(np.isfinite(x[sel]), x[sel], 0.0)
    return sel, np.cumprod(1.0 + np.maximum(r, -1.0))
