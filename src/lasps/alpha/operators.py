"""Fast operator kernels of the alpha engine (DESIGN.md §3.2), over whole ``(T, N)`` float64 panels.

Time runs down axis 0 (rows = dates, oldest first), codes along axis 1. Every operator takes its panels
positionally, numbers (windows, exponents) as plain Python numbers, and the keyword ``conv`` (a
:class:`~lasps.alpha.conventions.Conventions`). Windows always go through ``conv.window(d)``.

Timing (no look-ahead): a time-series operator with window ``d`` writes row ``t`` from rows
``t-d+1 .. t`` only (``delay``/``delta``: rows ``t-d`` and ``t``); cross-sectional and elementwise
operators write row ``t`` from row ``t`` only. :data:`LOOKBACK` / :func:`lookback` tell the engine how
many extra past rows each operator needs so that it can extend its load window.

NaN rules (the contract; the test vectors in ``conventions/operator_vectors.json`` are the truth):

* time-series results are NaN for the first ``d-1`` rows and wherever any value in the window is NaN;
* ``rank``/``scale``/``indneutralize`` skip NaN cells, which stay NaN;
* elementwise results are NaN where an operand is NaN; ``/`` and ``^`` never return ±inf.

The 181 vectors agree with the DESIGN text. Choices neither fixes, made here (and mirrored in
``reference_ops``): ``stddev``/``covariance`` with ``d = 1`` are NaN (ddof=1 of one value), while
``correlation`` with ``d = 1`` is 0 (every one-row window has zero variance); the zero-variance test
of ``correlation`` uses the population variance; ``signedpower`` also turns non-finite results into
NaN, like ``^``; ``min2``/``max2`` propagate NaN. Panels are expected to be finite or NaN: a ±inf
inside a window makes ``stddev``, ``decay_linear``, ``covariance`` and ``correlation`` NaN there.

Implementation. Moving-window kernels are numba functions, one per operator family, parallel over
blocks of ``_CW`` adjacent columns (rows of a block are contiguous, so the inner loops run over
contiguous memory). Windowed sums use the van Herk/Gil-Werman block scheme: time is cut into blocks of
``d`` rows; a window ending at ``t`` is a suffix of the previous block plus a prefix of the current one,
both accumulated directly (no running "add new, subtract old" updates), so a sum equals a direct
summation of the window to a few ulps, at O(1) cost per cell whatever ``d`` is. Second moments (stddev,
covariance, correlation) and decay weights are accumulated about a shift ``c`` = the value at the block
boundary, which lies inside every window that uses it, so price levels of 1e5 do not cancel away the
variance. The same block scheme gives ``ts_min``/``ts_max``/``ts_argmin``/``ts_argmax`` and
``product`` (no division, so zeros are exact). ``ts_rank`` compares directly (O(d) per cell).
``rank`` sorts each row by an LSD radix sort of 32-bit keys from the values' float32 roundings (a
monotone map), then orders each run of equal keys by the float64 values, which gives the exact
float64 order at half the passes of a 64-bit sort (stable, so ``rank_ties="first"`` is free for exact
ties). ``ts_rank`` screens each cell for near-ties with one bound per cell (a superset of the exact
test, so the sorted walk below runs wherever it is needed).

Ties (``conv.ties``, DESIGN §3.2). ``rank`` walks its sorted row into tie groups anchored at their
smallest value. ``ts_rank`` counts as before and sorts the window only for a cell where some value is
within twice the tolerance of today's without being equal (a near-tie; otherwise today's group is the
equal values). ``ts_argmin`` moves the block scheme's position to the oldest row tied with the
minimum; ``ts_argmax`` to the oldest row of the highest group, sorting the window only when an older
row is a near-tie of the maximum. ``ties="exact"`` skips all of this.

Numba's parallel kernels use the threading layer numba picks (``omp`` here): calling them from
several Python threads at once is safe with ``omp``/``tbb`` but not with ``workqueue``; after a
parallel kernel ran, fork-started worker processes are unsafe with GNU OpenMP (use ``spawn``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange

from lasps.alpha.conventions import DEFAULT, Conventions

__all__ = [
    "FAST_OPS",
    "LOOKBACK",
    "WINDOWED_OPS",
    "abs",
    "add",
    "and_",
    "correlation",
    "covariance",
    "decay_linear",
    "delay",
    "delta",
    "div",
    "eq",
    "ge",
    "gt",
    "indneutralize",
    "le",
    "log",
    "lookback",
    "lt",
    "max2",
    "min2",
    "mul",
    "ne",
    "neg",
    "or_",
    "power",
    "product",
    "rank",
    "scale",
    "sign",
    "signedpower",
    "stddev",
    "sub",
    "ts_argmax",
    "ts_argmin",
    "ts_max",
    "ts_min",
    "ts_rank",
    "ts_sum",
    "where",
]

_CW = 128
"""Columns per parallel block of the moving-window kernels (128 float64 = 1 KiB contiguous a row)."""

_TIES = {"average": 0, "min": 1, "max": 2, "first": 3}
_ZERO_VAR_REL = 1e-12
"""Correlation's zero-variance threshold: population var <= 1e-12 * mean(x**2) of that input."""

ArrayLike = np.ndarray | float | int


# --------------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------------
def _panel(x: Any, name: str = "x") -> np.ndarray:
    """``x`` as a C-contiguous float64 array of shape (T, N); a 1-D series becomes (T, 1)."""
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a (T, N) panel or a (T,) series, got shape {a.shape}")
    return a


def _restore(out: np.ndarray, like: Any) -> np.ndarray:
    """Give ``out`` the original 1-D shape when the input was a (T,) series."""
    return out.reshape(-1) if np.ndim(like) == 1 else out


def _same_shape(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")


def _nan_panel(shape: tuple[int, ...]) -> np.ndarray:
    return np.full(shape, np.nan)


def _float(x: Any) -> np.ndarray:
    """Elementwise operand as float64 (scalars become 0-d arrays; broadcasting does the rest)."""
    return np.asarray(x, dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# numba kernels: moving windows (time = axis 0), parallel over blocks of _CW columns
# --------------------------------------------------------------------------------------------------
@njit(cache=True, parallel=True, error_model="numpy")
def _ts_sum_kernel(x, d):  # pragma: no cover - compiled
    T, N = x.shape
    out = np.empty((T, N))
    nch = (N + _CW - 1) // _CW
    for ch in prange(nch):
        j0 = ch * _CW
        w = min(N, j0 + _CW) - j0
        suf = np.zeros((d + 1, w))  # suf[i] = sum of rows b-d+i .. b-1 (suf[d] = 0: empty)
        acc = np.empty(w)
        for b in range(0, T, d):
            if b > 0:
                for i in range(d - 1, -1, -1):
                    r = b - d + i
                    suf_i = suf[i]
                    suf_i_1 = suf[i + 1]
                    x_r = x[r, j0 : j0 + w]
                    for k in range(w):
                        suf_i[k] = suf_i_1[k] + x_r[k]
            for k in range(w):
                acc[k] = 0.0
            for t in range(b, min(b + d, T)):
                i = t - b + 1  # the window t-d+1 .. t = rows b-d+i .. b-1 plus rows b .. t
                x_t = x[t, j0 : j0 + w]
                out_t = out[t, j0 : j0 + w]
                suf_i = suf[i]
                for k in range(w):
                    acc[k] += x_t[k]
                    out_t[k] = suf_i[k] + acc[k]
        for t in range(min(d - 1, T)):
            out_t = out[t, j0 : j0 + w]
            for k in range(w):
                out_t[k] = np.nan
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def _ts_product_kernel(x, d):  # pragma: no cover - compiled
    T, N = x.shape
    out = np.empty((T, N))
    nch = (N + _CW - 1) // _CW
    for ch in prange(nch):
        j0 = ch * _CW
        w = min(N, j0 + _CW) - j0
        suf = np.ones((d + 1, w))
        acc = np.empty(w)
        for b in range(0, T, d):
            if b > 0:
                for i in range(d - 1, -1, -1):
                    r = b - d + i
                    suf_i = suf[i]
                    x_r = x[r, j0 : j0 + w]
                    suf_i_1 = suf[i + 1]
                    for k in range(w):
                        suf_i[k] = x_r[k] * suf_i_1[k]
            for k in range(w):
                acc[k] = 1.0
            for t in range(b, min(b + d, T)):
                i = t - b + 1
                x_t = x[t, j0 : j0 + w]
                out_t = out[t, j0 : j0 + w]
                suf_i = suf[i]
                for k in range(w):
                    acc[k] *= x_t[k]
                    out_t[k] = suf_i[k] * acc[k]
        for t in range(min(d - 1, T)):
            out_t = out[t, j0 : j0 + w]
            for k in range(w):
                out_t[k] = np.nan
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def _ts_std_kernel(x, d):  # pragma: no cover - compiled
    T, N = x.shape
    out = np.empty((T, N))
    inv_d = 1.0 / d
    inv_dm1 = 1.0 / (d - 1)
    nch = (N + _CW - 1) // _CW
    for ch in prange(nch):
        j0 = ch * _CW
        w = min(N, j0 + _CW) - j0
        s1 = np.zeros((d + 1, w))
        s2 = np.zeros((d + 1, w))
        a1 = np.empty(w)
        a2 = np.empty(w)
        c = np.empty(w)
        for b in range(0, T, d):
            x_b = x[b, j0 : j0 + w]
            for k in range(w):
                c[k] = x_b[k]  # shift: row b lies in every window that uses this block pair
            if b > 0:
                for i in range(d - 1, -1, -1):
                    r = b - d + i
                    x_r = x[r, j0 : j0 + w]
                    s1_i = s1[i]
                    s1_i_1 = s1[i + 1]
                    s2_i = s2[i]
                    s2_i_1 = s2[i + 1]
                    for k in range(w):
                        v = x_r[k] - c[k]
                        s1_i[k] = s1_i_1[k] + v
                        s2_i[k] = s2_i_1[k] + v * v
            for k in range(w):
                a1[k] = 0.0
                a2[k] = 0.0
            for t in range(b, min(b + d, T)):
                i = t - b + 1
                x_t = x[t, j0 : j0 + w]
                s1_i = s1[i]
                s2_i = s2[i]
                out_t = out[t, j0 : j0 + w]
                for k in range(w):
                    v = x_t[k] - c[k]
                    a1[k] += v
                    a2[k] += v * v
                    m1 = s1_i[k] + a1[k]
                    var = (s2_i[k] + a2[k] - m1 * m1 * inv_d) * inv_dm1
                    if var < 0.0:
                        var = 0.0
                    out_t[k] = math.sqrt(var)
        for t in range(min(d - 1, T)):
            out_t = out[t, j0 : j0 + w]
            for k in range(w):
                out_t[k] = np.nan
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def _decay_linear_kernel(x, d):  # pragma: no cover - compiled
    # weight of row r in the window ending at t is r - (t - d) (1 for the oldest, d for today).
    # With u = r - (b - d) (0..2d-1 over the block pair) that is u - (t - b), so
    # sum(w * (x - c)) = sum(u * (x - c)) - (t - b) * sum(x - c), and sum(w) = d (d + 1) / 2.
    T, N = x.shape
    out = np.empty((T, N))
    inv_norm = 2.0 / (d * (d + 1.0))
    nch = (N + _CW - 1) // _CW
    for ch in prange(nch):
        j0 = ch * _CW
        w = min(N, j0 + _CW) - j0
        s1 = np.zeros((d + 1, w))
        su = np.zeros((d + 1, w))
        a1 = np.empty(w)
        au = np.empty(w)
        c = np.empty(w)
        for b in range(0, T, d):
            x_b = x[b, j0 : j0 + w]
            for k in range(w):
                c[k] = x_b[k]
            if b > 0:
                for i in range(d - 1, -1, -1):
                    r = b - d + i
                    x_r = x[r, j0 : j0 + w]
                    s1_i = s1[i]
                    s1_i_1 = s1[i + 1]
                    su_i = su[i]
                    su_i_1 = su[i + 1]
                    for k in range(w):
                        v = x_r[k] - c[k]
                        s1_i[k] = s1_i_1[k] + v
                        su_i[k] = su_i_1[k] + i * v
            for k in range(w):
                a1[k] = 0.0
                au[k] = 0.0
            for t in range(b, min(b + d, T)):
                i = t - b + 1
                u = d + t - b
                lag = t - b
                x_t = x[t, j0 : j0 + w]
                su_i = su[i]
                s1_i = s1[i]
                out_t = out[t, j0 : j0 + w]
                for k in range(w):
                    v = x_t[k] - c[k]
                    a1[k] += v
                    au[k] += u * v
                    ws = (su_i[k] + au[k]) - lag * (s1_i[k] + a1[k])
                    out_t[k] = c[k] + ws * inv_norm
        for t in range(min(d - 1, T)):
            out_t = out[t, j0 : j0 + w]
            for k in range(w):
                out_t[k] = np.nan
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def _ts_cov_kernel(x, y, d, mode, zero_rel):  # pragma: no cover - compiled
    # mode 0: sample covariance; 1: correlation, zero-variance window -> 0; 2: ... -> NaN
    T, N = x.shape
    out = np.empty((T, N))
    inv_d = 1.0 / d
    inv_dm1 = 1.0 / (d - 1) if d > 1 else np.nan
    flat_value = 0.0 if mode == 1 else np.nan
    nch = (N + _CW - 1) // _CW
    for ch in prange(nch):
        j0 = ch * _CW
        w = min(N, j0 + _CW) - j0
        sx = np.zeros((d + 1, w))
        sy = np.zeros((d + 1, w))
        sxx = np.zeros((d + 1, w))
        syy = np.zeros((d + 1, w))
        sxy = np.zeros((d + 1, w))
        ax = np.empty(w)
        ay = np.empty(w)
        axx = np.empty(w)
        ayy = np.empty(w)
        axy = np.empty(w)
        cx = np.empty(w)
        cy = np.empty(w)
        for b in range(0, T, d):
            xb = x[b, j0 : j0 + w]
            yb = y[b, j0 : j0 + w]
            for k in range(w):
                cx[k] = xb[k]
                cy[k] = yb[k]
            if b > 0:
                for i in range(d - 1, -1, -1):
                    r = b - d + i
                    xr = x[r, j0 : j0 + w]  # row slices: the k loops use vector instructions
                    yr = y[r, j0 : j0 + w]
                    sx0, sx1 = sx[i], sx[i + 1]
                    sy0, sy1 = sy[i], sy[i + 1]
                    sxx0, sxx1 = sxx[i], sxx[i + 1]
                    syy0, syy1 = syy[i], syy[i + 1]
                    sxy0, sxy1 = sxy[i], sxy[i + 1]
                    for k in range(w):
                        u = xr[k] - cx[k]
                        v = yr[k] - cy[k]
                        sx0[k] = sx1[k] + u
                        sy0[k] = sy1[k] + v
                        sxx0[k] = sxx1[k] + u * u
                        syy0[k] = syy1[k] + v * v
                        sxy0[k] = sxy1[k] + u * v
            for k in range(w):
                ax[k] = 0.0
                ay[k] = 0.0
                axx[k] = 0.0
                ayy[k] = 0.0
                axy[k] = 0.0
            for t in range(b, min(b + d, T)):
                i = t - b + 1
                xt = x[t, j0 : j0 + w]
                yt = y[t, j0 : j0 + w]
                ot = out[t, j0 : j0 + w]
                sxi, syi, sxxi, syyi, sxyi = sx[i], sy[i], sxx[i], syy[i], sxy[i]
                for k in range(w):
                    u = xt[k] - cx[k]
                    v = yt[k] - cy[k]
                    ax[k] += u
                    ay[k] += v
                    axx[k] += u * u
                    ayy[k] += v * v
                    axy[k] += u * v
                    mx = sxi[k] + ax[k]
                    my = syi[k] + ay[k]
                    cxy = sxyi[k] + axy[k] - mx * my * inv_d  # d * population covariance
                    if mode == 0:
                        ot[k] = cxy * inv_dm1
                        continue
                    # branch-free below (every value is computed, then one is selected), so that the
                    # loop over k can use vector instructions; the selected value is the same
                    vx = sxxi[k] + axx[k] - mx * mx * inv_d  # d * population variance
                    vy = syyi[k] + ayy[k] - my * my * inv_d
                    meanx = cx[k] + mx * inv_d
                    meany = cy[k] + my * inv_d
                    # var <= rel * mean(x^2), with mean(x^2) = var + mean^2 (all times d)
                    flat = (vx <= zero_rel * (vx + d * meanx * meanx)) | (vy <= zero_rel * (vy + d * meany * meany))
                    r = cxy / (math.sqrt(vx) * math.sqrt(vy))
                    r = 1.0 if r > 1.0 else r
                    r = -1.0 if r < -1.0 else r
                    r = flat_value if flat else r
                    ot[k] = np.nan if mx + my != mx + my else r  # a NaN (or inf) in either window
        for t in range(min(d - 1, T)):
            for k in range(w):
                out[t, j0 + k] = np.nan
    return out


@njit(cache=True, inline="always")
def _tied(lo, hi, atol, rtol):  # pragma: no cover - compiled
    """``lo <= hi`` tie (the rule of Conventions.ties): hi joins the group anchored at lo."""
    return hi == lo or hi - lo <= atol + rtol * max(math.fabs(lo), math.fabs(hi))


@njit(cache=True)
def _tied_position(x, j, r0, first, extreme, lowest, atol, rtol, buf):  # pragma: no cover - compiled
    """Oldest row of column ``j`` in ``r0 .. first`` whose value is in the extreme's tie group.

    ``first`` is the oldest row holding the window's exact minimum (``lowest``) or maximum
    ``extreme``. The lowest group is every value tied with the minimum (the anchor). The highest
    group starts at the last anchor of the sorted walk, which is near the maximum: when no older row
    is within twice the tolerance of the maximum, ``first`` is the answer; otherwise the window
    ``r0 .. r0 + len(buf) - 1`` is sorted into ``buf`` and walked.
    """
    if lowest:
        for r in range(r0, first):
            if _tied(extreme, x[r, j], atol, rtol):
                return r
        return first
    near = first
    for r in range(r0, first):
        v = x[r, j]
        if extreme - v <= 2.0 * (atol + rtol * max(math.fabs(v), math.fabs(extreme))):
            near = r
            break
    if near == first:
        return first
    n = buf.shape[0]
    for q in range(n):
        buf[q] = x[r0 + q, j]
    buf.sort()
    anchor = buf[0]
    for q in range(1, n):
        if not _tied(anchor, buf[q], atol, rtol):
            anchor = buf[q]
    for r in range(near, first):
        if x[r, j] >= anchor:
            return r
    return first


@njit(cache=True)
def _window_tie_counts(x, j, r0, n, xt, atol, rtol, buf):  # pragma: no cover - compiled
    """(values in lower tie groups, size of xt's group) for the window ``r0 .. r0 + n - 1``."""
    for q in range(n):
        buf[q] = x[r0 + q, j]
    buf.sort()
    start = 0
    anchor = buf[0]
    for q in range(1, n + 1):
        if q == n or not _tied(anchor, buf[q], atol, rtol):
            if anchor <= xt <= buf[q - 1]:
                return float(start), float(q - start)
            if q < n:
                start = q
                anchor = buf[q]
    return float(start), 1.0  # unreachable: xt is one of the values


@njit(cache=True, parallel=True, error_model="numpy")
def _ts_argmin_kernel(x, d, sgn, want_arg, atol, rtol):  # pragma: no cover - compiled
    # min of sgn * x over the window (sgn = -1 gives max); ties: the oldest row wins; NaN poisons.
    # With a tie tolerance (atol, rtol > 0) the position is then moved to the oldest row of the
    # extreme value's tie group (_tied_position).
    tolerant = want_arg and (atol > 0.0 or rtol > 0.0)
    slack = (1.0 + 1e-6) / (1.0 - 2.0 * rtol) if tolerant else 1.0
    T, N = x.shape
    out = np.empty((T, N))
    nch = (N + _CW - 1) // _CW
    for ch in prange(nch):
        j0 = ch * _CW
        w = min(N, j0 + _CW) - j0
        sv = np.empty((d + 1, w))
        si = np.zeros((d + 1, w), dtype=np.int64)
        av = np.empty(w)
        ai = np.zeros(w, dtype=np.int64)
        buf = np.empty(d)
        ext = np.empty(w)
        pos = np.zeros(w, dtype=np.int64)
        thr = np.empty(w)
        near = np.zeros(w, dtype=np.int32)
        sv_d = sv[d]
        for k in range(w):
            sv_d[k] = np.inf
        for b in range(0, T, d):
            if b > 0:
                for i in range(d - 1, -1, -1):
                    r = b - d + i
                    x_r = x[r, j0 : j0 + w]
                    sv_i_1 = sv[i + 1]
                    sv_i = sv[i]
                    si_i = si[i]
                    si_i_1 = si[i + 1]
                    for k in range(w):  # branch-free selects, so that the loop uses vector instructions
                        v = sgn * x_r[k]
                        take = (v <= sv_i_1[k]) | (v != v)  # equal: the older row r wins; NaN poisons
                        sv_i[k] = v if take else sv_i_1[k]
                        si_i[k] = r if take else si_i_1[k]
            for t in range(b, min(b + d, T)):
                i = t - b + 1
                x_t = x[t, j0 : j0 + w]
                sv_i = sv[i]
                si_i = si[i]
                out_t = out[t, j0 : j0 + w]
                if t == b:
                    for k in range(w):
                        av[k] = sgn * x_t[k]
                        ai[k] = t
                else:
                    for k in range(w):
                        v = sgn * x_t[k]
                        take = v < av[k]  # equal: keep the older one
                        av[k] = v if take | (v != v) else av[k]
                        ai[k] = t if take else ai[k]
                if i == d:  # the window is rows b .. t: the running part alone
                    for k in range(w):
                        ext[k] = av[k]
                        pos[k] = ai[k]
                else:
                    for k in range(w):
                        less = av[k] < sv_i[k]
                        poisoned = (sv_i[k] != sv_i[k]) | (av[k] != av[k])
                        bv = av[k] if less else sv_i[k]
                        pos[k] = ai[k] if less else si_i[k]
                        ext[k] = np.nan if poisoned else bv
                for k in range(w):  # ext: the extreme of sgn * x for now; pos: its oldest row
                    bv = ext[k]
                    res = float(pos[k] - t + d) if want_arg else sgn * bv  # arg: 1 = oldest row, d = today
                    out_t[k] = np.nan if bv != bv else res
                    ext[k] = sgn * bv
                if tolerant and t >= d - 1:
                    # screen: an older row within the band ``thr`` of the extreme (which bounds every
                    # finite tie partner, as in _ts_rank_kernel) or infinite (the rule's tolerance is
                    # then infinite) sends the cell to _tied_position
                    for k in range(w):
                        e = ext[k]
                        thr[k] = 2.0 * (atol + rtol * math.fabs(e)) * slack
                        near[k] = 0
                    for r in range(t - d + 1, t):
                        x_r = x[r, j0 : j0 + w]
                        for k in range(w):
                            v = x_r[k]
                            band = (math.fabs(v - ext[k]) <= thr[k]) | (math.fabs(v) == np.inf)
                            near[k] += np.int32((r < pos[k]) & band)
                    for k in range(w):
                        if near[k] > 0 and ext[k] == ext[k]:
                            bi = _tied_position(x, j0 + k, t - d + 1, pos[k], ext[k], sgn > 0.0, atol, rtol, buf)
                            out_t[k] = bi - t + d
        for t in range(min(d - 1, T)):
            out_t = out[t, j0 : j0 + w]
            for k in range(w):
                out_t[k] = np.nan
    return out


@njit(cache=True)
def _ts_rank_cell(x, j, r0, d, xt, thr, tolerant, atol, rtol, buf):  # pragma: no cover - compiled
    """(values below, size of today's tie group) for column ``j``, window ``r0 .. r0 + d - 1``: exact
    counts, and the sorted walk (``_window_tie_counts``) when a value is near today's but not equal."""
    lo = 0.0
    eq = 0.0
    close = 0.0
    for r in range(r0, r0 + d):
        v = x[r, j]
        lo += v < xt
        eq += v == xt
        close += math.fabs(v - xt) <= thr  # equal values count here too
    if tolerant and close > eq:
        return _window_tie_counts(x, j, r0, d, xt, atol, rtol, buf)
    return lo, eq


@njit(cache=True, parallel=True, error_model="numpy")
def _ts_rank_kernel(x, d, ties, atol, rtol):  # pragma: no cover - compiled
    # One pass over the window per cell counts the values below today's band ``xt - thr`` and those
    # up to ``xt + thr``; ``thr`` (0 for exact ties) bounds every value that could share today's tie
    # group (|v - xt| <= 2 (atol + rtol max(|v|, |xt|)) implies |v - xt| <= 2 (atol + rtol |xt|) /
    # (1 - 2 rtol)). When every value in the band equals today's (the common case, exact ties on
    # tick prices included), the count below the band is the rank's "below" and the equal values are
    # today's group; otherwise the cell is recounted exactly, with the sorted walk for near ties
    # (``_ts_rank_cell``). NaN in the window: a running count per column.
    T, N = x.shape
    out = np.empty((T, N))
    fd = float(d)  # ranks are divided, not multiplied by 1/d: equal ranks stay bit-equal everywhere
    tolerant = atol > 0.0 or rtol > 0.0
    slack = (1.0 + 1e-6) / (1.0 - 2.0 * rtol) if tolerant else 1.0
    nch = (N + _CW - 1) // _CW
    for ch in prange(nch):
        j0 = ch * _CW
        w = min(N, j0 + _CW) - j0
        below = np.empty(w, np.int32)  # int32 counters and row slices: the k loops use vector instructions
        upto = np.empty(w, np.int32)
        same = np.empty(w, np.int32)
        lower = np.empty(w)
        upper = np.empty(w)
        nans = np.zeros(w, np.int32)
        buf = np.empty(d)
        for t in range(min(d - 1, T)):
            xr = x[t, j0 : j0 + w]
            for k in range(w):
                out[t, j0 + k] = np.nan
                nans[k] += np.int32(xr[k] != xr[k])
        for t in range(d - 1, T):
            xr = x[t, j0 : j0 + w]
            for k in range(w):
                xt = xr[k]
                nans[k] += np.int32(xt != xt)
                thr = 2.0 * (atol + rtol * math.fabs(xt)) * slack if tolerant else 0.0
                lower[k] = xt - thr
                upper[k] = xt + thr
                below[k] = 0
                upto[k] = 0
                same[k] = 0
            today = x[t, j0 : j0 + w]
            if t >= d:
                old = x[t - d, j0 : j0 + w]
                for k in range(w):
                    nans[k] -= np.int32(old[k] != old[k])
            for r in range(t - d + 1, t + 1):
                xr = x[r, j0 : j0 + w]
                for k in range(w):
                    v = xr[k]
                    below[k] += np.int32(v < lower[k])
                    upto[k] += np.int32(v <= upper[k])
                    same[k] += np.int32(v == today[k])
            for k in range(w):
                if nans[k] > 0:
                    out[t, j0 + k] = np.nan
                    continue
                lo = float(below[k])
                eq = float(same[k])
                if tolerant and upto[k] - below[k] != same[k]:  # a value near today's, not equal to it
                    xt = x[t, j0 + k]
                    thr = 2.0 * (atol + rtol * math.fabs(xt)) * slack
                    lo, eq = _ts_rank_cell(x, j0 + k, t - d + 1, d, xt, thr, tolerant, atol, rtol, buf)
                if ties == 0:
                    out[t, j0 + k] = (lo + 0.5 * (eq + 1.0)) / fd
                elif ties == 1:
                    out[t, j0 + k] = (lo + 1.0) / fd
                else:  # max, and first (today is the latest of its ties)
                    out[t, j0 + k] = (lo + eq) / fd
    return out


# --------------------------------------------------------------------------------------------------
# numba kernels: cross-sectional (one date = one row), parallel over rows
# --------------------------------------------------------------------------------------------------
_SIGN_BIT32 = np.uint32(1) << np.uint32(31)
_LOW32 = np.uint64(0xFFFFFFFF)
_RUN_INSERTION_MAX = 32
"""Longest run of equal float32 keys that ``_rank_row`` orders by insertion (longer: a merge sort)."""


@njit(cache=True, error_model="numpy")
def _order_run(vals, idx, i, e):  # pragma: no cover - compiled
    """Stable sort of ``vals[i:e]`` (carrying ``idx``); equal values stay in ascending ``idx`` order."""
    if e - i <= _RUN_INSERTION_MAX:
        for q in range(i + 1, e):
            v = vals[q]
            c = idx[q]
            p = q - 1
            while p >= i and vals[p] > v:
                vals[p + 1] = vals[p]
                idx[p + 1] = idx[p]
                p -= 1
            vals[p + 1] = v
            idx[p + 1] = c
        return
    seg = vals[i:e].copy()
    segi = idx[i:e].copy()
    order = np.argsort(seg, kind="mergesort")
    for q in range(e - i):
        vals[i + q] = seg[order[q]]
        idx[i + q] = segi[order[q]]
    q = i
    while q < e:  # equal values: ascending column, whatever the sort's stability
        s = q
        while q + 1 < e and vals[q + 1] == vals[s]:
            q += 1
        if q > s:
            idx[s : q + 1] = np.sort(idx[s : q + 1])
        q += 1


@njit(cache=True, error_model="numpy")
def _rank_row(row, out, f32, keys, keys2, vals, idx, hist, nxt, ties, atol, rtol):  # pragma: no cover - compiled
    """Percentile rank of one row: sort by float32 keys, then order equal-key runs exactly.

    Each non-NaN value's float32 rounding (a monotone map, so it never reverses two values) becomes
    an order-preserving 32-bit key, packed above the column index into one 64-bit word and sorted
    by an LSD radix sort over the key's four bytes (stable: equal keys stay in column order). Values
    whose float32 keys are equal are then ordered by their float64 values (stable), which gives the
    exact float64 order. The sorted values are walked into tie groups (anchored at each group's
    smallest value, ``_tied``); ``ties == 3`` (first) orders a group's members by column.
    """
    n = row.shape[0]
    m = 0
    hist[:, :] = 0
    for j in range(n):
        v = row[j]
        if v == v:
            f32[m] = v + 0.0  # -0.0 -> 0.0, so equal floats have equal keys
            idx[m] = j
            m += 1
        else:
            out[j] = np.nan
    if m == 0:
        return
    bits = f32.view(np.uint32)
    for i in range(m):
        u = bits[i]
        u = ~u if u & _SIGN_BIT32 else u | _SIGN_BIT32
        keys[i] = (np.uint64(u) << np.uint64(32)) | np.uint64(idx[i])
        for p in range(4):
            hist[p, (u >> np.uint32(8 * p)) & np.uint32(255)] += 1
    src_k, dst_k = keys, keys2
    for p in range(4):
        shift = np.uint64(32 + 8 * p)
        if hist[p, (src_k[0] >> shift) & np.uint64(255)] == m:
            continue  # every key has the same byte here: the pass would not move anything
        total = 0
        for c in range(256):
            h = hist[p, c]
            hist[p, c] = total
            total += h
        for i in range(m):
            key = src_k[i]
            c = (key >> shift) & np.uint64(255)
            pos = hist[p, c]
            hist[p, c] = pos + 1
            dst_k[pos] = key
        src_k, dst_k = dst_k, src_k
    unordered = False
    for q in range(m):
        c = np.int64(src_k[q] & _LOW32)
        idx[q] = c
        vals[q] = row[c] + 0.0
        if q > 0 and vals[q] < vals[q - 1]:  # only inside a run of equal float32 keys
            unordered = True
    i = 0
    while unordered and i < m:  # runs of equal float32 keys: put them in exact float64 order
        hi = src_k[i] >> np.uint64(32)
        e = i + 1
        ordered = True
        while e < m and (src_k[e] >> np.uint64(32)) == hi:
            if vals[e] < vals[e - 1]:
                ordered = False
            e += 1
        if not ordered:
            _order_run(vals, idx, i, e)
        i = e
    fm = float(m)  # (half-)integer rank / m, correctly rounded: the same bits as any other exact path
    for q in range(m - 1):  # whether each value is tied with the next (vector instructions)
        lo = vals[q]
        hi = vals[q + 1]
        nxt[q] = (hi == lo) | (hi - lo <= atol + rtol * max(math.fabs(lo), math.fabs(hi)))
    nxt[m - 1] = False
    i = 0
    while i < m:
        if not nxt[i]:  # a group of one (the walk below would stop at once): every tie rule gives i + 1
            out[idx[i]] = (i + 1) / fm
            i += 1
            continue
        e = i
        while e + 1 < m and _tied(vals[i], vals[e + 1], atol, rtol):
            e += 1
        if ties == 3:  # first: column order within the group (the stable sort keeps it for exact ties)
            for q in range(i + 1, e + 1):
                c = idx[q]
                p = q - 1
                while p >= i and idx[p] > c:
                    idx[p + 1] = idx[p]
                    p -= 1
                idx[p + 1] = c
            for q in range(i, e + 1):
                out[idx[q]] = (q + 1) / fm
        else:
            if ties == 0:
                r = 0.5 * (i + e + 2) / fm
            elif ties == 1:
                r = (i + 1) / fm
            else:
                r = (e + 1) / fm
            for q in range(i, e + 1):
                out[idx[q]] = r
        i = e + 1


@njit(cache=True, parallel=True, error_model="numpy")
def _rank_kernel(x, ties, atol, rtol):  # pragma: no cover - compiled
    T, N = x.shape
    out = np.empty((T, N))
    nblk = min(T, 256)
    if nblk == 0:
        return out
    step = (T + nblk - 1) // nblk
    for blk in prange(nblk):
        f32 = np.empty(N, dtype=np.float32)
        keys = np.empty(N, dtype=np.uint64)
        keys2 = np.empty(N, dtype=np.uint64)
        vals = np.empty(N)
        idx = np.empty(N, dtype=np.int64)
        hist = np.empty((4, 256), dtype=np.int64)
        nxt = np.empty(N, dtype=np.bool_)
        for t in range(blk * step, min(T, (blk + 1) * step)):
            _rank_row(x[t], out[t], f32, keys, keys2, vals, idx, hist, nxt, ties, atol, rtol)
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def _scale_kernel(x, a):  # pragma: no cover - compiled
    T, N = x.shape
    out = np.empty((T, N))
    for t in prange(T):
        s = 0.0
        for j in range(N):
            v = x[t, j]
            if v == v:
                s += math.fabs(v)
        f = a / s if s != 0.0 and s == s else np.nan
        for j in range(N):
            out[t, j] = x[t, j] * f
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def _indneutralize_kernel(x, g, ngroups):  # pragma: no cover - compiled
    T, N = x.shape
    out = np.empty((T, N))
    for t in prange(T):
        gt = g[t] if g.shape[0] > 1 else g[0]
        sums = np.zeros(ngroups)
        counts = np.zeros(ngroups)
        for j in range(N):
            k = gt[j]
            v = x[t, j]
            if k >= 0 and v == v:
                sums[k] += v
                counts[k] += 1.0
        for j in range(N):
            k = gt[j]
            v = x[t, j]
            if k >= 0 and v == v:
                out[t, j] = v - sums[k] / counts[k]
            else:
                out[t, j] = np.nan
    return out


# --------------------------------------------------------------------------------------------------
# public operators: cross-sectional
# --------------------------------------------------------------------------------------------------
def rank(x: np.ndarray, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Cross-sectional percentile rank per date, in (0, 1].

    ``x``: (T, N). Row ``t`` of the result uses row ``t`` only. NaN cells are excluded from the count
    and stay NaN; ties follow ``conv.rank_ties`` (default average): rank / (number of non-NaN cells).
    Returns (T, N) float64.
    """
    if np.ndim(x) != 2:
        raise ValueError(f"rank needs a (T, N) panel, got shape {np.shape(x)}")
    a = _panel(x)
    out = _rank_kernel(a, _TIES[conv.rank_ties], *conv.tie_tolerance)
    if conv.rank_scale == "zero_to_one":
        out = _zero_to_one(out, np.sum(~np.isnan(a), axis=1, keepdims=True).astype(np.float64))
    return out


def _zero_to_one(r: np.ndarray, n: np.ndarray | float) -> np.ndarray:
    """Ranks ``k / n`` -> ``(k - 1) / (n - 1)`` (``conv.rank_scale="zero_to_one"``); NaN where n = 1.

    ``k`` is an integer or a half-integer, so ``round(2 r n) / 2`` recovers it exactly.
    """
    k = np.round(r * n * 2.0) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finite_or_nan((k - 1.0) / (n - 1.0))


def scale(x: np.ndarray, a: float = 1.0, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Cross-sectional ``x * a / sum(abs(x))`` per date, NaN cells skipped (and kept NaN).

    ``x``: (T, N); row ``t`` uses row ``t`` only. A zero or all-NaN denominator gives a NaN row.
    Returns (T, N) float64.
    """
    if np.ndim(x) != 2:
        raise ValueError(f"scale needs a (T, N) panel, got shape {np.shape(x)}")
    return _scale_kernel(_panel(x), float(a))


def _groups_2d(groups: Any, n: int, t: int) -> np.ndarray:
    g = np.asarray(groups)
    if g.dtype.kind == "f":
        g = np.where(np.isfinite(g), g, -1.0)
    g = np.ascontiguousarray(g, dtype=np.int64)
    if g.ndim == 1:
        g = g.reshape(1, -1)
    if g.ndim != 2 or g.shape[1] != n or g.shape[0] not in (1, t):
        raise ValueError(f"groups must have shape (N,) or (T, N) = ({t}, {n}), got {np.shape(groups)}")
    return g


def indneutralize(x: np.ndarray, groups: np.ndarray, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x`` minus its cross-sectional mean within each group, per date.

    ``x``: (T, N); ``groups``: (N,) integer group ids (or (T, N) when membership changes over time;
    float ids with NaN are accepted). A negative id (-1 = unknown) gives NaN; NaN cells are skipped in
    the group means and stay NaN. Row ``t`` uses row ``t`` only. Returns (T, N) float64.
    """
    if np.ndim(x) != 2:
        raise ValueError(f"indneutralize needs a (T, N) panel, got shape {np.shape(x)}")
    a = _panel(x)
    g = _groups_2d(groups, a.shape[1], a.shape[0])
    ngroups = int(g.max()) + 1 if g.size else 0
    if ngroups > 4 * a.shape[1] + 64:  # sparse ids (e.g. raw sector codes): renumber 0..K-1
        known = g >= 0
        ids, dense = np.unique(g[known], return_inverse=True)
        g = np.where(known, 0, -1)
        g[known] = dense
        ngroups = ids.size
    return _indneutralize_kernel(a, g, max(ngroups, 1))


# --------------------------------------------------------------------------------------------------
# public operators: time series
# --------------------------------------------------------------------------------------------------
def delay(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x`` shifted down by ``conv.window(d)`` rows (NaN on top).

    ``x``: (T, N) or (T,). Row ``t`` is row ``t - d`` of ``x``. Returns the shape of ``x``.
    """
    a = _panel(x)
    n = conv.window(d)
    out = _nan_panel(a.shape)
    if n < a.shape[0]:
        out[n:] = a[: a.shape[0] - n]
    return _restore(out, x)


def delta(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x - delay(x, d)``: row ``t`` uses rows ``t - d`` and ``t``. ``x``: (T, N) or (T,)."""
    a = _panel(x)
    n = conv.window(d)
    out = _nan_panel(a.shape)
    if n < a.shape[0]:
        np.subtract(a[n:], a[: a.shape[0] - n], out=out[n:])
    return _restore(out, x)


def _windowed(kernel: Callable[..., np.ndarray], x: Any, d: float, conv: Conventions, *extra: Any) -> np.ndarray:
    """Run ``kernel(panel, window, *extra)``; all NaN when the window is longer than the history."""
    a = _panel(x)
    n = conv.window(d)
    if n > a.shape[0] or a.size == 0:
        return _restore(_nan_panel(a.shape), x)
    return _restore(kernel(a, n, *extra), x)


def ts_sum(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Rolling sum over ``d`` rows. ``x``: (T, N) or (T,); row ``t`` uses rows ``t-d+1 .. t``.

    NaN for the first ``d-1`` rows and where the window holds a NaN.
    """
    return _windowed(_ts_sum_kernel, x, d, conv)


def product(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Rolling product over ``d`` rows. ``x``: (T, N) or (T,); row ``t`` uses rows ``t-d+1 .. t``."""
    return _windowed(_ts_product_kernel, x, d, conv)


def stddev(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Rolling sample standard deviation (ddof=1) over ``d`` rows; ``d = 1`` gives NaN everywhere.

    ``x``: (T, N) or (T,); row ``t`` uses rows ``t-d+1 .. t``. A constant window gives exactly 0.
    """
    n = conv.window(d)
    if n == 1:
        a = _panel(x)
        one = _nan_panel(a.shape) if conv.ddof == 1 else np.where(np.isnan(a), np.nan, 0.0)
        return _restore(one, x)
    out = _windowed(_ts_std_kernel, x, d, conv)
    return out * math.sqrt((n - 1) / n) if conv.ddof == 0 else out


def decay_linear(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Linearly decaying weighted mean: weights d (today), d-1, ..., 1 (oldest), normalised to 1.

    ``x``: (T, N) or (T,); row ``t`` uses rows ``t-d+1 .. t``; NaN if the window holds a NaN.
    """
    if conv.decay_nan == "zero":  # NaN counts as 0; NaN only where the window has no value at all
        a = _panel(x)
        missing = np.isnan(a)
        out = _windowed(_decay_linear_kernel, np.where(missing, 0.0, a), d, conv)
        seen = _windowed(_ts_sum_kernel, (~missing).astype(np.float64), d, conv)
        return _restore(np.where(seen > 0.0, out, np.nan), x)
    return _windowed(_decay_linear_kernel, x, d, conv)


def covariance(x: np.ndarray, y: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Rolling sample covariance (ddof=1) of ``x`` and ``y`` over ``d`` rows (0 on a constant window).

    ``x``, ``y``: (T, N) (or (T,)) of equal shape; row ``t`` uses rows ``t-d+1 .. t`` of both; NaN if
    either window holds a NaN; ``d = 1`` gives NaN (ddof=1).
    """
    a, b = _panel(x), _panel(y, "y")
    _same_shape(a, b)
    out = _windowed(lambda p, n: _ts_cov_kernel(p, b, n, 0, _ZERO_VAR_REL), a, d, conv)
    if conv.ddof == 0:
        n = conv.window(d)
        out = out * ((n - 1) / n)
    return _restore(out, x)


def correlation(x: np.ndarray, y: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Rolling Pearson correlation of ``x`` and ``y`` over ``d`` rows, clipped to [-1, 1].

    ``x``, ``y``: (T, N) (or (T,)) of equal shape; row ``t`` uses rows ``t-d+1 .. t`` of both. NaN if
    either window holds a NaN. Where either complete window has zero variance (population variance
    ``<= 1e-12 * mean(v**2)`` of that input) the result is 0 (``conv.zero_variance_corr="zero"``,
    the default) or NaN (``"nan"``).
    """
    a, b = _panel(x), _panel(y, "y")
    _same_shape(a, b)
    mode = 1 if conv.zero_variance_corr == "zero" else 2
    out = _windowed(lambda p, n: _ts_cov_kernel(p, b, n, mode, _ZERO_VAR_REL), a, d, conv)
    return _restore(out, x)


def ts_min(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Rolling minimum over ``d`` rows. ``x``: (T, N) or (T,); row ``t`` uses rows ``t-d+1 .. t``."""
    return _windowed(_ts_argmin_kernel, x, d, conv, 1.0, False, 0.0, 0.0)


def ts_max(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Rolling maximum over ``d`` rows. ``x``: (T, N) or (T,); row ``t`` uses rows ``t-d+1 .. t``."""
    return _windowed(_ts_argmin_kernel, x, d, conv, -1.0, False, 0.0, 0.0)


def ts_argmin(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Position of the window's minimum, 1..d counted from the oldest row (d = today).

    The first (oldest) occurrence wins ties. ``x``: (T, N) or (T,); row ``t`` uses rows ``t-d+1 .. t``.
    """
    return _arg_basis(_windowed(_ts_argmin_kernel, x, d, conv, 1.0, True, *conv.tie_tolerance), d, conv)


def ts_argmax(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Position of the window's maximum, 1..d counted from the oldest row (d = today).

    The first (oldest) occurrence wins ties. ``x``: (T, N) or (T,); row ``t`` uses rows ``t-d+1 .. t``.
    """
    return _arg_basis(_windowed(_ts_argmin_kernel, x, d, conv, -1.0, True, *conv.tie_tolerance), d, conv)


def _arg_basis(pos: np.ndarray, d: float, conv: Conventions) -> np.ndarray:
    """1..d positions from the oldest row, or ``d - pos`` days ago (``conv.arg_basis="days_ago"``)."""
    return conv.window(d) - pos if conv.arg_basis == "days_ago" else pos


def ts_rank(x: np.ndarray, d: float, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Rank of today's value among the window's ``d`` values (ties: ``conv.rank_ties``), divided by d.

    Values in (0, 1]. ``x``: (T, N) or (T,); row ``t`` uses rows ``t-d+1 .. t``; NaN if the window
    holds a NaN.
    """
    out = _windowed(_ts_rank_kernel, x, d, conv, _TIES[conv.rank_ties], *conv.tie_tolerance)
    return _zero_to_one(out, float(conv.window(d))) if conv.rank_scale == "zero_to_one" else out


# --------------------------------------------------------------------------------------------------
# public operators: elementwise (broadcast scalars and arrays; row t uses row t only)
# --------------------------------------------------------------------------------------------------
def _nan_if_any(result: np.ndarray, *operands: np.ndarray) -> np.ndarray:
    mask = np.isnan(operands[0])
    for op in operands[1:]:
        mask = mask | np.isnan(op)
    return np.where(mask, np.nan, result)


def _finite_or_nan(result: np.ndarray) -> np.ndarray:
    result = np.asarray(result, dtype=np.float64)
    if result.ndim == 0:
        return result if np.isfinite(result) else np.asarray(np.nan)
    result[~np.isfinite(result)] = np.nan
    return result


def abs(x: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise absolute value (NaN stays NaN). Any shape, e.g. (T, N); row t uses row t."""
    return np.abs(_float(x))


def log(x: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise natural log; ``x <= 0`` and NaN give NaN. Any shape, e.g. (T, N); row t uses row t."""
    a = _float(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(a > 0.0, a, np.nan))


def sign(x: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise sign: -1, 0 or 1 (NaN stays NaN). Any shape, e.g. (T, N); row t uses row t."""
    return np.sign(_float(x))


def neg(x: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise ``-x``. Any shape, e.g. (T, N); row t uses row t."""
    return np.negative(_float(x))


def signedpower(x: ArrayLike, a: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``sign(x) * abs(x) ** a`` elementwise; non-finite results become NaN. ``x``, ``a`` broadcast."""
    xa = _float(x)
    with np.errstate(all="ignore"):
        return _finite_or_nan(np.sign(xa) * np.power(np.abs(xa), _float(a)))


def power(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x ^ y`` (power, never XOR) elementwise; non-finite results (e.g. (-8) ^ 0.5, 0 ^ -1) → NaN."""
    a, b = _float(x), _float(y)
    if conv.power_negative == "abs":  # |x| ^ y where x < 0 and y is not an integer
        a = np.where((a < 0.0) & np.isfinite(b) & (b != np.round(b)), np.abs(a), a)
    with np.errstate(all="ignore"):
        return _finite_or_nan(np.power(a, b))


def add(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise ``x + y``; (T, N) panels and numbers broadcast; row t uses row t."""
    return np.add(_float(x), _float(y))


def sub(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise ``x - y``; (T, N) panels and numbers broadcast; row t uses row t."""
    return np.subtract(_float(x), _float(y))


def mul(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise ``x * y``; (T, N) panels and numbers broadcast; row t uses row t."""
    return np.multiply(_float(x), _float(y))


def div(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise ``x / y``; division by zero (and any other non-finite result) gives NaN, never ±inf."""
    with np.errstate(all="ignore"):
        return _finite_or_nan(np.divide(_float(x), _float(y)))


def min2(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise minimum of two series; NaN if either is NaN.

    The paper's ``min(x, d)`` with a number ``d`` means ``ts_min(x, d)``: the compiler dispatches it.
    """
    return (np.fmin if conv.minmax_nan == "skip" else np.minimum)(_float(x), _float(y))


def max2(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Elementwise maximum of two series; NaN if either is NaN (``max(x, d)`` means ``ts_max``)."""
    return (np.fmax if conv.minmax_nan == "skip" else np.maximum)(_float(x), _float(y))


def _compare(f: Callable[[np.ndarray, np.ndarray], np.ndarray], x: ArrayLike, y: ArrayLike) -> np.ndarray:
    a, b = _float(x), _float(y)
    with np.errstate(invalid="ignore"):
        return _nan_if_any(f(a, b).astype(np.float64), a, b)


def lt(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x < y`` as 1.0/0.0; NaN where an operand is NaN.

    (T, N) panels and numbers broadcast; row t uses row t.
    """
    return _compare(np.less, x, y)


def le(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x <= y`` as 1.0/0.0; NaN where an operand is NaN.

    (T, N) panels and numbers broadcast; row t uses row t.
    """
    return _compare(np.less_equal, x, y)


def gt(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x > y`` as 1.0/0.0; NaN where an operand is NaN.

    (T, N) panels and numbers broadcast; row t uses row t.
    """
    return _compare(np.greater, x, y)


def ge(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x >= y`` as 1.0/0.0; NaN where an operand is NaN.

    (T, N) panels and numbers broadcast; row t uses row t.
    """
    return _compare(np.greater_equal, x, y)


def eq(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x == y`` as 1.0/0.0; NaN where an operand is NaN.

    (T, N) panels and numbers broadcast; row t uses row t.
    """
    return _compare(np.equal, x, y)


def ne(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``x != y`` as 1.0/0.0; NaN where an operand is NaN.

    (T, N) panels and numbers broadcast; row t uses row t.
    """
    return _compare(np.not_equal, x, y)


def and_(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Logical ``x && y`` (non-zero = true) as 1.0/0.0; NaN where an operand is NaN."""
    return _compare(lambda a, b: np.logical_and(a != 0.0, b != 0.0), x, y)


def or_(x: ArrayLike, y: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """Logical ``x || y`` (non-zero = true) as 1.0/0.0; NaN where an operand is NaN.

    ``conv.or_nan="kleene"``: 1.0 where either operand is true, even if the other is NaN.
    """
    out = _compare(lambda a, b: np.logical_or(a != 0.0, b != 0.0), x, y)
    if conv.or_nan == "kleene":
        a, b = _float(x), _float(y)
        true = ((a != 0.0) & ~np.isnan(a)) | ((b != 0.0) & ~np.isnan(b))
        out = np.where(true, 1.0, out)
    return out


def where(c: ArrayLike, a: ArrayLike, b: ArrayLike, *, conv: Conventions = DEFAULT) -> np.ndarray:
    """``c ? a : b`` elementwise (``c`` non-zero = true); NaN where ``c`` is NaN.

    (T, N) panels and numbers broadcast; row t uses row t.
    """
    cc = _float(c)
    out = np.where(cc != 0.0, _float(a), _float(b)).astype(np.float64)
    return _nan_if_any(out, cc)


# --------------------------------------------------------------------------------------------------
# registries
# --------------------------------------------------------------------------------------------------
FAST_OPS: dict[str, Callable[..., np.ndarray]] = {
    "rank": rank,
    "delay": delay,
    "delta": delta,
    "correlation": correlation,
    "covariance": covariance,
    "scale": scale,
    "signedpower": signedpower,
    "decay_linear": decay_linear,
    "indneutralize": indneutralize,
    "ts_min": ts_min,
    "ts_max": ts_max,
    "ts_argmin": ts_argmin,
    "ts_argmax": ts_argmax,
    "ts_rank": ts_rank,
    "ts_sum": ts_sum,
    "product": product,
    "stddev": stddev,
    "abs": abs,
    "log": log,
    "sign": sign,
    "power": power,
    "min2": min2,
    "max2": max2,
    "lt": lt,
    "le": le,
    "gt": gt,
    "ge": ge,
    "eq": eq,
    "ne": ne,
    "and_": and_,
    "or_": or_,
    "where": where,
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "neg": neg,
}
"""Operator name -> fast kernel. Same keys as ``reference_ops.REFERENCE_OPS``."""

WINDOWED_OPS: dict[str, int] = {
    # name -> position of the window argument among the positional arguments
    "delay": 1,
    "delta": 1,
    "ts_sum": 1,
    "product": 1,
    "stddev": 1,
    "decay_linear": 1,
    "ts_min": 1,
    "ts_max": 1,
    "ts_argmin": 1,
    "ts_argmax": 1,
    "ts_rank": 1,
    "correlation": 2,
    "covariance": 2,
}
"""Windowed operators and the index of their window argument (``d``)."""


def _window_lookback(d: float | None, conv: Conventions = DEFAULT) -> int:
    return conv.window(d) - 1  # type: ignore[arg-type]


def _shift_lookback(d: float | None, conv: Conventions = DEFAULT) -> int:
    return conv.window(d)  # type: ignore[arg-type]


def _no_lookback(d: float | None = None, conv: Conventions = DEFAULT) -> int:
    return 0


LOOKBACK: dict[str, Callable[[float | None, Conventions], int]] = {
    name: (
        _shift_lookback if name in ("delay", "delta") else _window_lookback if name in WINDOWED_OPS else _no_lookback
    )
    for name in FAST_OPS
}
"""Operator name -> ``f(window, conv)``: extra past rows needed (d-1 for windows, d for delay/delta,
0 for cross-sectional and elementwise operators, whose window argument is ignored)."""


def lookback(op: str, window: float | None = None, conv: Conventions = DEFAULT) -> int:
    """Extra past rows operator ``op`` needs beyond the rows it outputs.

    ``d - 1`` for a window of ``d`` rows (``conv.window(window)``), ``d`` for ``delay``/``delta``,
    0 otherwise. Raises ``KeyError`` for an unknown operator.
    """
    return LOOKBACK[op](window, conv)
