"""KRX price rules: tick sizes (호가가격단위) and daily price limits (가격제한폭), DESIGN §5.

Every function is vectorised: ``price``, ``date``, ``market`` and ``kind`` may each be a scalar or an
array, and they broadcast against each other with numpy rules. Prices are KRW (``float64``); a result
for all-scalar input is a Python ``float``, otherwise an ``ndarray`` of the broadcast shape. NaN prices
give NaN.

Tick tables (upper bound of each price band is exclusive; the tick of a price ``p`` is the tick of the
band containing ``p``):

==========================  ======================================================================
regime                      bands (price < bound : tick)
==========================  ======================================================================
all markets, >= 2023-01-25  <2,000:1  <5,000:5  <20,000:10  <50,000:50  <200,000:100  <500,000:500
                            else 1,000
KOSPI, before 2023-01-25    <1,000:1  <5,000:5  <10,000:10  <50,000:50  <100,000:100  <500,000:500
                            else 1,000
KOSDAQ/KONEX, before        <1,000:1  <5,000:5  <10,000:10  <50,000:50  else 100
ETF/ETN (``kind``)          5 flat; from :data:`ETP_LOW_TICK_DATE` <2,000:1 else 5
==========================  ======================================================================

Sources (checked 2026): the 2023 unified table and its date — KRX notice reported by Korea Economic
Daily / Investing.com (2023-01-17: "이달 25일부터 … 호가 가격 단위 변경 … 코스피·코스닥·코넥스 시장의 호가
가격 단위도 통일", bands 1/5/10/50/100/500/1,000 at 2,000/5,000/20,000/50,000/200,000/500,000); the
old KOSPI table — KRX rulebook as quoted by trading-venue wikis ("up to KRW 1000 = 1; 1000 to 5000 = 5;
5000 to 9990 = 10; 10000 to 49950 = 50; 50000 to 99900 = 100; 100000 to 499500 = 500; >= 500000 =
1000"); the old KOSDAQ table — KRX global site, KOSDAQ trading rules ("Less than KRW1,000 KRW1 …
KRW10,000 - less than KRW50,000 KRW50, Over KRW50,000 KRW100"). These older tables were in force from
2010 until 2023-01-25; earlier changes are not modelled (every date before 2023-01-25 uses them).
KONEX before 2023 is assumed to follow the KOSDAQ table. ETF/ETN: a flat 5 KRW tick for all prices
(Korea Economic Daily 2022-10-31), refined to 1 KRW below 2,000 KRW in December 2023 (KRX notice of
2023-10-05; press reports give the effective date as 2023-12-08 or 2023-12-18 — we use 2023-12-18,
treat days in between as uncertain). ELWs are not modelled.

Daily limits: ±30 % of the base price (usually the previous close) from 2015-06-15, ±15 % before. The
limit *width* is ``base × rate`` truncated to the tick of the base price; the upper limit is
``base + width`` truncated (rounded down) to its own tick, the lower limit ``base − width`` rounded up to
its own tick. Example (2023 table): base 9,980 → tick 10, width 2,994 → 2,990, upper 12,970,
lower 6,990. Special limits (leveraged ETFs, listing-day auctions, post-halt rules) are not modelled.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from lasps.krx.calendar import as_days

ArrayLike = npt.ArrayLike
RoundMode = Literal["down", "up", "nearest"]

#: First session with the unified tick table for all markets.
UNIFIED_TICK_DATE = np.datetime64("2023-01-25", "D")
#: First session with the ±30 % daily price limit (±15 % before).
LIMIT_30_DATE = np.datetime64("2015-06-15", "D")
#: First session with the 1 KRW tick for ETF/ETN prices below 2,000 KRW (see module docstring).
ETP_LOW_TICK_DATE = np.datetime64("2023-12-18", "D")

_INF = np.inf

#: Tick tables as ``(band upper bound (exclusive), tick)`` rows, KRW.
UNIFIED_TICKS: tuple[tuple[float, float], ...] = (
    (2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500), (_INF, 1_000),
)
KOSPI_TICKS_OLD: tuple[tuple[float, float], ...] = (
    (1_000, 1), (5_000, 5), (10_000, 10), (50_000, 50), (100_000, 100), (500_000, 500), (_INF, 1_000),
)
KOSDAQ_TICKS_OLD: tuple[tuple[float, float], ...] = (
    (1_000, 1), (5_000, 5), (10_000, 10), (50_000, 50), (_INF, 100),
)
ETP_TICKS_OLD: tuple[tuple[float, float], ...] = ((_INF, 5),)
ETP_TICKS_NEW: tuple[tuple[float, float], ...] = ((2_000, 1), (_INF, 5))

#: Table ids used by :func:`tick_table_id` and the padded arrays below.
TABLE_UNIFIED, TABLE_KOSPI_OLD, TABLE_KOSDAQ_OLD, TABLE_ETP_OLD, TABLE_ETP_NEW = range(5)
_TABLES = (UNIFIED_TICKS, KOSPI_TICKS_OLD, KOSDAQ_TICKS_OLD, ETP_TICKS_OLD, ETP_TICKS_NEW)
_WIDTH = max(len(t) for t in _TABLES)

#: ``(5, 7)`` band upper bounds per table id, padded with +inf (for kernels that need plain arrays).
TICK_BOUNDS: np.ndarray = np.array(
    [[b for b, _ in t] + [_INF] * (_WIDTH - len(t)) for t in _TABLES], dtype=np.float64
)
#: ``(5, 7)`` ticks per table id aligned with :data:`TICK_BOUNDS` (padding repeats the last tick).
TICK_VALUES: np.ndarray = np.array(
    [[k for _, k in t] + [t[-1][1]] * (_WIDTH - len(t)) for t in _TABLES], dtype=np.float64
)
TICK_BOUNDS.setflags(write=False)
TICK_VALUES.setflags(write=False)

_ETP_KINDS = ("etf", "etn")
_EPS = 1e-9  # in tick units: guards floor/ceil against binary representation error


def tick_table_id(date: ArrayLike, market: ArrayLike = "KOSPI", kind: ArrayLike | None = None) -> np.ndarray:
    """Id (row of :data:`TICK_BOUNDS`) of the tick table in force, broadcast over the inputs.

    ``market`` is ``'KOSPI'``, ``'KOSDAQ'`` or ``'KONEX'``; ``kind`` (optional) is the listing kind of
    :data:`lasps.data.schema.KINDS` — ``'etf'``/``'etn'`` use the ETF/ETN tick, anything else the stock
    tables.
    """
    d = as_days(date)
    mk = np.asarray(market)
    old_table = np.where((mk == "KOSDAQ") | (mk == "KONEX"), TABLE_KOSDAQ_OLD, TABLE_KOSPI_OLD)
    tid = np.where(d >= UNIFIED_TICK_DATE, TABLE_UNIFIED, old_table)
    if kind is not None:
        etp = np.isin(np.asarray(kind, dtype=object), _ETP_KINDS)
        etp_tid = np.where(d >= ETP_LOW_TICK_DATE, TABLE_ETP_NEW, TABLE_ETP_OLD)
        tid = np.where(etp, etp_tid, tid)
    return np.asarray(tid, dtype=np.int64)


def _tick_from_tid(price: np.ndarray, tid: np.ndarray) -> np.ndarray:
    price, tid = np.broadcast_arrays(np.asarray(price, dtype=np.float64), tid)
    out = np.empty(price.shape, dtype=np.float64)
    for t in np.unique(tid):
        sel = tid == t
        band = np.searchsorted(TICK_BOUNDS[t], price[sel], side="right")
        out[sel] = TICK_VALUES[t][np.minimum(band, _WIDTH - 1)]
    out[np.isnan(price)] = np.nan
    return out


def _ret(x: np.ndarray) -> np.ndarray | float:
    return float(x) if np.ndim(x) == 0 else x


def tick_size(price: ArrayLike, date: ArrayLike, market: ArrayLike = "KOSPI",
              kind: ArrayLike | None = None) -> np.ndarray | float:
    """Tick (KRW) of ``price`` under the table in force on ``date`` for ``market`` (and ``kind``).

    >>> tick_size(9_980, "2023-02-01", "KOSPI"), tick_size(9_980, "2022-12-01", "KOSPI")
    (10.0, 10.0)
    >>> tick_size(150_000, "2022-12-01", "KOSPI"), tick_size(150_000, "2022-12-01", "KOSDAQ")
    (500.0, 100.0)
    """
    p = np.asarray(price, dtype=np.float64)
    return _ret(_tick_from_tid(p, tick_table_id(date, market, kind)))


def _round_tid(p: np.ndarray, tid: np.ndarray, mode: str) -> np.ndarray:
    tick = _tick_from_tid(p, tid)
    with np.errstate(invalid="ignore"):
        if mode == "down":
            return np.floor(p / tick + _EPS) * tick
        if mode == "up":
            return np.ceil(p / tick - _EPS) * tick
        if mode == "nearest":
            return np.floor(p / tick + 0.5) * tick
    raise ValueError(f"mode must be 'down', 'up' or 'nearest', not {mode!r}")


def round_to_tick(price: ArrayLike, date: ArrayLike, market: ArrayLike = "KOSPI",
                  mode: RoundMode = "down", kind: ArrayLike | None = None) -> np.ndarray | float:
    """Round ``price`` to a valid quote price: ``'down'`` (floor), ``'up'`` (ceil) or ``'nearest'``
    (half up), using the tick of the band that contains ``price``.

    Band boundaries are multiples of the coarser tick above them, so the result is always a valid
    price even when rounding crosses into the next band (1,999.5 ``up`` → 2,000 under the 2023 table).

    >>> round_to_tick(12_345, "2024-01-02", "KOSPI", "down"), round_to_tick(12_345, "2022-01-03", "KOSPI", "up")
    (12340.0, 12350.0)
    """
    p = np.asarray(price, dtype=np.float64)
    return _ret(_round_tid(p, tick_table_id(date, market, kind), mode))


def is_on_tick(price: ArrayLike, date: ArrayLike, market: ArrayLike = "KOSPI",
               kind: ArrayLike | None = None) -> np.ndarray | bool:
    """True where ``price`` is a multiple of its tick (NaN → False)."""
    p = np.asarray(price, dtype=np.float64)
    tid = tick_table_id(date, market, kind)
    with np.errstate(invalid="ignore"):
        ok = np.abs(_round_tid(p, tid, "nearest") - p) < 1e-6
    return bool(ok) if np.ndim(ok) == 0 else ok


def limit_rate(date: ArrayLike) -> np.ndarray | float:
    """Daily price-limit rate: 0.30 from 2015-06-15, 0.15 before."""
    d = as_days(date)
    return _ret(np.where(d >= LIMIT_30_DATE, 0.30, 0.15))


def price_limits(base_price: ArrayLike, date: ArrayLike, market: ArrayLike = "KOSPI",
                 kind: ArrayLike | None = None) -> tuple[np.ndarray | float, np.ndarray | float]:
    """``(lower, upper)`` daily price limits (하한가, 상한가) in KRW for a base price (기준가격).

    ``width = floor_tick(base × rate)`` with the tick of the base price; ``upper = floor_tick(base +
    width)`` and ``lower = ceil_tick(base − width)``, each with its own tick. Both are on-tick;
    ``lower < base < upper`` whenever the width is at least one tick (base ≥ ~7 KRW).

    >>> price_limits(9_980, "2024-05-02", "KOSPI")
    (6990.0, 12970.0)
    """
    base = np.asarray(base_price, dtype=np.float64)
    d = as_days(date)
    tid = tick_table_id(d, market, kind)
    pct = np.where(d >= LIMIT_30_DATE, 30.0, 15.0)  # integer percent: base*pct is exact for integer base
    tick_b = _tick_from_tid(base, tid)
    with np.errstate(invalid="ignore"):
        width = np.floor(base * pct / 100.0 / tick_b + _EPS) * tick_b
    upper = _round_tid(base + width, tid, "down")
    lower = _round_tid(base - width, tid, "up")
    return _ret(lower), _ret(upper)


__all__ = [
    "ETP_LOW_TICK_DATE", "KOSDAQ_TICKS_OLD", "KOSPI_TICKS_OLD", "LIMIT_30_DATE", "TICK_BOUNDS",
    "TICK_VALUES", "UNIFIED_TICKS", "UNIFIED_TICK_DATE", "is_on_tick", "limit_rate", "price_limits",
    "round_to_tick", "tick_size", "tick_table_id",
]
