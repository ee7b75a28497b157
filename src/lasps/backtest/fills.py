"""Which orders can fill at the open (DESIGN §5): halts, locked limits, delistings.

All orders of the simulator fill at the **open** of a session. For a cell ``(t, j)`` (row t of the panel,
code j):

* **halted** — no open price (NaN or <= 0) or no volume (NaN or 0): nothing can trade;
* **locked up** (상한가 잠김) — ``open >= upper limit`` of the base price: nobody sells, so a buy cannot
  fill;
* **locked down** (하한가 잠김) — ``open <= lower limit`` of the base price: a sell cannot fill.

The base price is the previous close of that code (its last close before t, so after a halt the close
before the halt). The limits come from :func:`lasps.krx.rules.price_limits` with the tick table
and limit rate in force on date t for the code's market and kind (±30 % from 2015-06-15, ±15 % before;
width truncated to the tick of the base, the upper limit to its own tick — base 9,980 gives upper
12,970 and lower 6,990 under the 2023 table).

Prices in a :class:`~lasps.data.panel.Panel` are split-adjusted as of the panel's last date. For cells
after the panel's last split (factor 1) they equal the traded prices and the test is exact; before a
split the adjusted limits may differ from the true ones by a tick (the ratio open / base is exact, the
tick grid is scaled). A relative tolerance of 1e-9 absorbs float noise only.

**Delisting**: a code delisted inside the panel is closed by the simulator at the close of its last
traded session (:func:`delisting_rows`); it cannot be bought on that session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasps.krx.rules import price_limits

_REL_TOL = 1e-9


def ffill_rows(x: np.ndarray) -> np.ndarray:
    """Forward-fill NaN (and non-positive) values down axis 0 of a ``(T, N)`` array; leading gaps stay NaN."""
    x = np.asarray(x, dtype=np.float64)
    valid = np.isfinite(x) & (x > 0)
    T = x.shape[0]
    idx = np.where(valid, np.arange(T)[:, None], -1)
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = np.take_along_axis(x, np.maximum(idx, 0), axis=0)
    out[idx < 0] = np.nan
    return out


@dataclass(frozen=True)
class FillMasks:
    """``(T, N)`` bool masks of the fill rules (see the module docstring).

    Attributes
    ----------
    halted:
        No open price or no volume on that session.
    locked_up:
        Open at (or above) the upper limit of the base price: buys do not fill.
    locked_down:
        Open at (or below) the lower limit of the base price: sells do not fill.
    """

    halted: np.ndarray
    locked_up: np.ndarray
    locked_down: np.ndarray

    @property
    def can_buy(self) -> np.ndarray:
        """``(T, N)`` True where a buy fills at the open."""
        return ~(self.halted | self.locked_up)

    @property
    def can_sell(self) -> np.ndarray:
        """``(T, N)`` True where a sell fills at the open."""
        return ~(self.halted | self.locked_down)


def fill_masks(open_: np.ndarray, close: np.ndarray, volume: np.ndarray | None, dates: np.ndarray,
               markets: np.ndarray | None = None, kinds: np.ndarray | None = None) -> FillMasks:
    """Halt and locked-limit masks of every session and code.

    Parameters
    ----------
    open_, close:
        ``(T, N)`` prices in KRW (NaN where the code did not trade).
    volume:
        ``(T, N)`` shares traded, or None to judge halts by the open price alone.
    dates:
        ``(T,)`` session dates (``datetime64[D]``); they pick the tick table and the limit rate.
    markets, kinds:
        ``(N,)`` market (``KOSPI``/``KOSDAQ``/``KONEX``) and listing kind of each code (default KOSPI
        stocks); before 2023-01-25 KOSPI and KOSDAQ have different tick tables.
    """
    open_ = np.asarray(open_, dtype=np.float64)
    T, N = open_.shape
    with np.errstate(invalid="ignore"):
        halted = ~(open_ > 0)
        if volume is not None:
            halted |= ~(np.asarray(volume, dtype=np.float64) > 0)
    base = np.full((T, N), np.nan)
    if T > 1:
        base[1:] = ffill_rows(close)[:-1]
    mk = np.full(N, "KOSPI", dtype=object) if markets is None else np.asarray(markets, dtype=object)
    mk = np.where(mk == None, "KOSPI", mk)  # noqa: E711 - elementwise comparison with None
    d = np.asarray(dates, dtype="datetime64[D]")[:, None]
    kd = None if kinds is None else np.asarray(kinds, dtype=object)[None, :]
    lower, upper = price_limits(base, d, mk.astype(str)[None, :], kd)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        locked_up = ~halted & (open_ >= upper * (1.0 - _REL_TOL))
        locked_down = ~halted & (open_ <= lower * (1.0 + _REL_TOL))
    return FillMasks(halted=halted, locked_up=locked_up, locked_down=locked_down)


def delisting_rows(close: np.ndarray, dates: np.ndarray, delisted: np.ndarray | None = None) -> np.ndarray:
    """``(N,)`` int64: the row of each code's last traded session if it is delisted inside the panel, else -1.

    Parameters
    ----------
    close:
        ``(T, N)`` closes (NaN where the code did not trade).
    dates:
        ``(T,)`` session dates.
    delisted:
        ``(N,)`` ``datetime64[D]`` delisting dates from the ``stocks`` table (NaT = listed). When given,
        a code is delisted inside the panel if its date is on or before the panel's last date, and its
        last traded row is the last row with a close on or before that date. When None, a code whose
        last close comes before the panel's last row is treated as delisted — which cannot tell a
        delisting from a halt that runs past the end of the panel; pass the dates when you have them.
    """
    close = np.asarray(close, dtype=np.float64)
    T, N = close.shape
    dates = np.asarray(dates, dtype="datetime64[D]")
    valid = np.isfinite(close) & (close > 0)
    rows = np.where(valid, np.arange(T)[:, None], -1)
    out = np.full(N, -1, dtype=np.int64)
    if T == 0:
        return out
    if delisted is None:
        last = rows.max(axis=0)
        out[(last >= 0) & (last < T - 1)] = last[(last >= 0) & (last < T - 1)]
        return out
    dl = np.asarray(delisted, dtype="datetime64[D]")
    inside = ~np.isnat(dl) & (dl <= dates[-1])
    for j in np.flatnonzero(inside):
        cut = int(np.searchsorted(dates, dl[j], side="right"))
        r = rows[:cut, j]
        last = int(r.max()) if len(r) else -1
        if last >= 0:
            out[j] = last
    return out


__all__ = ["FillMasks", "delisting_rows", "ffill_rows", "fill_masks"]
