"""Alpha variants and their IC-based selection, with no look-ahead.

A **variant** is an alpha in one direction: ``alpha_044`` (high values are bought) or ``alpha_044_rev``
(= -alpha_044, low values are bought), DESIGN §4.

Timing (:mod:`lasps.research.forward`): the daily rank IC of signal row ``u`` compares the alpha at the
close of ``u`` with the forward return from the open of ``u + 1`` to the open of ``u + 1 + h``; it is
**known at row** ``u + 1 + h``. A decision at the close of row ``s`` may use only ICs with
``known_row <= s``. :func:`trailing_ic_ir` (adaptive strategy) enforces this per decision row;
:func:`masked_ic_ir` is used over a purged selection period (:func:`lasps.backtest.alphas.period_mask`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lasps.errors import ConfigError
from lasps.research.forward import forward_returns
from lasps.research.ic import ic_stats, rank_ic
from lasps.research.selection import prefix_sums, top_k, trailing_window, window_sum
from lasps.research.timing import Timing
from lasps.research.variants import REV_SUFFIX, split_variant


def variant_values(alphas: Mapping[str, np.ndarray], variant: str) -> tuple[np.ndarray, float]:
    """``(alpha array, sign)`` of ``variant``; raises :class:`ConfigError` when its alpha is missing."""
    base, sign = split_variant(variant)
    if base not in alphas:
        raise ConfigError(f"no values for alpha {base!r} (variant {variant!r})", where="--alphas",
                          fix="compute it first (`lasps alpha compute`) or choose another alpha")
    return alphas[base], sign


@dataclass(frozen=True)
class VariantIC:
    """Daily rank IC of each variant.

    Attributes
    ----------
    variants:
        ``V`` variant names.
    ic:
        ``(V, T)`` daily rank IC by signal row (NaN where undefined).
    known_row:
        ``(T,)`` row at which the IC of each signal row is known (``t + 1 + h``).
    horizon:
        Forward-return horizon ``h`` in sessions.
    """

    variants: tuple[str, ...]
    ic: np.ndarray
    known_row: np.ndarray
    horizon: int

    @property
    def lag(self) -> int:
        """Rows from a signal to the moment its IC is known (``h + 1``)."""
        return int(self.known_row[0]) if len(self.known_row) else Timing("open", self.horizon).lag


def variant_ic(alphas: Mapping[str, np.ndarray], variants: Sequence[str], open_: np.ndarray,
               universe: np.ndarray, horizon: int = 5) -> VariantIC:
    """Daily rank IC (next-open entry, ``horizon`` sessions) of every variant over the universe.

    Each alpha's IC is computed once (:func:`lasps.research.ic.rank_ic`); a ``_rev`` variant's IC is
    its negation.
    """
    fwd = forward_returns(open_, None, horizon, "open")
    cache: dict[str, np.ndarray] = {}
    rows = []
    for v in variants:
        base, sign = split_variant(v)
        if base not in cache:
            arr, _ = variant_values(alphas, base)
            cache[base] = rank_ic(arr, fwd.values, universe)
        rows.append(sign * cache[base])
    T = np.asarray(open_).shape[0]
    ic = np.vstack(rows) if rows else np.zeros((0, T))
    return VariantIC(tuple(variants), ic, fwd.known_row, int(horizon))


def trailing_ic_ir(vic: VariantIC, rows: np.ndarray, lookback: int, min_days: int) -> np.ndarray:
    """``(R, V)`` IC_IR (mean / std, ddof 1) of each variant over the last ``lookback`` signal rows
    whose IC is known at each decision row in ``rows`` (:func:`lasps.research.selection.trailing_window`).

    For decision row ``s`` the window is signal rows ``[s - lag - lookback + 1, s - lag]`` with
    ``lag = h + 1``; fewer than ``min_days`` finite ICs (or zero spread) give NaN.
    """
    if lookback < 2:
        raise ConfigError(f"lookback must be >= 2 sessions, got {lookback}", where="--lookback")
    ic = vic.ic
    _, T = ic.shape
    rows = np.asarray(rows, dtype=np.int64)
    ok = np.isfinite(ic)
    x = np.where(ok, ic, 0.0)
    c1, c2, cn = prefix_sums(x), prefix_sums(x * x), prefix_sums(ok.astype(float))
    lo, hi = trailing_window(rows, vic.lag, lookback, n_rows=T)
    n = window_sum(cn, lo, hi).T
    s1 = window_sum(c1, lo, hi).T
    s2 = window_sum(c2, lo, hi).T
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = (s2 - n * mean * mean) / (n - 1)
        ir = mean / np.sqrt(var)
    ir[(n < max(min_days, 2)) | ~(var > 1e-18)] = np.nan
    return ir


def masked_ic_ir(ic: np.ndarray, mask: np.ndarray, horizon: int) -> np.ndarray:
    """``(V,)`` IC_IR (:func:`lasps.research.ic.ic_stats`) of each row of ``(V, T)`` ``ic`` over the signal
    rows where ``mask`` is True (see :func:`lasps.backtest.alphas.period_mask` for a purged period)."""
    ic = np.atleast_2d(np.asarray(ic, dtype=np.float64))
    mask = np.asarray(mask, dtype=bool)
    return np.array([ic_stats(ic[i, mask], max(horizon - 1, 0)).ic_ir for i in range(ic.shape[0])])


def select_top(variants: Sequence[str], scores: np.ndarray, n: int) -> tuple[str, ...]:
    """The ``n`` variants with the highest finite ``scores`` (ties by name); NaN scores never chosen."""
    variants = list(variants)
    if len(variants) != len(scores):
        raise ValueError(f"{len(variants)} variants but {len(scores)} scores")
    return tuple(variants[i] for i in top_k(np.asarray(scores, dtype=np.float64), n, tie_keys=variants))


__all__ = ["REV_SUFFIX", "VariantIC", "masked_ic_ir", "select_top", "split_variant", "trailing_ic_ir",
           "variant_ic", "variant_values"]
