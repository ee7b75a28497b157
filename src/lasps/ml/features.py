"""The 28 model features of the deep-learning track (DESIGN §8), for a whole panel at once.

Layout
------
``compute_features(panel)`` walks every code's **own trading sessions** (rows where open, high, low,
close are finite and > 0 and volume is finite and >= 0; halted or unlisted rows are skipped, not
filled) and writes one row of 28 raw feature values per session into a flat, code-major array:

    values[offsets[j] : offsets[j + 1]]   the sessions of code j, oldest first, shape (n_j, 28)
    rows[offsets[j] : offsets[j + 1]]     their panel rows (index into ``panel.dates``)

so a model window of code j ending at its k-th session is the contiguous slice
``values[offsets[j] + k - 59 : offsets[j] + k + 1]`` — no gaps, no fill. :meth:`Features.to_panel`
scatters one feature back onto the ``(T, N)`` grid (NaN elsewhere).

Timing: every value in row t uses data through the **close of t** only (indicators are causal,
computed over the code's sessions up to and including t). Indicator warm-up: a value is NaN until its
definition is complete (ma120 needs 120 sessions, macd_signal 34, rsi14 15, atr14 14), so a complete
60-session window of all features needs 179 sessions of history.

Features (index: name — raw definition; units)
----------------------------------------------
====== ===================== ==================================================================
0-4    open high low close   adjusted prices (KRW) and volume (shares)
       volume
5-8    ma5 ma20 ma60 ma120   simple moving averages of close over the last d sessions (KRW)
9-10   ema12 ema26           exponential averages of close, ``alpha = 2/(span+1)``, seeded with the
                             first close (pandas ``ewm(span, adjust=False, min_periods=span)``)
11-13  macd macd_signal      ``ema12 - ema26``; its 9-span EMA (seeded with the first macd);
       macd_hist             their difference (KRW)
14     rsi14                 Wilder RSI (first average = mean of 14 changes, then
                             ``(13·prev + x)/14``), 0..100; 100 when there is no loss, 50 when flat
15-17  bb_upper bb_middle    ma20 ± 2 · population std (ddof 0) of the last 20 closes (KRW)
       bb_lower              (bb_middle equals ma20 by definition; kept for the 28-feature contract)
18     atr14                 Wilder average true range (first = mean of 14 TR; TR of a code's first
                             session = high - low) (KRW)
19     obv                   on-balance volume, 0 at the code's first session (shares)
20-23  foreign_net           investor net buying (KRW) from ``investor_flows``;
       institution_net       ``foreign_inst_flow = foreign_net + institution_net``
       individual_net
       foreign_inst_flow
24     foreign_holding_ratio foreign ownership, fraction of shares (0..1)
25-27  weekday month day     weekday/5 (Mon 0 … Fri 0.8), month/12 (Jan 1/12 … Dec 1), day/31
====== ===================== ==================================================================

Flows. Where the source has no investor flows (e.g. the real 2018–2021 sample) or a session lacks
them, the five flow features are **0** and ``flow_ok`` is False for that session; the dataset stores
a per-sample ``flow_mask`` (1 = flows present on all 60 sessions of the window), so a model or an
analysis can tell a real zero from a missing value. Nothing else is ever filled.

Window normalisation (:func:`normalize_windows`) uses **only the window itself** — statistics of
the 60 rows, nothing from before or after — per feature group (``c`` = the window's last close):

================ ======================================= =======================================
group            features                                normalised value
================ ======================================= =======================================
price            open high low close ma* ema* bb_*       ``x / c - 1``
price_diff       macd macd_signal macd_hist atr14        ``x / c``
volume           volume                                  ``x / mean(volume) - 1`` (0 if mean 0)
obv              obv                                     ``(x - x[0]) / sum(volume)`` in [-1, 1]
bounded          rsi14                                   ``x / 100``
flow             foreign/institution/individual net,     ``x / mean(|x|)`` (0 if mean 0)
                 foreign_inst_flow
level            foreign_holding_ratio, temporal         unchanged (already scale-free)
================ ======================================= =======================================

A price window is therefore invariant to the price level and to split adjustment (a constant factor),
and the last row's ``close`` is 0 by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from lasps.data.panel import Panel

WINDOW = 60
"""Sessions per model window."""

FEATURE_NAMES: tuple[str, ...] = (
    "open", "high", "low", "close", "volume",
    "ma5", "ma20", "ma60", "ma120", "ema12", "ema26", "macd", "macd_signal", "macd_hist", "rsi14",
    "bb_upper", "bb_middle", "bb_lower", "atr14", "obv",
    "foreign_net", "institution_net", "individual_net", "foreign_inst_flow", "foreign_holding_ratio",
    "weekday", "month", "day",
)
NUM_FEATURES = len(FEATURE_NAMES)
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}

FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "ohlcv": FEATURE_NAMES[0:5],
    "technical": FEATURE_NAMES[5:20],
    "flows": FEATURE_NAMES[20:25],
    "temporal": FEATURE_NAMES[25:28],
}
FLOW_FEATURES: tuple[str, ...] = FEATURE_GROUPS["flows"]

# normalisation kinds (see module docstring)
_PRICE, _PRICE_DIFF, _VOLUME, _OBV, _BOUNDED, _FLOW, _LEVEL = range(7)
NORM_KIND_NAMES: tuple[str, ...] = ("price", "price_diff", "volume", "obv", "bounded", "flow", "level")
NORM_FORMULAS: dict[str, str] = {
    "price": "x / c_last - 1",
    "price_diff": "x / c_last",
    "volume": "x / mean(volume over window) - 1 (0 if the mean is 0)",
    "obv": "(x - x[first row]) / sum(volume over window) (0 if the sum is 0)",
    "bounded": "x / 100",
    "flow": "x / mean(|x| over window) (0 if the mean is 0 or flows are missing)",
    "level": "unchanged",
}
_KIND_OF: dict[str, int] = {
    **{n: _PRICE for n in ("open", "high", "low", "close", "ma5", "ma20", "ma60", "ma120", "ema12", "ema26",
                           "bb_upper", "bb_middle", "bb_lower")},
    **{n: _PRICE_DIFF for n in ("macd", "macd_signal", "macd_hist", "atr14")},
    "volume": _VOLUME,
    "obv": _OBV,
    "rsi14": _BOUNDED,
    **{n: _FLOW for n in ("foreign_net", "institution_net", "individual_net", "foreign_inst_flow")},
    **{n: _LEVEL for n in ("foreign_holding_ratio", "weekday", "month", "day")},
}
NORM_KINDS: np.ndarray = np.array([_KIND_OF[n] for n in FEATURE_NAMES], dtype=np.int64)
"""``(28,)`` normalisation kind per feature (index into :data:`NORM_KIND_NAMES`)."""

WARMUP_SESSIONS = 120
"""Sessions before the slowest indicator (ma120) is defined."""
MIN_SESSIONS = WARMUP_SESSIONS + WINDOW - 1
"""Sessions of history a complete 60-row window of all 28 features needs (179)."""

_CLOSE = FEATURE_INDEX["close"]
_VOL = FEATURE_INDEX["volume"]
_FLOW_FIRST = FEATURE_INDEX["foreign_net"]
_FIRST_FLOW = FEATURE_INDEX["foreign_net"]  # features before it (0..19) must be finite for a complete window
_BLOCK = 256
"""Codes per kernel call: their columns are transposed to (codes, T) blocks so each code's history is
contiguous (a strided walk down a (T, N) column costs ~3× more)."""


def norm_table() -> list[dict[str, str]]:
    """One ``{feature, group, kind, formula}`` row per feature (for manifests and docs)."""
    group_of = {n: g for g, names in FEATURE_GROUPS.items() for n in names}
    return [{"feature": n, "group": group_of[n], "kind": NORM_KIND_NAMES[NORM_KINDS[i]],
             "formula": NORM_FORMULAS[NORM_KIND_NAMES[NORM_KINDS[i]]]} for i, n in enumerate(FEATURE_NAMES)]


@dataclass
class Features:
    """Raw (unnormalised) features of every code's sessions, code-major (see module docstring).

    Attributes
    ----------
    values:
        ``(M, 28)`` float64, M = number of valid (code, session) cells; NaN during indicator warm-up.
    rows:
        ``(M,)`` int32 panel row of each cell.
    offsets:
        ``(N + 1,)`` int64; code j owns ``values[offsets[j]:offsets[j+1]]``.
    flow_ok:
        ``(M,)`` bool, True where all four flow inputs were present (else the flow features are 0).
    complete:
        ``(M,)`` bool, True where the 60-session window ending at this cell has every non-flow feature
        finite (i.e. the cell can end a model window).
    has_flows:
        Whether the panel carried investor flows at all.
    shape:
        The panel's ``(T, N)``.
    """

    values: np.ndarray
    rows: np.ndarray
    offsets: np.ndarray
    flow_ok: np.ndarray
    complete: np.ndarray
    has_flows: bool
    shape: tuple[int, int]

    @property
    def cols(self) -> np.ndarray:
        """``(M,)`` int32 panel column (code index) of each cell."""
        counts = np.diff(self.offsets)
        return np.repeat(np.arange(len(counts), dtype=np.int32), counts)

    def to_panel(self, name: str) -> np.ndarray:
        """Feature ``name`` as a ``(T, N)`` float64 array (NaN on rows a code did not trade)."""
        out = np.full(self.shape, np.nan)
        out[self.rows, self.cols] = self.values[:, FEATURE_INDEX[name]]
        return out

    def cell_index(self) -> np.ndarray:
        """``(T, N)`` int64: flat index of each (row, code) cell in :attr:`values`, -1 where none."""
        idx = np.full(self.shape, -1, dtype=np.int64)
        idx[self.rows, self.cols] = np.arange(len(self.rows), dtype=np.int64)
        return idx


def valid_sessions(panel: Panel) -> np.ndarray:
    """``(T, N)`` bool: open/high/low/close finite and > 0 and volume finite and >= 0."""
    ok = np.ones(panel.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        for f in ("open", "high", "low", "close"):
            x = panel.fields[f]
            ok &= np.isfinite(x) & (x > 0)
        v = panel.fields["volume"]
        ok &= np.isfinite(v) & (v >= 0)
    return ok


def temporal_features(dates: np.ndarray) -> np.ndarray:
    """``(T, 3)`` float64: weekday/5 (Mon=0), month/12 (Jan=1/12), day/31 of each date."""
    d = np.asarray(dates, dtype="datetime64[D]")
    weekday = ((d.astype(np.int64) + 3) % 7).astype(np.float64)  # 1970-01-01 was a Thursday (3)
    months = d.astype("datetime64[M]")
    month = (months.astype(np.int64) % 12 + 1).astype(np.float64)
    day = ((d - months.astype("datetime64[D]")).astype(np.int64) + 1).astype(np.float64)
    return np.stack([weekday / 5.0, month / 12.0, day / 31.0], axis=1)


def compute_features(panel: Panel) -> Features:
    """Compute the 28 raw features for every code of ``panel`` (see module docstring).

    ``panel`` needs open, high, low, close, volume; flows are used when loaded (``foreign_net``,
    ``institution_net``, ``individual_net``, ``foreign_holding_ratio``), else they are 0 with
    ``flow_ok`` False. Cost: one numba pass over the ``(T, N)`` grid, parallel over codes.
    """
    for f in ("open", "high", "low", "close", "volume"):
        if f not in panel.fields:
            raise KeyError(f"compute_features needs panel field {f!r}")
    T, N = panel.shape
    valid = valid_sessions(panel)
    counts = valid.sum(axis=0).astype(np.int64)
    offsets = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    M = int(offsets[-1])
    has_flows = all(f in panel.fields and f not in panel.unavailable
                    for f in ("foreign_net", "institution_net", "individual_net", "foreign_holding_ratio"))
    values = np.empty((M, NUM_FEATURES), dtype=np.float64)
    rows = np.empty(M, dtype=np.int32)
    flow_ok = np.empty(M, dtype=np.bool_)
    complete = np.empty(M, dtype=np.bool_)
    temporal = temporal_features(panel.dates)
    f = panel.fields
    no_flow = np.empty((0, 0))

    def block(name: str, j0: int, j1: int) -> np.ndarray:
        """Columns j0..j1 of a field as a contiguous (codes, T) float64 block (time contiguous per code)."""
        return np.ascontiguousarray(f[name][:, j0:j1].T, dtype=np.float64)

    for j0 in range(0, N, _BLOCK):
        j1 = min(N, j0 + _BLOCK)
        flows = [block(name, j0, j1) for name in ("foreign_net", "institution_net", "individual_net",
                                                   "foreign_holding_ratio")] if has_flows else [no_flow] * 4
        _features_kernel(
            block("open", j0, j1), block("high", j0, j1), block("low", j0, j1), block("close", j0, j1),
            block("volume", j0, j1), np.ascontiguousarray(valid[:, j0:j1].T), has_flows, *flows, temporal,
            offsets[j0:j1 + 1], WINDOW, values, rows, flow_ok, complete,
        )
    return Features(values=values, rows=rows, offsets=offsets, flow_ok=flow_ok, complete=complete,
                    has_flows=has_flows, shape=(T, N))


@njit(cache=True, parallel=True, error_model="numpy")
def _features_kernel(o, h, lo, c, v, valid, has_flows, fn, inn, ind, fhr, temporal,
                     offsets, window, out, rows, flow_ok, complete):  # pragma: no cover - compiled
    """One block of codes: inputs are (nb, T) (code-major); writes cells offsets[k]..offsets[k+1]-1."""
    nb, T = c.shape
    nan = np.nan
    a12 = 2.0 / 13.0
    a26 = 2.0 / 27.0
    a9 = 2.0 / 10.0
    for j in prange(nb):
        g = offsets[j]
        ring = np.empty(120)  # last 120 closes
        cnt = 0
        run = 0  # consecutive cells (this one included) with features 0..19 finite
        s5 = 0.0
        s20 = 0.0
        s60 = 0.0
        s120 = 0.0
        e12 = 0.0
        e26 = 0.0
        sig = 0.0
        nsig = 0
        prev_c = 0.0
        ag = 0.0
        al = 0.0
        atr = 0.0
        obv = 0.0
        for t in range(T):
            if not valid[j, t]:
                continue
            x = c[j, t]
            hi = h[j, t]
            lw = lo[j, t]
            vol = v[j, t]
            row = out[g]
            row[0] = o[j, t]
            row[1] = hi
            row[2] = lw
            row[3] = x
            row[4] = vol
            # moving sums over the ring of past closes
            s5 += x
            s20 += x
            s60 += x
            s120 += x
            if cnt >= 5:
                s5 -= ring[(cnt - 5) % 120]
            if cnt >= 20:
                s20 -= ring[(cnt - 20) % 120]
            if cnt >= 60:
                s60 -= ring[(cnt - 60) % 120]
            if cnt >= 120:
                s120 -= ring[(cnt - 120) % 120]
            ring[cnt % 120] = x
            n = cnt + 1  # sessions so far, including this one
            row[5] = s5 / 5.0 if n >= 5 else nan
            ma20 = s20 / 20.0 if n >= 20 else nan
            row[6] = ma20
            row[7] = s60 / 60.0 if n >= 60 else nan
            row[8] = s120 / 120.0 if n >= 120 else nan
            # EMAs / MACD
            if cnt == 0:
                e12 = x
                e26 = x
            else:
                e12 = a12 * x + (1.0 - a12) * e12
                e26 = a26 * x + (1.0 - a26) * e26
            row[9] = e12 if n >= 12 else nan
            row[10] = e26 if n >= 26 else nan
            if n >= 26:
                m = e12 - e26
                sig = m if nsig == 0 else a9 * m + (1.0 - a9) * sig
                nsig += 1
                row[11] = m
                row[12] = sig if nsig >= 9 else nan
                row[13] = m - sig if nsig >= 9 else nan
            else:
                row[11] = nan
                row[12] = nan
                row[13] = nan
            # RSI (Wilder) and ATR (Wilder)
            if cnt == 0:
                tr = hi - lw
            else:
                tr = max(hi - lw, abs(hi - prev_c), abs(lw - prev_c))
                d = x - prev_c
                gain = d if d > 0 else 0.0
                loss = -d if d < 0 else 0.0
                if cnt <= 14:
                    ag += gain
                    al += loss
                    if cnt == 14:
                        ag /= 14.0
                        al /= 14.0
                else:
                    ag = (ag * 13.0 + gain) / 14.0
                    al = (al * 13.0 + loss) / 14.0
                obv += vol if d > 0 else (-vol if d < 0 else 0.0)
            if cnt >= 14:
                if al == 0.0:
                    row[14] = 100.0 if ag > 0.0 else 50.0
                else:
                    row[14] = 100.0 - 100.0 / (1.0 + ag / al)
            else:
                row[14] = nan
            if cnt < 14:
                atr += tr
                if cnt == 13:
                    atr /= 14.0
            else:
                atr = (atr * 13.0 + tr) / 14.0
            row[18] = atr if n >= 14 else nan
            # Bollinger bands: population std of the last 20 closes (two-pass, exact)
            if n >= 20:
                ss = 0.0
                for k in range(cnt - 19, cnt + 1):
                    dv = ring[k % 120] - ma20
                    ss += dv * dv
                sd = np.sqrt(ss / 20.0)
                row[15] = ma20 + 2.0 * sd
                row[16] = ma20
                row[17] = ma20 - 2.0 * sd
            else:
                row[15] = nan
                row[16] = nan
                row[17] = nan
            row[19] = obv
            # flows
            ok = False
            if has_flows:
                f1 = fn[j, t]
                f2 = inn[j, t]
                f3 = ind[j, t]
                f4 = fhr[j, t]
                if np.isfinite(f1) and np.isfinite(f2) and np.isfinite(f3) and np.isfinite(f4):
                    ok = True
                    row[20] = f1
                    row[21] = f2
                    row[22] = f3
                    row[23] = f1 + f2
                    row[24] = f4
            if not ok:
                for k in range(20, 25):
                    row[k] = 0.0
            flow_ok[g] = ok
            row[25] = temporal[t, 0]
            row[26] = temporal[t, 1]
            row[27] = temporal[t, 2]
            rows[g] = t
            good = True
            for k in range(_FIRST_FLOW):
                if not np.isfinite(row[k]):
                    good = False
                    break
            run = run + 1 if good else 0
            complete[g] = run >= window
            prev_c = x
            cnt += 1
            g += 1


@njit(cache=True, error_model="numpy")
def _norm_one(src, kinds, dst, raw):  # pragma: no cover - compiled
    """Normalise one ``(L, F)`` window ``src`` into ``dst`` (float32); copy OHLCV into ``raw`` if given."""
    L = src.shape[0]
    F = src.shape[1]
    c = src[L - 1, 3]
    vsum = 0.0
    for r in range(L):
        vsum += src[r, 4]
    vmean = vsum / L
    for f in range(F):
        k = kinds[f]
        if k == 0:
            for r in range(L):
                dst[r, f] = src[r, f] / c - 1.0
        elif k == 1:
            for r in range(L):
                dst[r, f] = src[r, f] / c
        elif k == 2:
            for r in range(L):
                dst[r, f] = src[r, f] / vmean - 1.0 if vmean > 0.0 else 0.0
        elif k == 3:
            x0 = src[0, f]
            for r in range(L):
                dst[r, f] = (src[r, f] - x0) / vsum if vsum > 0.0 else 0.0
        elif k == 4:
            for r in range(L):
                dst[r, f] = src[r, f] / 100.0
        elif k == 5:
            am = 0.0
            for r in range(L):
                am += abs(src[r, f])
            am /= L
            for r in range(L):
                dst[r, f] = src[r, f] / am if am > 0.0 else 0.0
        else:
            for r in range(L):
                dst[r, f] = src[r, f]
    if raw.shape[0] > 0:
        for r in range(L):
            for f in range(5):
                raw[r, f] = src[r, f]


@njit(cache=True, parallel=True, error_model="numpy")
def _gather_kernel(values, ends, window, kinds, out, raw_out, flow_ok, flow_mask):  # pragma: no cover
    n = ends.shape[0]
    empty = np.empty((0, 5), dtype=np.float32)
    for s in prange(n):
        g1 = ends[s] + 1
        g0 = g1 - window
        if raw_out.shape[0] > 0:
            _norm_one(values[g0:g1], kinds, out[s], raw_out[s])
        else:
            _norm_one(values[g0:g1], kinds, out[s], empty)
        ok = True
        for g in range(g0, g1):
            if not flow_ok[g]:
                ok = False
                break
        flow_mask[s] = 1 if ok else 0


@njit(cache=True, parallel=True, error_model="numpy")
def _norm_many(src, kinds, out):  # pragma: no cover - compiled
    empty = np.empty((0, 5), dtype=np.float32)
    for s in prange(src.shape[0]):
        _norm_one(src[s], kinds, out[s], empty)


def normalize_windows(windows: np.ndarray) -> np.ndarray:
    """Normalise raw feature windows using only each window (see module docstring).

    Parameters
    ----------
    windows:
        ``(n, L, 28)`` or ``(L, 28)`` raw feature values (as in :attr:`Features.values`), oldest row first.

    Returns
    -------
    ``float32`` array of the same shape.
    """
    w = np.ascontiguousarray(windows, dtype=np.float64)
    single = w.ndim == 2
    if single:
        w = w[None]
    if w.ndim != 3 or w.shape[2] != NUM_FEATURES:
        raise ValueError(f"windows must be (n, L, {NUM_FEATURES}), got {np.shape(windows)}")
    out = np.empty(w.shape, dtype=np.float32)
    with np.errstate(all="ignore"):
        _norm_many(w, NORM_KINDS, out)
    return out[0] if single else out


def gather_windows(features: Features, ends: np.ndarray, window: int = WINDOW,
                   with_raw: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised windows ending at flat cells ``ends`` (same code; see :attr:`Features.complete`).

    Returns ``(windows (n, window, 28) float32, raw OHLCV (n, window, 5) float32 — unnormalised
    adjusted prices (KRW) and volume (shares), for chart rendering — and flow_mask (n,) uint8)``.
    """
    ends = np.ascontiguousarray(ends, dtype=np.int64)
    n = len(ends)
    out = np.empty((n, window, NUM_FEATURES), dtype=np.float32)
    raw = np.empty((n if with_raw else 0, window, 5), dtype=np.float32)
    flow_mask = np.empty(n, dtype=np.uint8)
    with np.errstate(all="ignore"):
        _gather_kernel(features.values, ends, window, NORM_KINDS, out, raw, features.flow_ok, flow_mask)
    return out, raw, flow_mask
