"""``load_panel``: read the market store into a dense :class:`~lasps.data.panel.Panel`.

Adjustment (DESIGN §2.3) is applied on load, **as of the panel's last date**: only corporate-action
events dated on or before ``end`` are used, so a panel that ends on date t is exactly what was knowable
at the close of t (a split in the future never rescales the past you are looking at). Prices
(open/high/low/close) are multiplied by the cumulative factor, volume and shares divided by it; value
and market cap are invariant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lasps.config import Settings, get_settings
from lasps.data.panel import BASE_FIELDS, FLOW_FIELDS, Panel
from lasps.data.store import MarketStore
from lasps.data.suspect import detect_suspects, quarantine_mask, traded_mask
from lasps.data.universe import history_mask, parse_universe, static_filter, top_n_mask
from lasps.dates import parse_optional_date
from lasps.errors import ConfigError, StoreError, UnavailableError

PRICE_LIKE = ("open", "high", "low", "close")
INVERSE_ADJUSTED = ("volume", "shares")
INDEX_CODES = ("1001", "2001")


def load_panel(
    fields: Sequence[str] | None = None,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    universe: str = "default",
    home: Path | str | None = None,
    min_history: int | None = None,
) -> Panel:
    """Load a dense ``(T, N)`` panel from ``$LASPS_HOME/lasps.duckdb``.

    Parameters
    ----------
    fields:
        Price fields (:data:`~lasps.data.panel.BASE_FIELDS`) and/or flow fields
        (:data:`~lasps.data.panel.FLOW_FIELDS`); default all price fields. ``close`` is always loaded.
    start, end:
        Inclusive date range (default: everything stored).
    universe:
        ``default`` (common KOSPI/KOSDAQ stocks), ``all``, ``kospi``, ``kosdaq``, ``topN`` (N largest by
        market cap each day), or a comma-separated code list. Columns are the codes eligible by type;
        ``panel.universe_mask`` marks, per date, membership known at that close (listed, at least
        ``min_history`` sessions of history, market-cap rank for ``topN``).
    home:
        ``$LASPS_HOME`` (default from settings).
    min_history:
        Sessions of history before a code enters the universe (default ``universe_min_history``, 65).
    """
    settings = get_settings()
    home = Path(home) if home is not None else settings.home
    min_history = settings.universe_min_history if min_history is None else min_history
    requested = list(dict.fromkeys(["close", *(fields or BASE_FIELDS)]))
    wanted = list(dict.fromkeys([*requested, *SELECTABILITY_FIELDS]))
    unknown = [f for f in wanted if f not in BASE_FIELDS and f not in FLOW_FIELDS]
    if unknown:
        raise ConfigError(f"unknown field(s) {unknown}", where="fields",
                          fix=f"choose from {list(BASE_FIELDS) + list(FLOW_FIELDS)}")
    kind, arg = parse_universe(universe)
    if kind == "top" and "market_cap" not in wanted:
        wanted.append("market_cap")
        requested.append("market_cap")
    start_d, end_d = parse_optional_date(start, option="--start"), parse_optional_date(end, option="--end")
    if start_d and end_d and start_d > end_d:
        raise ConfigError(f"start {start_d} is after end {end_d}", where="--start/--end",
                          fix="swap the dates")

    with MarketStore(home, read_only=True) as store:
        con = store.con
        stocks = store.query_df(
            "SELECT code, name, market, kind, sector_code, sector_name, sector_id, price_basis "
            "FROM stocks ORDER BY code"
        )
        if stocks.empty:
            raise StoreError("the market store is empty", where=str(store.path),
                             fix="run `lasps data init --source synthetic` or `lasps data import PATH`")
        codes_all = stocks["code"].to_numpy(dtype=object)
        keep = static_filter(stocks["kind"].to_numpy(dtype=object), stocks["market"].to_numpy(dtype=object),
                             codes_all, kind, arg)
        stocks = stocks.loc[keep].reset_index(drop=True)
        if stocks.empty:
            raise StoreError(f"universe {universe!r} has no codes in the store", where="--universe")
        lo = start_d or dt.date(1900, 1, 1)
        hi = end_d or dt.date(2999, 12, 31)
        dates = con.execute(
            "SELECT DISTINCT date FROM daily_prices WHERE date BETWEEN ? AND ? ORDER BY date", [lo, hi]
        ).fetchnumpy()["date"]
        dates = np.asarray(dates).astype("datetime64[D]")
        if len(dates) == 0:
            raise StoreError(f"no prices stored between {lo} and {hi}", where="--start/--end",
                             fix="check `lasps data status` for the stored date range")
        T, N = len(dates), len(stocks)
        codes = stocks["code"].to_numpy(dtype=object)
        con.register("_cols", pd.DataFrame({"code": codes, "ci": np.arange(N, dtype=np.int32)}))
        try:
            price_fields = [f for f in wanted if f in BASE_FIELDS]
            flow_fields = [f for f in wanted if f in FLOW_FIELDS]
            out: dict[str, np.ndarray] = {}
            d0 = dates[0].astype(object)
            d1 = dates[-1].astype(object)

            def scatter(table: str, cols: list[str]) -> None:
                sel = ", ".join(f"t.{c}" for c in cols)
                res = con.execute(
                    f"SELECT c.ci, CAST(date_diff('day', DATE '1970-01-01', t.date) AS INTEGER) AS dn, {sel} "
                    f"FROM {table} t JOIN _cols c USING (code) WHERE t.date BETWEEN ? AND ?",
                    [d0, d1],
                ).fetchnumpy()
                ci = np.asarray(res["ci"], dtype=np.int64)
                ti = np.searchsorted(dates.astype(np.int64), np.asarray(res["dn"], dtype=np.int64))
                for c in cols:
                    arr = np.full((T, N), np.nan)
                    vals = res[c]
                    vals = np.ma.filled(vals.astype(np.float64), np.nan) if np.ma.isMaskedArray(vals) \
                        else np.asarray(vals, dtype=np.float64)
                    arr[ti, ci] = vals
                    out[c] = arr

            scatter("daily_prices", price_fields)
            if flow_fields:
                scatter("investor_flows", flow_fields)

            # history before the window, for point-in-time min_history
            prior = con.execute(
                "SELECT c.ci, count(*) FROM daily_prices t JOIN _cols c USING (code) "
                "WHERE t.date < ? AND t.close IS NOT NULL GROUP BY c.ci", [d0]
            ).fetchall()
            events = con.execute(
                "SELECT c.ci, CAST(date_diff('day', DATE '1970-01-01', a.date) AS INTEGER), a.ratio "
                "FROM adjustments a JOIN _cols c USING (code) WHERE a.date BETWEEN ? AND ?", [d0, d1]
            ).fetchall()
        finally:
            con.unregister("_cols")
        index = _load_index(con, dates, d0, d1)
        unavailable = store.unavailable_fields()

    _apply_adjustments(out, dates, events)
    bases = stocks["price_basis"].to_numpy(dtype=object)
    rounding = repair_adjusted_rounding(out, bases == "adjusted")
    prior_counts = np.zeros(N, dtype=np.int64)
    for ci, cnt in prior:
        prior_counts[ci] = cnt
    close = out["close"]
    mask = history_mask(close, min_history, prior_counts)
    if kind == "top":
        _require_market_cap(out["market_cap"], unavailable, universe)
        mask &= top_n_mask(out["market_cap"], mask, int(arg))  # type: ignore[arg-type]
    selectable = selectability(out, dates, settings)
    mask &= selectable.mask
    for extra in set(out) - set(requested):
        del out[extra]

    industry_key = stocks["sector_code"].where(stocks["sector_code"].notna(), stocks["sector_name"])
    labels = sorted(industry_key.dropna().unique().tolist())
    lookup = {lab: i for i, lab in enumerate(labels)}
    industry = np.array([lookup.get(k, -1) if isinstance(k, str) else -1 for k in industry_key],
                        dtype=np.int64)
    sector_ids = stocks["sector_id"].fillna(-1).to_numpy(dtype=np.int64)
    return Panel(
        dates=dates, codes=codes, fields=out,
        names=stocks["name"].to_numpy(dtype=object), markets=stocks["market"].to_numpy(dtype=object),
        kinds=stocks["kind"].to_numpy(dtype=object), sector_ids=sector_ids, industry=industry,
        industry_labels=tuple(labels), index=index, universe_mask=mask,
        unavailable={k: v for k, v in unavailable.items() if k in out or k == "value"},
        suspect=selectable.suspect, traded=selectable.traded, quarantine_days=selectable.quarantine_days,
        ohlc_repaired=rounding,
    )


SELECTABILITY_FIELDS = ("open", "volume")


def _require_market_cap(market_cap: np.ndarray, unavailable: dict[str, str], universe: str) -> None:
    """A ``topN`` universe ranks by the daily market cap: refuse, naming that cause, when there is none."""
    if "market_cap" in unavailable or not np.isfinite(market_cap).any():
        why = unavailable.get("market_cap", "no stored row has a market cap")
        raise UnavailableError(
            f"universe {universe!r} ranks codes by their daily market cap, which the store does not have: {why}",
            where="--universe",
            fix="use --universe default, kospi, kosdaq or a code list, or load data with a daily market cap "
                "(pykrx, or a marcap-layout file)")


@dataclass(frozen=True)
class Selectability:
    """What :func:`selectability` found: ``(T, N)`` masks and the quarantine length in force."""

    suspect: np.ndarray
    traded: np.ndarray
    quarantine_days: int
    mask: np.ndarray


def selectability(out: dict[str, np.ndarray], dates: np.ndarray, settings: Settings) -> Selectability:
    """Cells selectable at each close: traded that day and not quarantined by a suspect jump (DESIGN §2.3-4).

    The quarantine is switched off with ``suspect_quarantine = false``; the jumps are still detected
    (``Panel.suspect``) so reports can count them.
    """
    suspect = detect_suspects(out["close"], dates, settings.suspect_tolerance)
    traded = traded_mask(out.get("open"), out.get("volume"), out["close"])
    days = settings.suspect_quarantine_days if settings.suspect_quarantine else 0
    return Selectability(suspect, traded, days, traded & ~quarantine_mask(suspect, days))


def repair_adjusted_rounding(out: dict[str, np.ndarray], adjusted: np.ndarray) -> int:
    """Widen high/low to take in open and close on adjusted-basis codes; return the rows changed.

    Adjusted (수정주가) files round each price separately, so the close can sit a few KRW outside
    ``[low, high]`` (a *note* in ``lasps data check``). Left as stored, a range-normalised alpha such as
    alpha 101 ``(close - open) / (high - low + 0.001)`` divides by a range that excludes the close and
    reaches thousands. Raw-basis codes are never touched (there it is an error in the data).
    """
    if not {"open", "high", "low", "close"} <= set(out) or not adjusted.any():
        return 0
    o, h, lo, c = out["open"], out["high"], out["low"], out["close"]
    with np.errstate(invalid="ignore"):
        top = np.fmax(o, c)
        bot = np.fmin(o, c)
        fix = adjusted[None, :] & np.isfinite(h) & np.isfinite(lo) & ((top > h) | (bot < lo))
    out["high"] = np.where(fix, np.fmax(h, top), h)
    out["low"] = np.where(fix, np.fmin(lo, bot), lo)
    return int(fix.sum())


def _apply_adjustments(out: dict[str, np.ndarray], dates: np.ndarray,
                       events: list[tuple[int, int, float]]) -> None:
    """Scale prices by the cumulative factor of all events after each row (within the panel)."""
    if not events:
        return
    T, N = out["close"].shape
    step = np.ones((T, N))
    day_numbers = dates.astype(np.int64)
    for ci, dn, ratio in events:
        ti = int(np.searchsorted(day_numbers, dn))
        if ti < T and day_numbers[ti] == dn:
            step[ti, ci] *= ratio
    # factor[t] = prod_{s > t} step[s]
    rev = np.cumprod(step[::-1], axis=0)[::-1]
    factor = np.ones((T, N))
    factor[:-1] = rev[1:]
    for f in PRICE_LIKE:
        if f in out:
            out[f] *= factor
    for f in INVERSE_ADJUSTED:
        if f in out:
            out[f] /= factor


def _load_index(con, dates: np.ndarray, d0: object, d1: object) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    res = con.execute(
        "SELECT index_code, CAST(date_diff('day', DATE '1970-01-01', date) AS INTEGER) AS dn, close "
        "FROM index_prices WHERE date BETWEEN ? AND ?", [d0, d1]
    ).fetchnumpy()
    out: dict[str, np.ndarray] = {}
    if len(res["dn"]) == 0:
        return out
    codes = np.asarray(res["index_code"], dtype=object)
    dn = np.asarray(res["dn"], dtype=np.int64)
    close = np.asarray(res["close"], dtype=np.float64)
    day_numbers = dates.astype(np.int64)
    for code in sorted(set(codes)):
        sel = codes == code
        ti = np.searchsorted(day_numbers, dn[sel])
        ok = (ti < len(dates)) & (day_numbers[np.minimum(ti, len(dates) - 1)] == dn[sel])
        arr = np.full(len(dates), np.nan)
        arr[ti[ok]] = close[sel][ok]
        out[str(code)] = arr
    return out
