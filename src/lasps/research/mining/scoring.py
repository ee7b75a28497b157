"""Candidate values and their daily rank IC: batches through the shared-subexpression engine.

One :class:`ScoringContext` per panel holds what every candidate shares: the forward returns (default
next-open entry, h = 5; :mod:`lasps.research.forward`), the universe mask, the forward returns' row
sort (:func:`lasps.research.kernels.sort_rows`, done once) and the rows whose z-scored ranks are kept as
the candidate's **fingerprint** (value correlation for near-duplicate detection). A batch of formulas
is compiled into **one** engine program (:func:`lasps.alpha.engine.compile_alphas`), so identical
sub-expressions across the batch are computed once; each finished ``(T, N)`` array is reduced at once
to its daily IC ``(T,)`` and fingerprint ``(R, N)`` float32 and dropped. Memory is therefore the panel
inputs, the context (forward returns, sort, mask: ~3 ``(T, N)`` arrays) and the engine's live set for
one batch — bounded by the batch size, independent of the number of trials.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit, prange

from lasps.alpha.catalogue import AlphaSpec
from lasps.alpha.engine import compile_alphas
from lasps.alpha.parser import Node
from lasps.data.panel import Panel
from lasps.research import kernels
from lasps.research.forward import panel_forward_returns

__all__ = ["ScoringContext", "fingerprint_corr", "rank_ic_rows", "score_formulas", "unit_fingerprint"]

_BLOCK = 32


@njit(cache=True, parallel=True)
def rank_ic_rows(a: np.ndarray, fwd: np.ndarray, mask: np.ndarray, rows: np.ndarray, forder: np.ndarray,
                 fcount: np.ndarray, franks: np.ndarray, min_names: int) -> np.ndarray:  # pragma: no cover - compiled
    """``(T,)`` daily Spearman rank IC of ``a`` with ``fwd`` (both ``(T, N)``) on the rows where ``rows``
    (bool ``(T,)``) is True (NaN elsewhere) — the same statistic as :func:`lasps.research.ic.rank_ic`
    (pairs inside ``mask`` with both values finite, average ranks for ties, NaN below ``min_names``
    pairs or for a constant side), without the quantile work of the full evaluation kernel.

    ``forder``/``fcount``/``franks`` are :func:`lasps.research.kernels.sort_rows` of ``fwd`` under
    ``mask``. ``franks`` are the pairs' forward ranks whenever every name with a forward return has a
    value (the common case); otherwise the forward returns are re-ranked on the pairs by one walk of
    the shared order ``forder`` (no second sort). Only the alpha's row is sorted."""
    T, N = a.shape
    out = np.full(T, np.nan)
    nblocks = (T + _BLOCK - 1) // _BLOCK
    for blk in prange(nblocks):
        cand, f32, vals, keys, kbuf, ibuf, hist = kernels.sort_buffers(N)
        fr = np.empty(N, np.float64)  # forward rank among the pairs, by column (when re-ranked)
        paired = np.zeros(N, np.bool_)
        for t in range(blk * _BLOCK, min(T, (blk + 1) * _BLOCK)):
            if not rows[t]:
                continue
            row = a[t]
            frow = fwd[t]
            n = 0
            for i in range(N):
                if mask[t, i] and np.isfinite(row[i]) and np.isfinite(frow[i]):
                    cand[n] = i
                    n += 1
            if n < min_names or n < 2:
                continue
            fast = n == fcount[t]  # the pairs are then exactly the names with a forward return
            if not fast:  # average ranks of the forward returns among the pairs, along the shared order
                for j in range(n):
                    paired[cand[j]] = True
                fc = fcount[t]
                k = 0
                j = 0
                while j < fc:
                    fv = frow[forder[t, j]]
                    e = j
                    cnt = 0
                    while e < fc and frow[forder[t, e]] == fv:
                        if paired[forder[t, e]]:
                            cnt += 1
                        e += 1
                    if cnt > 0:
                        r = k + (cnt + 1) * 0.5
                        for jj in range(j, e):
                            c = forder[t, jj]
                            if paired[c]:
                                fr[c] = r
                        k += cnt
                    j = e
                for j in range(n):
                    paired[cand[j]] = False
            kernels._sort_row(row, cand, n, f32, vals, keys, kbuf, ibuf, hist)
            sxy = 0.0
            sxx = 0.0
            syy = 0.0
            s = 0
            while s < n:
                e = s + 1
                while e < n and vals[e] == vals[s]:
                    e += 1
                r = (s + e + 1) * 0.5
                for j in range(s, e):
                    c = cand[j]
                    y = np.float64(franks[t, c]) if fast else fr[c]
                    sxy += r * y
                    sxx += r * r
                    syy += y * y
                s = e
            m = (n + 1) * 0.5
            cov = sxy - n * m * m
            vx = sxx - n * m * m
            vy = syy - n * m * m
            if vx > 1e-9 and vy > 1e-9:
                out[t] = min(1.0, max(-1.0, cov / np.sqrt(vx * vy)))
    return out


def _zranks(values: np.ndarray, mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(R, N)`` float32 z-scored average ranks of ``values[rows]`` within ``mask`` (NaN outside; a row
    with fewer than two distinct values is all NaN). Ranks from :func:`lasps.research.kernels.sort_rows_serial`
    (exact half-integers, the same as ``pandas.DataFrame.rank(method="average")``); rows holding an
    infinite value inside the mask, which pandas ranks as a value, are ranked by pandas."""
    if not len(rows):
        return np.zeros((0, values.shape[1]), np.float32)
    x = np.ascontiguousarray(values[rows], dtype=np.float64)
    m = np.ascontiguousarray(mask[rows], dtype=bool)
    r = kernels.sort_rows_serial(x, m)[2].astype(np.float64)
    inf = (np.isinf(x) & m).any(axis=1)
    if inf.any():
        r[inf] = pd.DataFrame(np.where(m[inf], x[inf], np.nan)).rank(axis=1, method="average").to_numpy(np.float64)
    n = np.isfinite(r).sum(axis=1, keepdims=True).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(n > 0, np.nansum(r, axis=1, keepdims=True) / n, np.nan)
        sd = np.sqrt(np.nansum((r - mu) ** 2, axis=1, keepdims=True) / n)
        z = (r - mu) / np.where(sd > 0, sd, np.nan)
    return z.astype(np.float32)


@dataclass(frozen=True)
class ScoringContext:
    """Shared inputs of every candidate on one panel (see the module docstring).

    Attributes
    ----------
    fwd:
        ``(T, N)`` forward returns dated by signal row; ``known_row`` ``(T,)`` when each is known.
    horizon:
        ``h`` in sessions (IC t-stats use Newey–West with lag ``h - 1``).
    forder, fcount, franks:
        :func:`lasps.research.kernels.sort_rows` of ``fwd`` under ``mask`` (``(T, N)`` int32, ``(T,)``,
        ``(T, N)`` float32), shared by every candidate's :func:`rank_ic_rows`.
    fp_rows:
        ``(R,)`` rows whose z-scored ranks form the fingerprint.
    """

    fwd: np.ndarray
    known_row: np.ndarray
    mask: np.ndarray
    forder: np.ndarray
    fcount: np.ndarray
    franks: np.ndarray
    fp_rows: np.ndarray
    horizon: int
    min_names: int

    @classmethod
    def build(cls, panel: Panel, horizon: int = 5, entry: str = "open", fp_rows: Sequence[int] = (),
              min_names: int = 10) -> ScoringContext:
        fr = panel_forward_returns(panel, horizon, entry)
        fwd = np.ascontiguousarray(fr.values)
        mask = np.ascontiguousarray(panel.universe_mask, dtype=bool)
        forder, fcount, franks = kernels.sort_rows(fwd, mask)
        rows = np.asarray(sorted(set(int(r) for r in fp_rows)), dtype=np.int64)
        return cls(fwd, fr.known_row, mask, forder, fcount, franks, rows, int(horizon), int(min_names))

    def reduce(self, values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(T,)`` daily rank IC on ``rows`` (bool ``(T,)``) and the ``(R, N)`` float32 z-scored ranks of
        one ``(T, N)`` candidate at the fingerprint rows."""
        a = np.ascontiguousarray(values, dtype=np.float64)
        ic = rank_ic_rows(a, self.fwd, self.mask, rows, self.forder, self.fcount, self.franks, self.min_names)
        return ic, _zranks(a, self.mask, self.fp_rows)


def score_formulas(panel: Panel, ctx: ScoringContext, formulas: Sequence[Node | str], rows: np.ndarray
                   ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Compile ``formulas`` as one program over ``panel`` and yield ``(index, ic, fingerprint)`` per
    formula as the engine finishes it (order of completion, not of the input); the IC is computed on
    the signal rows where ``rows`` is True."""
    specs = [AlphaSpec.build(f"c{i}", str(f), id=None, kind="user") for i, f in enumerate(formulas)]
    program = compile_alphas(specs, panel)
    for name in program.unavailable:  # the caller only offers formulas on available inputs
        raise ValueError(f"candidate {name} is unavailable: {program.unavailable[name]}")
    for name, values in program.run(panel):
        ic, fp = ctx.reduce(values, rows)
        yield int(name[1:]), ic, fp


def unit_fingerprint(z: np.ndarray) -> np.ndarray:
    """Flattened ``(R * N,)`` float32 fingerprint: the z-scored ranks with NaN -> 0 (the mean rank),
    scaled to unit length (an all-NaN fingerprint stays 0)."""
    v = np.nan_to_num(np.asarray(z, dtype=np.float32).ravel(), nan=0.0)
    n = float(np.sqrt(np.dot(v, v)))
    return v / np.float32(n) if n > 0 else v


def fingerprint_corr(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """``(len(a), len(b))`` value correlation of unit fingerprints (:func:`unit_fingerprint`): the cosine of
    their z-scored ranks over the fingerprint rows (cells without a value count as the mean rank)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    return (np.stack(a) @ np.stack(b).T).astype(np.float64)
