"""Stored daily prices for the guard (previous close → today's limit band) and the paper broker.

:class:`StorePrices` reads the DuckDB market store (``$LASPS_HOME/lasps.duckdb``, raw traded prices);
:class:`MemoryPrices` holds bars in memory (tests, notebooks). Both implement :class:`PriceSource`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from lasps.data.store import MarketStore


@dataclass(frozen=True)
class Bar:
    """One code's session: raw (as traded) prices in KRW and share volume."""

    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class Instrument:
    """What the tick table and limits need to know about a code."""

    code: str
    market: str = "KOSPI"
    kind: str = "stock"
    name: str = ""


class PriceSource(Protocol):
    """Read access to stored daily prices."""

    def instrument(self, code: str) -> Instrument | None:
        """The listing of ``code``, or None if unknown."""
        ...

    def bar(self, code: str, date: dt.date) -> Bar | None:
        """``code``'s bar on ``date``, or None (not stored, or no trade that day)."""
        ...

    def prev_close(self, code: str, date: dt.date) -> tuple[dt.date, float] | None:
        """``(date, close)`` of ``code``'s last stored close strictly before ``date``."""
        ...

    def has_date(self, date: dt.date) -> bool:
        """True if any code has prices stored for ``date`` (the session's data is in)."""
        ...

    def last_date(self) -> dt.date | None:
        """The latest date with stored prices."""
        ...


def _valid(x: float | None) -> bool:
    return x is not None and x == x and x > 0


class MemoryPrices:
    """Bars held in memory: ``MemoryPrices(instruments, bars)``."""

    def __init__(self, instruments: Iterable[Instrument] = (), bars: Iterable[tuple[str, Bar]] = ()) -> None:
        self.instruments = {i.code: i for i in instruments}
        self.bars: dict[str, dict[dt.date, Bar]] = {}
        for code, b in bars:
            self.add(code, b)

    def add(self, code: str, bar: Bar) -> None:
        """Store (or replace) ``code``'s bar."""
        self.bars.setdefault(code, {})[bar.date] = bar
        self.instruments.setdefault(code, Instrument(code))

    def instrument(self, code: str) -> Instrument | None:
        return self.instruments.get(code)

    def bar(self, code: str, date: dt.date) -> Bar | None:
        return self.bars.get(code, {}).get(date)

    def prev_close(self, code: str, date: dt.date) -> tuple[dt.date, float] | None:
        days = [d for d, b in self.bars.get(code, {}).items() if d < date and _valid(b.close)]
        if not days:
            return None
        d = max(days)
        return d, self.bars[code][d].close

    def has_date(self, date: dt.date) -> bool:
        return any(date in b for b in self.bars.values())

    def last_date(self) -> dt.date | None:
        days = [d for b in self.bars.values() for d in b]
        return max(days) if days else None


class StorePrices:
    """Prices from the market store, opened read-only for each query (never holds the write lock)."""

    def __init__(self, home: Path | str) -> None:
        self.home = Path(home)
        self._instruments: dict[str, Instrument | None] = {}

    def _query(self, sql: str, params: list[object]) -> pd.DataFrame:
        with MarketStore(self.home, read_only=True) as store:
            return store.query_df(sql, params)

    def instrument(self, code: str) -> Instrument | None:
        if code not in self._instruments:
            df = self._query("SELECT code, market, kind, name FROM stocks WHERE code = ?", [code])
            self._instruments[code] = (None if df.empty else
                                       Instrument(code, str(df.at[0, "market"]), str(df.at[0, "kind"]),
                                                  str(df.at[0, "name"])))
        return self._instruments[code]

    def bar(self, code: str, date: dt.date) -> Bar | None:
        df = self._query("SELECT date, open, high, low, close, volume FROM daily_prices WHERE code = ? AND date = ?",
                         [code, date])
        if df.empty:
            return None
        r = df.iloc[0]
        return Bar(pd.Timestamp(r["date"]).date(), float(r["open"]), float(r["high"]), float(r["low"]),
                   float(r["close"]), float(r["volume"]) if r["volume"] == r["volume"] else 0.0)

    def prev_close(self, code: str, date: dt.date) -> tuple[dt.date, float] | None:
        df = self._query("SELECT date, close FROM daily_prices WHERE code = ? AND date < ? AND close > 0 "
                         "ORDER BY date DESC LIMIT 1", [code, date])
        if df.empty:
            return None
        return pd.Timestamp(df.at[0, "date"]).date(), float(df.at[0, "close"])

    def has_date(self, date: dt.date) -> bool:
        df = self._query("SELECT 1 AS x FROM daily_prices WHERE date = ? LIMIT 1", [date])
        return not df.empty

    def last_date(self) -> dt.date | None:
        df = self._query("SELECT max(date) AS d FROM daily_prices", [])
        v = df.at[0, "d"] if not df.empty else None
        return None if v is None or pd.isna(v) else pd.Timestamp(v).date()


__all__ = ["Bar", "Instrument", "MemoryPrices", "PriceSource", "StorePrices"]
