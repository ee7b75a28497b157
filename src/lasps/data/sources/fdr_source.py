"""FinanceDataReader adapter (DESIGN §2.2 ``fdr``): listing from KRX, daily prices from Naver.

- ``StockListing('KRX')`` — today's KRX listing (Code, ISU_CD, Name, Market, Dept, Close, ChangeCode,
  Changes, ChagesRatio, Open, High, Low, Volume, Amount, Marcap, Stocks, MarketId). A snapshot of the
  download day, **not** point in time: only code, name and market are used.
- ``DataReader('NAVER:<code>', start, end)`` — one request per code for a date range: index ``Date``,
  columns Open, High, Low, Close, Volume, Change (``Change`` = Close.pct_change(), a fraction). Naver
  prices are **adjusted** (수정주가 as of the download day) -> ``price_basis = 'adjusted'``; the Naver
  series has no traded value, market cap or share count, so those are unavailable (never approximated).
  The ``NAVER:`` prefix pins the source (a bare 6-digit code also resolves to Naver in current FDR).
- ``DataReader('KS11'|'KQ11', start, end)`` — KOSPI/KOSDAQ (index codes 1001/2001) from KRX, with
  ``Amount`` (KRW) -> value.

FinanceDataReader needs no login. Requests are paced by ``settings.pykrx_delay_s``, have a timeout
(``timeout_s``, :mod:`lasps.data.sources.net`) and are retried a bounded number of times with backoff
(:class:`~lasps.data.sources.base.PoliteCaller`). Investor flows are not offered.

A code without a chart (FinanceDataReader answers an empty table with no columns) is reported — a
warning and :attr:`FdrSource.skipped` — and the run continues with the other codes.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lasps.config import Settings
from lasps.data.bundle import MarketBundle
from lasps.data.schema import INDEX_COLUMNS, PRICE_COLUMNS, STOCK_COLUMNS
from lasps.data.sources.base import INDEX_CODES, FetchMode, PoliteCaller, as_date, blank_halted
from lasps.data.sources.net import DEFAULT_TIMEOUT_S, guard
from lasps.data.universe import classify_kind
from lasps.data.validate import normalize_market
from lasps.errors import ConfigError, InputDataError, UnavailableError

log = logging.getLogger(__name__)

#: LASPS index code -> FinanceDataReader symbol.
FDR_INDEX_SYMBOLS: dict[str, str] = {"1001": "KS11", "2001": "KQ11"}
LISTING_COLUMNS = ("Code", "Name", "Market")
PRICE_SOURCE_COLUMNS: dict[str, str] = {"Open": "open", "High": "high", "Low": "low", "Close": "close",
                                        "Volume": "volume"}

UNAVAILABLE: dict[str, str] = {
    "value": "FinanceDataReader's daily series (Naver) has no traded value (거래대금); vwap cannot be "
             "derived and is never approximated by close",
    "vwap": "FinanceDataReader's daily series (Naver) has no traded value; vwap is not derived",
    "market_cap": "FinanceDataReader's daily series has no market cap; the StockListing snapshot is "
                  "today's and not point in time",
    "shares": "FinanceDataReader's daily series has no share count; the StockListing snapshot is not "
              "point in time",
    "flows": "FinanceDataReader offers no investor flows",
}


def _load_fdr() -> Any:
    try:
        import FinanceDataReader as fdr
    except ImportError as exc:
        raise ConfigError(
            "the fdr source needs the 'finance-datareader' package, which is not installed",
            where="--source fdr",
            fix="pip install 'lasps[sources]'",
        ) from exc
    return fdr


def _frame(value: Any, label: str, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise InputDataError(f"FinanceDataReader {label} returned {type(value).__name__}, not a table",
                             where=f"fdr {label}", fix="upgrade FinanceDataReader (pip install -U finance-datareader)")
    missing = [c for c in columns if c not in value.columns]
    if missing and len(value):
        raise InputDataError(
            f"FinanceDataReader {label}: column '{missing[0]}' is missing from the response",
            where=f"fdr {label}, column '{missing[0]}'; columns found: {[str(c) for c in value.columns]}",
            fix="the FinanceDataReader layout changed: upgrade it (pip install -U finance-datareader)",
        )
    return value


class FdrSource:
    """:class:`~lasps.data.sources.base.Source` over FinanceDataReader (or an injected client).

    Parameters
    ----------
    settings:
        ``pykrx_delay_s`` paces the requests.
    client:
        An object with ``StockListing`` and ``DataReader`` (tests pass a fake); default the
        ``FinanceDataReader`` module, imported lazily.
    sleep, retries, backoff_s, delay_s, timeout_s:
        As for :class:`~lasps.data.sources.pykrx_source.PykrxSource`.

    Attributes
    ----------
    skipped:
        Code -> reason for each code whose chart came back empty in this source's lifetime.
    """

    name = "fdr"
    price_basis = "adjusted"
    fetch_mode: FetchMode = "by_range"

    def __init__(self, settings: Settings, *, client: Any | None = None,
                 sleep: Callable[[float], None] = time.sleep, retries: int = 3, backoff_s: float = 2.0,
                 delay_s: float | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.client = client if client is not None else _load_fdr()
        self.timeout_s = float(timeout_s)
        self.skipped: dict[str, str] = {}
        self.call = PoliteCaller(source="fdr", delay_s=settings.pykrx_delay_s if delay_s is None else delay_s,
                                 sleep=sleep, retries=retries, backoff_s=backoff_s)
        self._listing: pd.DataFrame | None = None

    def _listing_frame(self) -> pd.DataFrame:
        if self._listing is None:
            raw = _frame(self.call("StockListing", guard(self.client.StockListing, self.timeout_s), "KRX"),
                         "StockListing('KRX')",
                         LISTING_COLUMNS)
            frame = pd.DataFrame({
                "code": [str(c).strip() for c in raw["Code"]],
                "name": [str(n).strip() for n in raw["Name"]],
                "market": [normalize_market(m) for m in raw["Market"]],
            })
            self._listing = frame.drop_duplicates("code", keep="first").reset_index(drop=True)
        return self._listing

    def stocks(self, date: dt.date | None = None) -> pd.DataFrame:
        """Today's KRX listing (``date`` is ignored: FinanceDataReader has no historical listing)."""
        listing = self._listing_frame()
        frame = pd.DataFrame({
            "code": listing["code"].astype(object),
            "name": listing["name"].astype(object),
            "market": listing["market"].astype(object),
            "kind": pd.Series([classify_kind(c, n) for c, n in zip(listing["code"], listing["name"], strict=True)],
                              dtype=object),
            "sector_code": pd.Series([None] * len(listing), dtype=object),
            "sector_name": pd.Series([None] * len(listing), dtype=object),
            "sector_id": pd.array([pd.NA] * len(listing), dtype="Int16"),
            "listed_date": pd.Series(pd.NaT, index=listing.index, dtype="datetime64[us]"),
            "delisted_date": pd.Series(pd.NaT, index=listing.index, dtype="datetime64[us]"),
            "price_basis": self.price_basis,
        })
        return frame.loc[:, list(STOCK_COLUMNS)]

    def _series(self, code: str, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
        start, end = as_date(date_from).isoformat(), as_date(date_to).isoformat()
        label = f"DataReader('NAVER:{code}', {start}, {end})"
        raw = _frame(self.call("DataReader", guard(self.client.DataReader, self.timeout_s), f"NAVER:{code}", start,
                               end), label, list(PRICE_SOURCE_COLUMNS))
        if len(raw) == 0 or any(c not in raw.columns for c in PRICE_SOURCE_COLUMNS):
            reason = f"{label} returned an empty table (no chart for {code})"
            if code not in self.skipped:
                log.warning("fdr: %s; skipped, the other codes continue", reason)
            self.skipped[code] = reason
            return pd.DataFrame({c: pd.Series(dtype="float64" if c not in ("code", "date") else object)
                                 for c in PRICE_COLUMNS})
        out = pd.DataFrame({"code": [code] * len(raw),
                            "date": pd.to_datetime(pd.Index(raw.index)).normalize()})
        for src, col in PRICE_SOURCE_COLUMNS.items():
            out[col] = pd.to_numeric(pd.Series(raw[src].to_numpy()), errors="coerce").astype("float64")
        out["value"] = np.nan
        out["market_cap"] = np.nan
        out["shares"] = np.nan
        out["change_ratio"] = (pd.to_numeric(pd.Series(raw["Change"].to_numpy()), errors="coerce").astype("float64")
                               if "Change" in raw.columns else np.nan)
        window = (out["date"] >= pd.Timestamp(as_date(date_from))) & (out["date"] <= pd.Timestamp(as_date(date_to)))
        return out[window.to_numpy()]

    def daily(self, date_from: dt.date, date_to: dt.date,
              codes: Sequence[str] | None = None) -> MarketBundle:
        """Adjusted daily prices (default: every KOSPI/KOSDAQ/KONEX code listed today).

        Requests: 1 listing (once per source) + 1 per code. A code without a chart is skipped and
        reported (:attr:`skipped`)."""
        stocks = self.stocks()
        wanted = list(codes) if codes is not None else list(stocks["code"])
        frames = [self._series(code, date_from, date_to) for code in wanted]
        prices = (pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames)
                  else pd.DataFrame({c: pd.Series(dtype=object) for c in PRICE_COLUMNS}))
        if len(prices):
            blank_halted(prices)
        prices = prices.loc[:, list(PRICE_COLUMNS)]
        stocks = stocks[stocks["code"].isin(set(prices["code"]))].reset_index(drop=True)
        return MarketBundle(source=self.name, stocks=stocks, prices=prices, unavailable=dict(UNAVAILABLE))

    def index(self, code: str, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
        """KOSPI (1001) / KOSDAQ (2001) from KRX via FinanceDataReader (1 request)."""
        if code not in INDEX_CODES:
            raise InputDataError(f"fdr: unsupported index code {code!r}", where="index code",
                                 fix="use 1001 (KOSPI) or 2001 (KOSDAQ)")
        symbol = FDR_INDEX_SYMBOLS[code]
        start, end = as_date(date_from).isoformat(), as_date(date_to).isoformat()
        raw = _frame(self.call("DataReader", guard(self.client.DataReader, self.timeout_s), symbol, start, end),
                     f"DataReader('{symbol}', {start}, {end})", ["Close"])
        out = pd.DataFrame({"index_code": [code] * len(raw),
                            "date": pd.to_datetime(pd.Index(raw.index)).normalize()})
        for src, col in (("Open", "open"), ("High", "high"), ("Low", "low"), ("Close", "close"),
                         ("Volume", "volume"), ("Amount", "value")):
            out[col] = (pd.to_numeric(pd.Series(raw[src].to_numpy()), errors="coerce").astype("float64")
                        if src in raw.columns else np.nan)
        return out.loc[:, list(INDEX_COLUMNS)]

    def flows(self, date_from: dt.date, date_to: dt.date,
              codes: Sequence[str] | None = None) -> pd.DataFrame:
        raise UnavailableError("FinanceDataReader offers no investor flows", where="--source fdr",
                               fix="use --source pykrx for investor flows")
