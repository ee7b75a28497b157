"""Strategies: turn alpha variants into per-rebalance target lists (DESIGN §5).

Timing: a rebalance decided at the **close of signal row s** uses alpha values of row s (and, for the
adaptive strategy, ICs known at s); its orders fill at the **open of row s + 1**. Only codes in the
universe at row s with a finite score can be chosen.

Strategies over a set of variants (``alpha_044``, ``alpha_044_rev`` = -alpha_044, …), all picking ``K``
codes per rebalance, best first:

* ``single`` — one variant, its top K.
* ``ensemble`` — each variant is z-scored across the universe per date (``(x - mean) / std``, ddof 0),
  the z-scores are averaged over the variants available for a code, top K of the mean.
* ``voting`` — each variant nominates its top K; the codes with the most votes win; ties are broken
  by the summed percentile rank (average ties, in (0, 1]) over all variants, then by code order.
* ``adaptive`` — at each rebalance, pick the ``n_select`` variants with the best trailing IC_IR over
  ``lookback`` signal days whose outcome is already known (:func:`~lasps.backtest.selection.trailing_ic_ir`),
  then combine them with ``voting`` (or ``ensemble``). Before enough history exists the rebalance is
  skipped (the book is kept).

A rebalance with no candidate at all (e.g. the alphas are still NaN in their warm-up) is **inactive**:
the simulator keeps the current book instead of selling everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import bottleneck as bn
import numba
import numpy as np

from lasps.backtest.selection import VariantIC, select_top, trailing_ic_ir, variant_values
from lasps.errors import ConfigError

STRATEGIES: tuple[str, ...] = ("single", "ensemble", "voting", "adaptive")
COMBINERS: tuple[str, ...] = ("voting", "ensemble")


@dataclass(frozen=True)
class Targets:
    """Target lists of every rebalance.

    Attributes
    ----------
    signal_rows:
        ``(R,)`` int64 rows whose close produced the decision (fills at ``signal_rows + 1``).
    codes:
        ``(R, K)`` int64 code indices, best first; -1 = empty slot.
    active:
        ``(R,)`` bool; False = no decision possible, keep the book.
    chosen:
        Per rebalance, the variants used (the adaptive strategy's choice; the fixed set otherwise).
    """

    signal_rows: np.ndarray
    codes: np.ndarray
    active: np.ndarray
    chosen: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def fill_rows(self) -> np.ndarray:
        """``(R,)`` rows whose open executes each rebalance."""
        return self.signal_rows + 1

    @property
    def k(self) -> int:
        return int(self.codes.shape[1])


@dataclass(frozen=True)
class AdaptiveConfig:
    """Parameters of the adaptive strategy.

    Attributes
    ----------
    lookback:
        Trailing window in signal days (sessions) over which IC_IR is measured (default 60).
    n_select:
        Variants kept at each rebalance (default 3, as in the work log).
    min_days:
        Fewest finite daily ICs in the window for a variant to be eligible (default 20).
    combine:
        ``voting`` (default) or ``ensemble`` over the chosen variants.
    """

    lookback: int = 60
    n_select: int = 3
    min_days: int = 20
    combine: str = "voting"

    def __post_init__(self) -> None:
        if self.lookback < 2:
            raise ConfigError(f"lookback must be >= 2 sessions, got {self.lookback}", where="--lookback")
        if self.n_select < 1:
            raise ConfigError(f"n_select must be >= 1, got {self.n_select}", where="--n-select")
        if not 2 <= self.min_days <= self.lookback:
            raise ConfigError(f"min_days must be in 2..lookback ({self.lookback}), got {self.min_days}",
                              where="--min-days")
        if self.combine not in COMBINERS:
            raise ConfigError(f"unknown combiner {self.combine!r}", where="--combine",
                              fix=f"choose one of {', '.join(COMBINERS)}")


def rebalance_rows(start_row: int, end_row: int, every: int) -> np.ndarray:
    """``(R,)`` signal rows of a simulation over rows ``[start_row, end_row]``.

    The first decision is taken at the close before ``start_row`` (so the book is invested from the
    first session's open) — or at ``start_row`` itself when the panel has no earlier row — and then
    every ``every`` sessions, as long as the fill row ``s + 1`` is inside the period.
    """
    if every < 1:
        raise ConfigError(f"rebalance period must be >= 1 session, got {every}", where="--rebalance")
    s0 = start_row - 1 if start_row >= 1 else 0
    return np.arange(s0, end_row, every, dtype=np.int64)


@numba.njit(cache=True)
def topk_rows(scores: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover - numba
    """``(R, k)`` indices of the ``k`` largest finite values of each row of ``(R, N)`` ``scores``,
    best first; ties go to the lower index; -1 pads rows with fewer than ``k`` finite values."""
    R, N = scores.shape
    out = np.full((R, k), -1, dtype=np.int64)
    vals = np.empty(k)
    for r in range(R):
        cnt = 0
        for j in range(N):
            v = scores[r, j]
            if not np.isfinite(v):
                continue
            if cnt == k and not v > vals[k - 1]:
                continue
            pos = cnt if cnt < k else k - 1
            while pos > 0 and v > vals[pos - 1]:
                if pos < k:
                    vals[pos] = vals[pos - 1]
                    out[r, pos] = out[r, pos - 1]
                pos -= 1
            vals[pos] = v
            out[r, pos] = j
            if cnt < k:
                cnt += 1
    return out


def variant_scores(alphas: Mapping[str, np.ndarray], variant: str, rows: np.ndarray,
                   universe: np.ndarray) -> np.ndarray:
    """``(R, N)`` signed alpha values of ``variant`` at ``rows``; NaN outside the universe."""
    arr, sign = variant_values(alphas, variant)
    x = np.array(arr[rows], dtype=np.float64)  # a copy (fancy indexing); arr may be a RowSlice
    if sign < 0:
        x = -x
    x[~universe[rows] | ~np.isfinite(x)] = np.nan
    return x


def zscore_rows(x: np.ndarray) -> np.ndarray:
    """Cross-sectional z-score of each row of ``(R, N)`` ``x`` (ddof 0); NaN rows/values stay NaN and
    a row with fewer than 2 values or zero spread is all NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = bn.nanmean(x, axis=1)[:, None]
        std = bn.nanstd(x, axis=1)[:, None]
        z = (x - mean) / std
    bad = (np.sum(np.isfinite(x), axis=1) < 2) | ~(std[:, 0] > 0)
    z[bad] = np.nan
    return z


@numba.njit(cache=True)
def _bound(s: np.ndarray, m: int, v: float, right: bool) -> int:  # pragma: no cover - numba
    """First index i < m with ``s[i] > v`` (``right``) or ``s[i] >= v``; m if none (s ascending)."""
    a, b = 0, m
    while a < b:
        h = (a + b) >> 1
        if s[h] < v or (right and s[h] == v):
            a = h + 1
        else:
            b = h
    return a


@numba.njit(cache=True)
def pct_rank_at(x: np.ndarray, cand: np.ndarray) -> np.ndarray:  # pragma: no cover - numba
    """Percentile rank in (0, 1] (average ties) of ``x[r, cand[r, c]]`` among the finite values of row r
    of ``(R, N)`` ``x``; NaN for ``cand < 0`` or a non-finite value. ``cand`` is ``(R, C)``.

    Only the C candidates are ranked: their values are sorted and each of the N values of the row is
    binary-searched among them (O(N log C) per row instead of ranking the whole row)."""
    R, N = x.shape
    C = cand.shape[1]
    out = np.full((R, C), np.nan)
    s = np.empty(C)
    less = np.empty(C + 1)
    eq = np.empty(C + 1)
    for r in range(R):
        m = 0
        for c in range(C):  # insertion sort of the candidates' values (C is small)
            j = cand[r, c]
            if j < 0 or not np.isfinite(x[r, j]):
                continue
            v = x[r, j]
            i = m
            while i > 0 and s[i - 1] > v:
                s[i] = s[i - 1]
                i -= 1
            s[i] = v
            m += 1
        if m == 0:
            continue
        less[: m + 1] = 0.0
        eq[: m + 1] = 0.0
        n = 0
        for j in range(N):
            v = x[r, j]
            if not np.isfinite(v):
                continue
            n += 1
            hi = _bound(s, m, v, True)
            less[hi] += 1.0  # v is below s[hi:]
            lo = _bound(s, m, v, False)
            if lo < hi:
                eq[lo] += 1.0  # v equals s[lo] (first index of that value)
        acc = 0.0
        for i in range(m):
            acc += less[i]
            less[i] = acc  # number of values < s[i]
        for c in range(C):
            j = cand[r, c]
            if j < 0 or not np.isfinite(x[r, j]):
                continue
            lo = _bound(s, m, x[r, j], False)
            out[r, c] = (2.0 * less[lo] + eq[lo] + 1.0) / 2.0 / n
    return out


def pct_rank_rows(x: np.ndarray) -> np.ndarray:
    """Percentile rank in (0, 1] of each finite value within its row (average ties); NaN stays NaN."""
    ranks = bn.nanrankdata(x, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ranks / np.sum(np.isfinite(x), axis=1)[:, None]


def _finish(codes: np.ndarray, rows: np.ndarray, chosen: tuple[tuple[str, ...], ...]) -> Targets:
    active = (codes >= 0).any(axis=1)
    return Targets(rows.astype(np.int64), codes, active, chosen)


def single(alphas: Mapping[str, np.ndarray], variant: str, universe: np.ndarray, rows: np.ndarray,
           k: int) -> Targets:
    """Top ``k`` codes of one variant at each signal row."""
    codes = topk_rows(variant_scores(alphas, variant, rows, universe), k)
    return _finish(codes, rows, ((variant,),) * len(rows))


def _ensemble_scores(alphas: Mapping[str, np.ndarray], variants: Sequence[str], universe: np.ndarray,
                     rows: np.ndarray) -> np.ndarray:
    total = np.zeros((len(rows), universe.shape[1]))
    count = np.zeros_like(total)
    for v in variants:
        z = zscore_rows(variant_scores(alphas, v, rows, universe))
        ok = np.isfinite(z)
        total += np.where(ok, z, 0.0)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def ensemble(alphas: Mapping[str, np.ndarray], variants: Sequence[str], universe: np.ndarray,
             rows: np.ndarray, k: int) -> Targets:
    """Top ``k`` of the mean cross-sectional z-score of the variants."""
    codes = topk_rows(_ensemble_scores(alphas, variants, universe, rows), k)
    return _finish(codes, rows, (tuple(variants),) * len(rows))


def _voting_scores(alphas: Mapping[str, np.ndarray], variants: Sequence[str], universe: np.ndarray,
                   rows: np.ndarray, k: int) -> np.ndarray:
    R, N = len(rows), universe.shape[1]
    scores = [variant_scores(alphas, v, rows, universe) for v in variants]
    tops = [topk_rows(x, k) for x in scores]
    votes = np.zeros((R, N))
    r_idx = np.broadcast_to(np.arange(R)[:, None], (R, k))
    for top in tops:
        ok = top >= 0
        np.add.at(votes, (r_idx[ok], top[ok]), 1.0)
    # summed percentile rank over all variants, needed only for the nominated codes
    cand = np.concatenate(tops, axis=1)
    ranksum = np.zeros(cand.shape)
    for x in scores:
        ranksum += np.nan_to_num(pct_rank_at(x, cand), nan=0.0)
    key = np.full((R, N), np.nan)
    ok = cand >= 0
    rr = np.broadcast_to(np.arange(R)[:, None], cand.shape)
    # votes first; the summed rank (< number of variants + 1) breaks ties
    key[rr[ok], cand[ok]] = votes[rr[ok], cand[ok]] * (len(variants) + 1) + ranksum[ok]
    return key


def voting(alphas: Mapping[str, np.ndarray], variants: Sequence[str], universe: np.ndarray,
           rows: np.ndarray, k: int) -> Targets:
    """Each variant nominates its top ``k``; most votes win, ties by summed percentile rank."""
    codes = topk_rows(_voting_scores(alphas, variants, universe, rows, k), k)
    return _finish(codes, rows, (tuple(variants),) * len(rows))


def adaptive(alphas: Mapping[str, np.ndarray], vic: VariantIC, universe: np.ndarray, rows: np.ndarray,
             k: int, config: AdaptiveConfig | None = None) -> Targets:
    """Re-select ``n_select`` variants by trailing IC_IR at each rebalance, then combine them.

    ``vic`` holds the daily ICs of the candidate variants (:func:`~lasps.backtest.selection.variant_ic`);
    only ICs known at each signal row are used.
    """
    config = config or AdaptiveConfig()
    ir = trailing_ic_ir(vic, rows, config.lookback, config.min_days)
    combine = _voting_scores if config.combine == "voting" else None
    codes = np.full((len(rows), k), -1, dtype=np.int64)
    chosen: list[tuple[str, ...]] = []
    for i, s in enumerate(rows):
        pick = select_top(vic.variants, ir[i], config.n_select)
        chosen.append(pick)
        if not pick:
            continue
        one = np.asarray([s], dtype=np.int64)
        if combine is not None:
            sc = combine(alphas, pick, universe, one, k)
        else:
            sc = _ensemble_scores(alphas, pick, universe, one)
        codes[i] = topk_rows(sc, k)[0]
    return _finish(codes, rows, tuple(chosen))


def build_targets(strategy: str, alphas: Mapping[str, np.ndarray], variants: Sequence[str],
                  universe: np.ndarray, rows: np.ndarray, k: int, *, vic: VariantIC | None = None,
                  adaptive_config: AdaptiveConfig | None = None) -> Targets:
    """Dispatch on ``strategy`` (one of :data:`STRATEGIES`); see each function.

    ``universe`` is the ``(T, N)`` membership mask, ``rows`` the signal rows
    (:func:`rebalance_rows`). ``adaptive`` needs ``vic`` (the candidates' daily ICs).
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}", where="--strategy",
                          fix=f"choose one of {', '.join(STRATEGIES)}")
    if k < 1:
        raise ConfigError(f"top must be >= 1, got {k}", where="--top")
    if not variants:
        raise ConfigError("no alpha variants given", where="--alphas", fix="e.g. --alphas 1,4,44_rev")
    rows = np.asarray(rows, dtype=np.int64)
    if strategy == "single":
        if len(variants) != 1:
            raise ConfigError(f"the single strategy trades one variant, got {len(variants)}: {list(variants)}",
                              where="--alphas", fix="pass one alpha, or use `lasps backtest compare "
                              "--strategies single` to run each variant on its own")
        return single(alphas, variants[0], universe, rows, k)
    if strategy == "ensemble":
        return ensemble(alphas, variants, universe, rows, k)
    if strategy == "voting":
        return voting(alphas, variants, universe, rows, k)
    if vic is None:
        raise ConfigError("the adaptive strategy needs the daily ICs of its candidates", where="vic")
    if tuple(vic.variants) != tuple(variants):
        raise ConfigError("the daily ICs were computed for other variants", where="vic")
    return adaptive(alphas, vic, universe, rows, k, adaptive_config)


__all__ = ["COMBINERS", "STRATEGIES", "AdaptiveConfig", "Targets", "adaptive", "build_targets", "ensemble",
           "pct_rank_at", "pct_rank_rows", "rebalance_rows", "single", "topk_rows", "variant_scores", "voting",
           "zscore_rows"]
