"""Numba kernels of the evaluation: one pass per alpha over every date, parallel over dates.

Everything here works on ``(T, N)`` float64 panels (rows = dates, oldest first; columns = codes) and
is called through :mod:`lasps.research.evaluate`; users never call these directly.

Sorting. Each row is ranked with an LSD radix sort of the high bits of the values' **float32** images
(22 bits in two passes of 11 from 1,500 names, else 24 bits in three passes of 8), carrying the column
index; float32 rounding and dropping low bits are monotone, so the result is the exact float64 order
once every run of equal keys that is out of order is re-sorted by its float64 values
(:func:`lasps.alpha.operators._order_run`: insertion, or a merge sort for long runs; stable, so equal
values stay in column order and ``-0.0`` stays before ``0.0``). This is ~10x faster than
``np.argsort`` per row, which would dominate the evaluation of 202 variants.

Ranks are *average* ranks (ties share the mean of their positions), kept as the integer ``2r``
(``r`` is then a multiple of 1/2) so that quantile buckets are computed in exact integer arithmetic.

Quantile rule (identical to ``pandas.qcut`` on the values when there are no ties, i.e. to
alphalens): with ``n`` names having an alpha value and average rank ``r`` in ``1..n``, the bucket is
``max(1, ceil(Q * (r - 1) / (n - 1)))`` in ``1..Q``; ties share a bucket. The reverse direction uses the
mirrored rank ``n + 1 - r`` in the same pass (no second sort).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from lasps.alpha.operators import _order_run

_BLOCK = 32  # rows per parallel task (scratch arrays are allocated once per task)
_N_WIDE = 1500  # from this many keys, radix digits of 11 bits (below: 8 bits)


@njit(cache=True, nogil=True)
def _f32_keys(vals: np.ndarray, n: int, f32: np.ndarray, keys: np.ndarray, shift: int) -> None:  # pragma: no cover
    """``keys[:n]`` = order-preserving uint32 images of ``float32(vals[:n])``, shifted right by ``shift``
    bits (the key's ``32 - shift`` high bits: a coarser but still monotone key)."""
    for j in range(n):
        f32[j] = np.float32(vals[j])
    bits = f32.view(np.uint32)
    sh = np.uint32(shift)
    for j in range(n):
        b = bits[j]
        if b & np.uint32(0x80000000):
            keys[j] = (~b) >> sh
        else:
            keys[j] = (b | np.uint32(0x80000000)) >> sh


@njit(cache=True, nogil=True)
def _radix_sort(keys: np.ndarray, idx: np.ndarray, n: int, kbuf: np.ndarray, ibuf: np.ndarray,
                hist: np.ndarray, width: int, passes: int) -> None:  # pragma: no cover
    """Stable LSD radix sort of ``keys[:n]`` (uint32 below ``2 ** (width * passes)``) carrying
    ``idx[:n]``, in place: ``passes`` passes of ``width`` bits; a pass whose digit is the same for
    every key is skipped.

    ``hist`` is ``(2 * passes, >= 2 ** width)`` int32 scratch. The digit counts are kept in two copies
    (even and odd positions) so that runs of equal digits, common in the high digits and in tie-heavy
    rows, do not serialise the counting on one counter.
    """
    if n == 0:
        return
    nb = 1 << width
    dmask = np.uint32(nb - 1)
    hist[: 2 * passes, :nb] = 0
    for p in range(passes):
        sh = np.uint32(width * p)
        h0 = hist[2 * p]
        h1 = hist[2 * p + 1]
        j = 0
        while j + 1 < n:
            h0[(keys[j] >> sh) & dmask] += 1
            h1[(keys[j + 1] >> sh) & dmask] += 1
            j += 2
        if j < n:
            h0[(keys[j] >> sh) & dmask] += 1
    in_buf = False
    for p in range(passes):
        sh = np.uint32(width * p)
        h0 = hist[2 * p]
        h1 = hist[2 * p + 1]
        d0 = (keys[0] >> sh) & dmask
        if h0[d0] + h1[d0] == n:
            continue  # every key has this digit: the pass would not move anything
        s = 0
        for d in range(nb):
            c = h0[d] + h1[d]
            h0[d] = s
            s += c
        if in_buf:
            for j in range(n):
                k = kbuf[j]
                d = (k >> sh) & dmask
                o = h0[d]
                keys[o] = k
                idx[o] = ibuf[j]
                h0[d] = o + 1
        else:
            for j in range(n):
                k = keys[j]
                d = (k >> sh) & dmask
                o = h0[d]
                kbuf[o] = k
                ibuf[o] = idx[j]
                h0[d] = o + 1
        in_buf = not in_buf
    if in_buf:
        for j in range(n):
            keys[j] = kbuf[j]
            idx[j] = ibuf[j]


@njit(cache=True, nogil=True)
def new_hist() -> np.ndarray:  # pragma: no cover
    """Scratch counts for :func:`_sort_row` (one per parallel task)."""
    return np.empty((6, 2048), np.int32)


@njit(cache=True, nogil=True)
def sort_buffers(N: int):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Scratch arrays of :func:`_sort_row` for rows of ``N`` names (one set per parallel task):
    ``cand`` (int32), ``f32``, ``vals`` (float64), ``keys``, ``kbuf`` (uint32), ``ibuf`` (int32), ``hist``."""
    return (np.empty(N, np.int32), np.empty(N, np.float32), np.empty(N, np.float64), np.empty(N, np.uint32),
            np.empty(N, np.uint32), np.empty(N, np.int32), new_hist())


@njit(cache=True, inline="always")
def _pair_terms(fast: bool, franks: np.ndarray, t: int, c: int, rr: float, ra: np.ndarray,
                paired: np.ndarray) -> tuple[float, float, float]:  # pragma: no cover
    """IC terms ``(rr * rf, rr * rr, rf * rf)`` of one (alpha, forward return) pair with alpha rank ``rr``
    when the shared forward ranks apply (``fast``); otherwise ``rr`` is recorded for the re-ranking walk
    and the terms are 0."""
    if fast:
        rf = franks[t, c]
        return rr * rf, rr * rr, rf * rf
    ra[c] = rr
    paired[c] = True
    return 0.0, 0.0, 0.0


@njit(cache=True, nogil=True)
def _sort_row(row: np.ndarray, cand: np.ndarray, n: int, f32: np.ndarray, vals: np.ndarray,
              keys: np.ndarray, kbuf: np.ndarray, ibuf: np.ndarray, hist: np.ndarray) -> None:  # pragma: no cover
    """Sort ``cand[:n]`` (column indices, ascending on entry) by ``row[cand]`` ascending, exactly
    (float64 order; equal values in ascending column, ``-0.0`` before ``0.0``); on return ``vals[:n]``
    holds the sorted values.

    The radix sort runs on the high 22 bits of the float32 key (24 bits below ``_N_WIDE`` names), so
    the top digit pass is skipped: two passes of 11 bits (three of 8). Runs of equal coarse keys
    that are not already in order are then ordered by their float64 values
    (:func:`lasps.alpha.operators._order_run`, stable: equal values keep the column order).
    """
    for j in range(n):
        vals[j] = row[cand[j]]
    if n >= _N_WIDE:
        _f32_keys(vals, n, f32, keys, 10)
        _radix_sort(keys, cand, n, kbuf, ibuf, hist, 11, 2)
    else:
        _f32_keys(vals, n, f32, keys, 8)
        _radix_sort(keys, cand, n, kbuf, ibuf, hist, 8, 3)
    for j in range(n):
        vals[j] = row[cand[j]]
    s = 0
    while s < n:
        k = keys[s]
        e = s + 1
        ordered = True
        while e < n and keys[e] == k:
            if vals[e] < vals[e - 1]:
                ordered = False
            e += 1
        if not ordered:
            _order_run(vals, cand, s, e)
        s = e


@njit(cache=True, nogil=True)
def _sort_block(x: np.ndarray, mask: np.ndarray, lo: int, hi: int, order: np.ndarray, count: np.ndarray,
                ranks: np.ndarray) -> None:  # pragma: no cover
    """Rows ``lo..hi-1`` of :func:`sort_rows` into its (pre-filled) outputs."""
    N = x.shape[1]
    cand, f32, vals, keys, kbuf, ibuf, hist = sort_buffers(N)
    for t in range(lo, hi):
        row = x[t]
        n = 0
        for i in range(N):
            if mask[t, i] and np.isfinite(row[i]):
                cand[n] = i
                n += 1
        _sort_row(row, cand, n, f32, vals, keys, kbuf, ibuf, hist)
        s = 0
        while s < n:
            e = s + 1
            v = vals[s]
            while e < n and vals[e] == v:
                e += 1
            r = np.float32((s + e + 1) * 0.5)
            for j in range(s, e):
                order[t, j] = cand[j]
                ranks[t, cand[j]] = r
            s = e
        count[t] = n


@njit(cache=True, nogil=True)
def _sort_outputs(T: int, N: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    return np.full((T, N), -1, np.int32), np.zeros(T, np.int64), np.full((T, N), np.nan, np.float32)


@njit(cache=True, parallel=True)
def sort_rows(x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """Per row, the columns where ``mask`` and ``x`` is finite, sorted by ``x`` ascending.

    Returns ``order`` ``(T, N)`` int32 (first ``count[t]`` entries valid, the rest -1), ``count``
    ``(T,)`` int64 and ``ranks`` ``(T, N)`` float32 average ranks ``1..count[t]`` (NaN outside).
    """
    T, N = x.shape
    order, count, ranks = _sort_outputs(T, N)
    nblocks = (T + _BLOCK - 1) // _BLOCK
    for b in prange(nblocks):
        _sort_block(x, mask, b * _BLOCK, min(T, (b + 1) * _BLOCK), order, count, ranks)
    return order, count, ranks


@njit(cache=True, nogil=True)
def sort_rows_serial(x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """:func:`sort_rows` in the calling thread: for a few rows, where waking the thread pool costs
    more than the sort (and, on a busy machine, spins for a time slice)."""
    T, N = x.shape
    order, count, ranks = _sort_outputs(T, N)
    _sort_block(x, mask, 0, T, order, count, ranks)
    return order, count, ranks


@njit(cache=True, nogil=True)
def _flush(qsum: np.ndarray, qcnt: np.ndarray, d: int, b: int, acc: float, cnt: int) -> None:  # pragma: no cover
    qsum[d, b - 1] += acc
    qcnt[d, b - 1] += cnt


@njit(cache=True, parallel=True)
def evaluate_alpha(a: np.ndarray, fwd: np.ndarray, mask: np.ndarray, forder: np.ndarray,
                   fcount: np.ndarray, franks: np.ndarray, n_q: int, min_names: int, zrow: np.ndarray,
                   zout: np.ndarray):  # pragma: no cover
    """All per-date statistics of one alpha and of its reverse, in one pass.

    Parameters
    ----------
    a, fwd:
        ``(T, N)`` alpha values (known at the close of row t) and forward returns dated by signal row t.
    mask:
        ``(T, N)`` bool universe membership at row t.
    forder, fcount, franks:
        :func:`sort_rows` of ``fwd`` under ``mask`` (shared by all alphas).
    n_q:
        Number of quantile buckets (1..100).
    min_names:
        Fewest names for a date to count (IC needs that many (alpha, return) pairs; quantiles that
        many names with an alpha value).
    zrow:
        ``(T,)`` int: output row of ``zout`` for sampled dates, -1 otherwise.
    zout:
        ``(R, N)`` float32, receives z-scored average ranks of ``a`` at the sampled rows (NaN elsewhere).

    Returns
    -------
    ic ``(T,)``; n_alpha ``(T,)``, n_pairs ``(T,)``; qmean ``(2, T, Q)``, qcount ``(2, T, Q)``;
    long ``(2, T)``, short ``(2, T)`` (mean forward return of the highest / lowest occupied bucket,
    NaN when fewer than two buckets are occupied); in_top ``(2, T, N)`` bool (member of the long
    bucket); has_top ``(2, T)`` bool. Index 0 = the alpha, 1 = its reverse.

    Buckets rise along the sorted order (and the reverse buckets fall), so each bucket is a contiguous
    run of the sorted names: sums are accumulated per run and the long bucket is a suffix (a prefix
    for the reverse).
    """
    T, N = a.shape
    ic = np.full(T, np.nan)
    n_alpha = np.zeros(T, np.int64)
    n_pairs = np.zeros(T, np.int64)
    qmean = np.full((2, T, n_q), np.nan)
    qcount = np.zeros((2, T, n_q), np.int64)
    long_ = np.full((2, T), np.nan)
    short = np.full((2, T), np.nan)
    in_top = np.zeros((2, T, N), np.bool_)
    has_top = np.zeros((2, T), np.bool_)
    nblocks = (T + _BLOCK - 1) // _BLOCK
    for blk in prange(nblocks):
        cand, f32, vals, keys, kbuf, ibuf, hist = sort_buffers(N)
        fs = np.empty(N, np.float64)
        ra = np.zeros(N, np.float64)
        paired = np.zeros(N, np.bool_)
        qsum = np.zeros((2, n_q), np.float64)
        qcnt = np.zeros((2, n_q), np.int64)
        for t in range(blk * _BLOCK, min(T, (blk + 1) * _BLOCK)):
            row = a[t]
            frow = fwd[t]
            n = 0
            m_all = 0
            for i in range(N):
                if mask[t, i] and np.isfinite(row[i]):
                    cand[n] = i
                    n += 1
                    if np.isfinite(frow[i]):
                        m_all += 1
            n_alpha[t] = n
            n_pairs[t] = m_all
            if n < min_names or n < 2:
                continue  # counted for the coverage; no statistics on such a date
            # every universe name with a forward return has an alpha value: the shared forward ranks
            # are the ranks among the pairs, and the IC sums can be accumulated in the main pass
            fast = m_all == fcount[t]
            _sort_row(row, cand, n, f32, vals, keys, kbuf, ibuf, hist)
            for j in range(n):  # forward returns in the alpha's sorted order (one gather)
                fs[j] = frow[cand[j]]
            qsum[:, :] = 0.0
            qcnt[:, :] = 0
            # bucket(r2) = max(1, ceil(Q (r2 - 2) / den)), den = 2 (n - 1), r2 = twice the average rank:
            # monotone, so running pointers replace divisions (b0 rises, the reverse b1 falls)
            den = 2 * (n - 1)
            b0 = 1
            b1 = n_q
            cur0 = 0
            cur1 = 0
            first0 = 0
            first1 = 0
            acc0 = 0.0
            acc1 = 0.0
            c0 = 0
            c1 = 0
            top0_start = 0
            top1_end = n
            m = 0  # pairs ranked so far
            sab = 0.0
            saa = 0.0
            sbb = 0.0
            zr = zrow[t]
            mean_r = (n + 1) * 0.5
            ss = 0.0
            s = 0
            while s < n:
                v = vals[s]
                e = s + 1
                while e < n and vals[e] == v:
                    e += 1
                r2 = s + e + 1
                x0 = n_q * (r2 - 2)
                while x0 > b0 * den:
                    b0 += 1
                x1 = n_q * (2 * n - r2)
                while b1 > 1 and x1 <= (b1 - 1) * den:
                    b1 -= 1
                if b0 != cur0:
                    if cur0 > 0:
                        _flush(qsum, qcnt, 0, cur0, acc0, c0)
                    else:
                        first0 = b0
                    cur0 = b0
                    acc0 = 0.0
                    c0 = 0
                    top0_start = s
                if b1 != cur1:
                    if cur1 > 0:
                        _flush(qsum, qcnt, 1, cur1, acc1, c1)
                        if top1_end == n:
                            top1_end = s
                    else:
                        first1 = b1
                    cur1 = b1
                    acc1 = 0.0
                    c1 = 0
                gs = 0.0
                cnt = 0
                if e == s + 1:  # a value of its own (the common case): no loops over the group
                    f = fs[s]
                    if np.isfinite(f):
                        gs += f
                        cnt = 1
                        ab, aa, bb = _pair_terms(fast, franks, t, cand[s], m + 1.0, ra, paired)
                        sab += ab
                        saa += aa
                        sbb += bb
                        m += 1
                else:
                    for j in range(s, e):
                        f = fs[j]
                        if np.isfinite(f):
                            gs += f
                            cnt += 1
                    if cnt > 0:
                        rr = m + (cnt + 1) * 0.5  # average rank among the pairs (for the IC)
                        for j in range(s, e):
                            if np.isfinite(fs[j]):
                                ab, aa, bb = _pair_terms(fast, franks, t, cand[j], rr, ra, paired)
                                sab += ab
                                saa += aa
                                sbb += bb
                        m += cnt
                acc0 += gs
                acc1 += gs
                c0 += cnt
                c1 += cnt
                if zr >= 0:
                    dv = r2 * 0.5 - mean_r
                    ss += dv * dv * (e - s)
                    for j in range(s, e):
                        zout[zr, cand[j]] = np.float32(dv)
                s = e
            _flush(qsum, qcnt, 0, cur0, acc0, c0)
            _flush(qsum, qcnt, 1, cur1, acc1, c1)
            for d in range(2):
                for q in range(n_q):
                    qcount[d, t, q] = qcnt[d, q]
                    if qcnt[d, q] > 0:
                        qmean[d, t, q] = qsum[d, q] / qcnt[d, q]
            # long = highest occupied bucket, short = lowest; for the alpha the last and first runs,
            # for the reverse the first and last runs
            if cur0 > first0:
                has_top[0, t] = True
                for j in range(top0_start, n):
                    in_top[0, t, cand[j]] = True
                if qcnt[0, cur0 - 1] > 0:
                    long_[0, t] = qsum[0, cur0 - 1] / qcnt[0, cur0 - 1]
                if qcnt[0, first0 - 1] > 0:
                    short[0, t] = qsum[0, first0 - 1] / qcnt[0, first0 - 1]
            if first1 > cur1:
                has_top[1, t] = True
                for j in range(0, top1_end):
                    in_top[1, t, cand[j]] = True
                if qcnt[1, first1 - 1] > 0:
                    long_[1, t] = qsum[1, first1 - 1] / qcnt[1, first1 - 1]
                if qcnt[1, cur1 - 1] > 0:
                    short[1, t] = qsum[1, cur1 - 1] / qcnt[1, cur1 - 1]
            # z-scored ranks at sampled rows (for the composite and the correlation matrix)
            if zr >= 0:
                sd = math.sqrt(ss / n)
                for j in range(n):
                    c = cand[j]
                    zout[zr, c] = np.float32(zout[zr, c] / sd) if sd > 0 else np.float32(np.nan)
            # rank IC over the m (alpha, forward return) pairs
            if m >= min_names and m >= 2:
                mean = (m + 1) * 0.5
                if fast:
                    # ranks are multiples of 1/2, so these sums are exact in float64 (< 2**53 / 4)
                    sxy = sab - m * mean * mean
                    sxx = saa - m * mean * mean
                    syy = sbb - m * mean * mean
                else:
                    # re-rank the forward returns among the pairs by walking the shared order
                    sxy = 0.0
                    sxx = 0.0
                    syy = 0.0
                    fc = fcount[t]
                    k = 0
                    j = 0
                    while j < fc:
                        c = forder[t, j]
                        if not paired[c]:
                            j += 1
                            continue
                        fv = frow[c]
                        e = j
                        cnt = 0
                        while e < fc and frow[forder[t, e]] == fv:
                            if paired[forder[t, e]]:
                                cnt += 1
                            e += 1
                        dy = k + (cnt + 1) * 0.5 - mean
                        for jj in range(j, e):
                            cc = forder[t, jj]
                            if paired[cc]:
                                dx = ra[cc] - mean
                                sxy += dx * dy
                                sxx += dx * dx
                                syy += dy * dy
                        k += cnt
                        j = e
                    for jj in range(n):
                        paired[cand[jj]] = False
                if sxx > 0 and syy > 0:
                    ic[t] = sxy / math.sqrt(sxx * syy)
            elif not fast:
                for jj in range(n):
                    paired[cand[jj]] = False
    return ic, n_alpha, n_pairs, qmean, qcount, long_, short, in_top, has_top


@njit(cache=True, parallel=True)
def long_turnover(in_top: np.ndarray, has_top: np.ndarray, lag: int) -> np.ndarray:  # pragma: no cover
    """``(2, T)`` share of the long bucket at row t that was not in the long bucket at row t - lag."""
    _, T, N = in_top.shape
    out = np.full((2, T), np.nan)
    for t in prange(lag, T):
        for d in range(2):
            if not (has_top[d, t] and has_top[d, t - lag]):
                continue
            size = 0
            kept = 0
            for i in range(N):
                if in_top[d, t, i]:
                    size += 1
                    if in_top[d, t - lag, i]:
                        kept += 1
            if size > 0:
                out[d, t] = 1.0 - kept / size
    return out


@njit(cache=True, parallel=True)
def masked_mean_rows(x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Per row, the mean of finite ``x`` under ``mask`` (NaN if none) and the count."""
    T, N = x.shape
    out = np.full(T, np.nan)
    cnt = np.zeros(T, np.int64)
    for t in prange(T):
        s = 0.0
        c = 0
        for i in range(N):
            v = x[t, i]
            if mask[t, i] and np.isfinite(v):
                s += v
                c += 1
        cnt[t] = c
        if c > 0:
            out[t] = s / c
    return out, cnt
