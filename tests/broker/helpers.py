"""Shared helpers: a tiny stored market, clocks at fixed KST times."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd

from lasps.broker.prices import Bar, Instrument, MemoryPrices
from lasps.data.bundle import MarketBundle
from lasps.krx.calendar import KST, sessions

#: The trading day the tests trade on (a Wednesday session) and the session before it.
TODAY = dt.date(2026, 2, 25)
PREV = dt.date(2026, 2, 24)

#: code -> (market, kind, previous close)
CODES = {
    "005380": ("KOSPI", "stock", 250_000.0),   # tick 500 (200k–500k), band 175,000 – 325,000
    "005930": ("KOSPI", "stock", 55_000.0),    # tick 100, band 38,500 – 71,500
    "091990": ("KOSDAQ", "stock", 10_000.0),   # tick 10, band 7,000 – 13,000
    "069500": ("KOSPI", "etf", 30_000.0),      # ETF tick 5
}


def kst(date: dt.date, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(date.year, date.month, date.day, hh, mm, ss, tzinfo=KST)


def memory_prices(today_bars: dict[str, Bar] | None = None) -> MemoryPrices:
    """Flat history for :data:`CODES` over 10 sessions up to :data:`PREV` (+ optional bars of TODAY)."""
    mp = MemoryPrices([Instrument(c, m, k) for c, (m, k, _) in CODES.items()])
    for d in sessions(PREV - dt.timedelta(days=20), PREV)[-10:]:
        day = pd.Timestamp(d).date()
        for code, (_, _, close) in CODES.items():
            mp.add(code, Bar(day, close, close, close, close, 1_000_000.0))
    for code, bar in (today_bars or {}).items():
        mp.add(code, bar)
    return mp


def market_bundle(last: dt.date = PREV) -> MarketBundle:
    """The same flat market as a store bundle (10 sessions up to ``last``)."""
    days = [pd.Timestamp(d) for d in sessions(last - dt.timedelta(days=20), last)[-10:]]
    rows = []
    for code, (_, _, close) in CODES.items():
        for d in days:
            rows.append((code, d, close, close, close, close, 1_000_000.0, close * 1e6, close * 1e8, 1e8, 0.0))
    prices = pd.DataFrame(rows, columns=["code", "date", "open", "high", "low", "close", "volume", "value",
                                         "market_cap", "shares", "change_ratio"])
    stocks = pd.DataFrame({
        "code": list(CODES), "name": ["현대차", "삼성전자", "테스트제조", "KODEX 200"],
        "market": [m for m, _, _ in CODES.values()], "kind": [k for _, k, _ in CODES.values()],
        "sector_code": [None] * 4, "sector_name": [None] * 4, "sector_id": [None] * 4,
        "listed_date": [None] * 4, "delisted_date": [None] * 4, "price_basis": ["raw"] * 4,
    })
    return MarketBundle(source="test", stocks=stocks, prices=prices)


def write_store(home: Path, last: dt.date = PREV) -> Path:
    from lasps.data.store import MarketStore

    with MarketStore(home) as store:
        store.write_bundle(market_bundle(last), kind="init", replace=True)
    return home


def copy_store(template: Path, home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(template / "lasps.duckdb", home / "lasps.duckdb")
    return home
