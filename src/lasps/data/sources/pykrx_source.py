"""pykrx adapter: live KRX data from data.krx.co.kr, fetched **by date for all tickers** (DESIGN §2.2).

Requests per trading day (each preceded by a pause of ``settings.pykrx_delay_s`` seconds):

- ``get_market_ticker_list(date, market=m)`` for KOSPI, KOSDAQ, KONEX — which market each code is on;
- ``get_market_ohlcv(date, market="ALL")`` — every ticker's 시가 고가 저가 종가 거래량 거래대금 등락률
  (index 티커; prices **raw**, as traded; 등락률 in percent vs the base price; a halted ticker has
  시가 = 고가 = 저가 = 0 and only 종가);
- ``get_market_cap(date, market="ALL")`` — 종가 시가총액 거래량 거래대금 상장주식수 (KRW, shares);
- investor flows (:meth:`PykrxSource.flows`, optional): ``get_market_net_purchases_of_equities(date, date,
  "ALL", investor)`` for 외국인, 기타외국인, 기관합계, 개인 — the by-date, all-ticker call; its
  순매수거래대금 (KRW) gives ``foreign_net`` (외국인 + 기타외국인 = KRX's 외국인합계),
  ``institution_net`` (기관합계) and ``individual_net`` (개인); ``get_exhaustion_rates_of_foreign_investment
  (date, "ALL")`` gives 지분율 (percent) -> ``foreign_holding_ratio`` (fraction).

Names come from ``get_market_ticker_name`` (answered from pykrx's in-memory ticker table, so no pause);
index OHLCV from ``get_index_ohlcv(from, to, "1001"|"2001", name_display=False)`` (one request per
index and range; ``name_display=False`` keeps the call independent of pykrx's index-name cache, whose
failed load would otherwise break every index call of the process); sectors (:meth:`PykrxSource.stocks`)
from ``get_market_sector_classifications(date, market)`` (업종명).

**Real request count**: the numbers in the method docstrings, plus about 6 on the first call in a
process (pykrx logs in and loads its ticker and index-name tables).

**Names are verified** before they are written: pykrx answers a code whose name it could not load
(a transient failure while loading its name table poisons the whole process) with the code itself.
Such a row is written with the code as its name and kind ``other`` (never ``stock``), and the store
never overwrites a stored name (or the kind that came with it) by a code
(:meth:`lasps.data.store.MarketStore.write_bundle`): a SPAC or REIT never turns into a stock.

pykrx needs a data.krx.co.kr login in the ``KRX_ID``/``KRX_PW`` environment variables
(``settings.krx_id``/``krx_pw``); they are exported for pykrx when set in ``lasps.toml`` and never
appear in a log line or an error message; pykrx's own stdout print of the login ID is captured and
dropped (:mod:`lasps.data.sources.net`). Every request has a timeout (``timeout_s``) and transient
failures are retried a bounded number of times with exponential backoff. An unreachable KRX or a
rejected login becomes a :class:`~lasps.data.sources.base.SourceError` that says what, where and how
to fix it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from lasps.config import Settings
from lasps.data.bundle import MarketBundle
from lasps.data.schema import FLOW_COLUMNS, INDEX_COLUMNS, PRICE_COLUMNS, STOCK_COLUMNS
from lasps.data.sectors import KRX_SECTOR_INDEX, map_sector
from lasps.data.sources.base import INDEX_CODES, FetchMode, PoliteCaller, SourceError, as_date, blank_halted
from lasps.data.sources.net import DEFAULT_TIMEOUT_S, guarded
from lasps.data.universe import classify_kind
from lasps.errors import ConfigError, InputDataError
from lasps.krx.calendar import sessions

log = logging.getLogger(__name__)

MARKETS: tuple[str, ...] = ("KOSPI", "KOSDAQ", "KONEX")
#: pykrx ``get_market_ohlcv(date, market=...)`` columns -> store columns.
OHLCV_COLUMNS: dict[str, str] = {"시가": "open", "고가": "high", "저가": "low", "종가": "close",
                                 "거래량": "volume", "거래대금": "value", "등락률": "change_ratio"}
#: pykrx ``get_market_cap(date, market=...)`` columns used.
CAP_COLUMNS: dict[str, str] = {"시가총액": "market_cap", "상장주식수": "shares"}
#: pykrx ``get_index_ohlcv`` columns -> store columns (extra columns such as 상장시가총액 are ignored).
INDEX_OHLCV_COLUMNS: dict[str, str] = {"시가": "open", "고가": "high", "저가": "low", "종가": "close",
                                       "거래량": "volume", "거래대금": "value"}
#: investor labels of ``get_market_net_purchases_of_equities`` summed into each flow column.
FLOW_INVESTORS: dict[str, tuple[str, ...]] = {
    "foreign_net": ("외국인", "기타외국인"),
    "institution_net": ("기관합계",),
    "individual_net": ("개인",),
}
NET_VALUE = "순매수거래대금"
HOLDING_RATIO = "지분율"
SECTOR_NAME = "업종명"


def _credentials(settings: Settings) -> tuple[str, str]:
    ident = settings.krx_id.get_secret_value() if settings.krx_id is not None else ""
    password = settings.krx_pw.get_secret_value() if settings.krx_pw is not None else ""
    missing = [n for n, v in (("KRX_ID", ident), ("KRX_PW", password)) if not v]
    if missing:
        raise ConfigError(
            f"the pykrx source needs a data.krx.co.kr login, but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set",
            where="environment variables KRX_ID / KRX_PW (or krx_id / krx_pw in lasps.toml)",
            fix="create a free account at https://data.krx.co.kr, then `export KRX_ID=<id> KRX_PW=<password>`; "
                "or use another source (`--source fdr`, `lasps data import PATH`)",
        )
    return ident, password


#: Kind of a row whose name pykrx could not tell (never "stock": the code alone cannot classify it).
UNVERIFIED_KIND = "other"
LOGIN_WHERE = "pykrx login to data.krx.co.kr (KRX_ID / KRX_PW)"
LOGIN_FIX = ("check KRX_ID/KRX_PW (log in at https://data.krx.co.kr with them to be sure), the network "
             "connection and any proxy; then run the same command again (days already stored are kept)")


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _load_pykrx(ident: str, password: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """Import ``pykrx.stock`` lazily, exporting the login for it (pykrx reads KRX_ID/KRX_PW itself and
    logs in on import, printing the login ID: captured and dropped)."""
    os.environ.setdefault("KRX_ID", ident)
    os.environ.setdefault("KRX_PW", password)
    try:
        with guarded(timeout_s):
            from pykrx import stock
    except ImportError as exc:
        raise ConfigError(
            "the pykrx source needs the 'pykrx' package, which is not installed",
            where="--source pykrx",
            fix="pip install 'lasps[sources]'",
        ) from exc
    except Exception as exc:  # requests.ConnectionError, timeouts … while logging in
        raise SourceError(_scrub(f"pykrx could not log in to data.krx.co.kr: {type(exc).__name__}: {exc}",
                                 (ident, password)), where=LOGIN_WHERE, fix=LOGIN_FIX) from None
    return stock


def _verified_name(code: str, value: object) -> str | None:
    """``value`` if it is a real name of ``code``; None for an empty answer or the code itself (what
    pykrx returns when its name table failed to load)."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    if not name or name == code or name.upper() == f"A{code}":
        return None
    return name


def _ymd(value: dt.date | str) -> str:
    return as_date(value).strftime("%Y%m%d")


def _require(frame: Any, columns: Sequence[str], label: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputDataError(f"pykrx {label} returned {type(frame).__name__}, not a table",
                             where=f"pykrx {label}", fix="upgrade pykrx (pip install -U pykrx)")
    missing = [c for c in columns if c not in frame.columns]
    if missing and len(frame):
        raise InputDataError(
            f"pykrx {label}: column '{missing[0]}' is missing from the response",
            where=f"pykrx {label}, column '{missing[0]}'; columns found: {[str(c) for c in frame.columns]}",
            fix="the pykrx response layout changed: upgrade pykrx (pip install -U pykrx) or report it",
        )
    return frame


def _codes_of(frame: pd.DataFrame) -> pd.Index:
    return pd.Index([str(c).strip() for c in frame.index], dtype=object)


def _sector_code(market: str, name: str | None) -> str | None:
    """The KRX sector-index code whose name is ``name`` on ``market`` (10xx KOSPI, 20xx KOSDAQ)."""
    if not name:
        return None
    prefix = "1" if market == "KOSPI" else "2"
    key = "".join(name.split()).replace("·", "")
    for code, (label, _sid) in KRX_SECTOR_INDEX.items():
        if code.startswith(prefix) and "".join(label.split()).replace("·", "") == key:
            return code
    return None


class PykrxSource:
    """:class:`~lasps.data.sources.base.Source` over ``pykrx.stock`` (or an injected client with its API).

    Parameters
    ----------
    settings:
        ``krx_id``/``krx_pw`` (required, else :class:`ConfigError`) and ``pykrx_delay_s``.
    client:
        An object with pykrx's ``stock`` functions (tests pass a fake); default ``pykrx.stock``.
    sleep:
        Injectable ``time.sleep`` for the pauses and backoff.
    retries, backoff_s:
        Retries of a failed request and the first backoff (doubling).
    delay_s:
        Pause between requests; default ``settings.pykrx_delay_s``.
    sectors:
        Whether :meth:`stocks` fetches sector classifications (2 requests).
    timeout_s:
        Seconds per HTTP request (pykrx takes none itself; :mod:`lasps.data.sources.net`).
    """

    name = "pykrx"
    price_basis = "raw"
    fetch_mode: FetchMode = "by_date"

    def __init__(self, settings: Settings, *, client: Any | None = None,
                 sleep: Callable[[float], None] = time.sleep, retries: int = 3, backoff_s: float = 2.0,
                 delay_s: float | None = None, sectors: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        ident, password = _credentials(settings)
        self.timeout_s = float(timeout_s)
        self._secrets = (ident, password)
        self.client = client if client is not None else _load_pykrx(ident, password, self.timeout_s)
        self.call = PoliteCaller(
            source="pykrx",
            delay_s=settings.pykrx_delay_s if delay_s is None else delay_s,
            sleep=sleep, retries=retries, backoff_s=backoff_s, secrets=(ident, password),
        )
        self.with_sectors = sectors
        self._names: dict[str, str | None] = {}
        #: codes whose name could not be verified in this process (written as unknown)
        self.unverified_names: set[str] = set()

    def _client(self, name: str) -> Any:
        """The client function ``name``, run with a timeout, stdout dropped, and a KeyError (what pykrx
        raises when KRX answered without data, most often after a rejected login) turned into a
        :class:`SourceError` that names the login."""
        fn = getattr(self.client, name)
        return partial(self._run, name, fn)

    def _run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with guarded(self.timeout_s):
                return fn(*args, **kwargs)
        except KeyError as exc:
            raise SourceError(
                _scrub(f"pykrx {name}: KRX answered without the expected data (KeyError {exc}); most often the "
                       "data.krx.co.kr login was rejected (wrong KRX_ID/KRX_PW), or the KRX layout changed",
                       self._secrets), where=f"pykrx {name}; {LOGIN_WHERE}", fix=LOGIN_FIX) from None

    def __repr__(self) -> str:
        return f"PykrxSource(delay_s={self.call.delay_s}, retries={self.call.retries})"

    # -- listing -----------------------------------------------------------------------------------
    def _markets(self, ymd: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for market in MARKETS:
            tickers = self.call("get_market_ticker_list", self._client("get_market_ticker_list"), ymd, market=market)
            for t in tickers or []:
                out.setdefault(str(t).strip(), market)
        return out

    def _name(self, code: str) -> str | None:
        """The verified name of ``code`` (None if pykrx could not tell; see the module docstring)."""
        if code not in self._names:
            value = self.call("get_market_ticker_name", self._client("get_market_ticker_name"), code, cached=True)
            self._names[code] = _verified_name(code, value)
            if self._names[code] is None:
                self.unverified_names.add(code)
        return self._names[code]

    def _sectors(self, ymd: str) -> dict[str, tuple[str | None, str | None]]:
        out: dict[str, tuple[str | None, str | None]] = {}
        for market in ("KOSPI", "KOSDAQ"):
            frame = self.call("get_market_sector_classifications",
                              self._client("get_market_sector_classifications"), ymd, market)
            frame = _require(frame, [SECTOR_NAME], f"get_market_sector_classifications({ymd}, {market})")
            if len(frame) == 0:
                continue
            for code, label in zip(_codes_of(frame), frame[SECTOR_NAME], strict=True):
                name = str(label).strip() if isinstance(label, str) and label.strip() else None
                out[code] = (_sector_code(market, name), name)
        return out

    def _stock_frame(self, codes: Sequence[str], markets: dict[str, str],
                     sectors: dict[str, tuple[str | None, str | None]]) -> pd.DataFrame:
        rows = []
        for code in codes:
            name = self._name(code)
            s_code, s_name = sectors.get(code, (None, None))
            sid = map_sector(s_code, s_name)
            rows.append({
                "code": code, "name": name or code, "market": markets.get(code),
                "kind": classify_kind(code, name) if name is not None else UNVERIFIED_KIND,
                "sector_code": s_code, "sector_name": s_name, "sector_id": sid,
                "listed_date": pd.NaT, "delisted_date": pd.NaT, "price_basis": self.price_basis,
            })
        unknown = [r["code"] for r in rows if r["name"] == r["code"]]
        if unknown:
            log.warning("pykrx: no verified name for %d code(s) (e.g. %s): written as code/'other'; stored names "
                        "and kinds are kept",
                        len(unknown), ", ".join(unknown[:5]))
        frame = pd.DataFrame(rows, columns=list(STOCK_COLUMNS))
        frame["sector_id"] = pd.array([pd.NA if v is None or pd.isna(v) else int(v) for v in frame["sector_id"]],
                                      dtype="Int16")
        for col in ("listed_date", "delisted_date"):
            frame[col] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
        for col in ("code", "name", "market", "kind", "sector_code", "sector_name", "price_basis"):
            frame[col] = frame[col].astype(object)
        return frame

    def stocks(self, date: dt.date) -> pd.DataFrame:
        """Codes listed on ``date`` with name, market, kind and (if enabled) KRX sector.

        Requests: 3 ticker lists + 2 sector tables (5; 3 without sectors), plus ~6 on the first call in a
        process (module docstring). Names come from pykrx's in-memory table (no request)."""
        ymd = _ymd(date)
        markets = self._markets(ymd)
        sectors = self._sectors(ymd) if self.with_sectors else {}
        return self._stock_frame(sorted(markets), markets, sectors)

    # -- prices ------------------------------------------------------------------------------------
    def _day(self, day: dt.date) -> tuple[pd.DataFrame, dict[str, str]]:
        ymd = _ymd(day)
        label = f"get_market_ohlcv({ymd}, market=ALL)"
        ohlcv = self.call("get_market_ohlcv", self._client("get_market_ohlcv"), ymd, market="ALL")
        ohlcv = _require(ohlcv, list(OHLCV_COLUMNS), label)
        if len(ohlcv) == 0 or bool((ohlcv[["시가", "고가", "저가", "종가"]] == 0).all(axis=None)):
            raise SourceError(
                f"pykrx: KRX returned no prices for {day} ({label})",
                where=f"pykrx {label}",
                fix="KRX publishes a day's prices after the close (about 18:00 KST); run the update later. "
                    "If the day is a holiday missing from the calendar, report it",
            )
        cap = self.call("get_market_cap", self._client("get_market_cap"), ymd, market="ALL")
        cap = _require(cap, list(CAP_COLUMNS), f"get_market_cap({ymd}, market=ALL)")
        markets = self._markets(ymd)
        codes = _codes_of(ohlcv)
        prices = pd.DataFrame({"code": codes.to_numpy(dtype=object)})
        prices["date"] = pd.Timestamp(as_date(day))
        for ko, col in OHLCV_COLUMNS.items():
            prices[col] = pd.to_numeric(pd.Series(ohlcv[ko].to_numpy()), errors="coerce").astype("float64")
        prices["change_ratio"] = prices["change_ratio"] / 100.0  # 등락률 is in percent
        if len(cap):
            cap = cap.copy()
            cap.index = _codes_of(cap)
            for ko, col in CAP_COLUMNS.items():
                prices[col] = pd.to_numeric(cap[ko].reindex(codes), errors="coerce").to_numpy(dtype="float64")
        else:
            prices["market_cap"] = np.nan
            prices["shares"] = np.nan
        blank_halted(prices)
        return prices.loc[:, list(PRICE_COLUMNS)], markets

    def daily(self, date_from: dt.date, date_to: dt.date,
              codes: Sequence[str] | None = None) -> MarketBundle:
        """Raw daily prices of every ticker on each trading day in ``[date_from, date_to]``.

        Requests: 5 per trading day (OHLCV, market cap, 3 ticker lists), plus ~6 on the first call in a
        process."""
        frames: list[pd.DataFrame] = []
        markets: dict[str, str] = {}
        for day in sessions(as_date(date_from), as_date(date_to)):
            prices, day_markets = self._day(pd.Timestamp(day).date())
            if codes is not None:
                prices = prices[prices["code"].isin(list(codes))]
            frames.append(prices)
            markets.update(day_markets)
        prices = (pd.concat(frames, ignore_index=True) if frames
                  else pd.DataFrame({c: pd.Series(dtype=object) for c in PRICE_COLUMNS}))
        stock_codes = sorted(set(prices["code"]))
        stocks = self._stock_frame(stock_codes, markets, {})
        return MarketBundle(source=self.name, stocks=stocks, prices=prices, unavailable={})

    def index(self, code: str, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
        """Index OHLCV of ``code`` (1001 KOSPI, 2001 KOSDAQ) in ``[date_from, date_to]``.

        Requests: 1 (``name_display=False``: no index-name lookup), plus ~6 on the first call in a process."""
        if code not in INDEX_CODES:
            raise InputDataError(f"pykrx: unsupported index code {code!r}", where="index code",
                                 fix="use 1001 (KOSPI) or 2001 (KOSDAQ)")
        label = f"get_index_ohlcv({_ymd(date_from)}, {_ymd(date_to)}, {code})"
        frame = self.call("get_index_ohlcv", self._client("get_index_ohlcv"), _ymd(date_from), _ymd(date_to), code,
                          name_display=False)
        frame = _require(frame, ["종가"], label)
        out = pd.DataFrame({"index_code": [code] * len(frame),
                            "date": pd.to_datetime(pd.Index(frame.index)).normalize()})
        for ko, col in INDEX_OHLCV_COLUMNS.items():
            out[col] = (pd.to_numeric(pd.Series(frame[ko].to_numpy()), errors="coerce").astype("float64")
                        if ko in frame.columns else np.nan)
        return out.loc[:, list(INDEX_COLUMNS)]

    def flows(self, date_from: dt.date, date_to: dt.date,
              codes: Sequence[str] | None = None) -> pd.DataFrame:
        """Investor net buy value (KRW) and foreign holding ratio per ticker and day.

        Requests: 5 per trading day (4 investor tables + the foreign holding table), plus ~6 on the first
        call in a process."""
        frames = []
        for day in sessions(as_date(date_from), as_date(date_to)):
            ymd = _ymd(pd.Timestamp(day).date())
            parts: dict[str, pd.Series] = {}
            for column, investors in FLOW_INVESTORS.items():
                total: pd.Series | None = None
                for investor in investors:
                    label = f"get_market_net_purchases_of_equities({ymd}, {ymd}, ALL, {investor})"
                    frame = self.call("get_market_net_purchases_of_equities",
                                      self._client("get_market_net_purchases_of_equities"), ymd, ymd, "ALL",
                                      investor)
                    frame = _require(frame, [NET_VALUE], label)
                    series = pd.Series(pd.to_numeric(frame[NET_VALUE], errors="coerce").to_numpy(dtype="float64"),
                                       index=_codes_of(frame)) if len(frame) else pd.Series(dtype="float64")
                    total = series if total is None else total.add(series, fill_value=0.0)
                parts[column] = total if total is not None else pd.Series(dtype="float64")
            label = f"get_exhaustion_rates_of_foreign_investment({ymd}, ALL)"
            holding = self.call("get_exhaustion_rates_of_foreign_investment",
                                self._client("get_exhaustion_rates_of_foreign_investment"), ymd, "ALL")
            holding = _require(holding, [HOLDING_RATIO], label)
            parts["foreign_holding_ratio"] = (
                pd.Series(pd.to_numeric(holding[HOLDING_RATIO], errors="coerce").to_numpy(dtype="float64") / 100.0,
                          index=_codes_of(holding)) if len(holding) else pd.Series(dtype="float64"))
            all_codes = sorted(set().union(*(set(s.index) for s in parts.values())))
            if codes is not None:
                all_codes = [c for c in all_codes if c in set(codes)]
            day_frame = pd.DataFrame({"code": pd.Series(all_codes, dtype=object)})
            day_frame["date"] = pd.Timestamp(pd.Timestamp(day).date())
            for column in FLOW_COLUMNS[2:]:
                day_frame[column] = parts[column].reindex(all_codes).to_numpy(dtype="float64")
            frames.append(day_frame)
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in FLOW_COLUMNS})
        return pd.concat(frames, ignore_index=True).loc[:, list(FLOW_COLUMNS)]
