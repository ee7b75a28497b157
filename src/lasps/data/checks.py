"""Data-quality checks (DESIGN §2.7): ``lasps data check``.

Each check is a small pure function over the long price frame (``code, date, open, high, low, close,
volume`` sorted by code then date, prices already adjusted) returning findings with columns
``code, date, rule, severity, detail``. :func:`run_checks` composes them; :func:`check_store` runs
them on the store (adjusting on the fly with the stored factors) and records the findings.

Rules
-----
``ohlc_violation``      low <= open, close <= high violated (error) — on a raw-basis code, or beyond 1 %
                        of the price on an adjusted-basis code (:mod:`lasps.data.rounding`).
``ohlc_rounding``       an adjusted-basis code's open/close more than 1 KRW but at most 1 % outside
                        ``[low, high]``: rounding of adjusted prices (note).
``non_positive_price``  a price <= 0 (error).
``zero_volume_prices``  volume 0 but open/high/low given and not all equal to close (warning).
``duplicate_key``       two rows for the same (code, date) (error; possible in files, not in the store).
``calendar_gap``        a KRX session inside the stored range with no row at all, or rows on a
                        non-session day (error).
``unexplained_jump``    a one-day move of the adjusted close beyond the price limit (±30 %, ±15 % before
                        2015-06-15) plus 1 % that no adjustment explains (warning): the code and date
                        are quarantined (:mod:`lasps.data.suspect`); a standard ratio (1:2, 3:1, …)
                        reads "probable unadjusted split/bonus issue".
``stale_series``        close and volume unchanged (volume > 0) for >= ``stale_run`` rows, or a code not
                        delisted whose last row is before the market's last date (warning).
``unmapped_sector``     a common stock with no LASPS sector (warning) — reported, never defaulted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lasps.data.rounding import outside_krw, outside_severity
from lasps.data.store import MarketStore, StoreProvider, store_provider
from lasps.data.suspect import DEFAULT_TOLERANCE, PROBABLE, beyond_limit, standard_ratio
from lasps.krx.calendar import sessions

FINDING_COLUMNS = ["code", "date", "rule", "severity", "detail"]


def _findings(frame: pd.DataFrame, rule: str, severity: str, detail: pd.Series | str) -> pd.DataFrame:
    out = pd.DataFrame({"code": frame["code"].to_numpy(), "date": frame["date"].to_numpy()})
    out["rule"] = rule
    out["severity"] = severity
    out["detail"] = detail.to_numpy() if isinstance(detail, pd.Series) else detail
    return out


def check_ohlc(prices: pd.DataFrame, adjusted_codes: set[str] | None = None) -> pd.DataFrame:
    """Rows outside ``[low, high]``: ``ohlc_rounding`` notes, ``ohlc_violation`` errors (one rule: rounding)."""
    excess = outside_krw(prices["open"], prices["high"], prices["low"], prices["close"])
    severity = outside_severity(excess, prices["close"].to_numpy(dtype=np.float64),
                                prices["code"].isin(adjusted_codes or set()).to_numpy())
    parts = []
    for sev, rule in (("error", "ohlc_violation"), ("note", "ohlc_rounding")):
        sel = severity == sev
        rows = prices.loc[sel]
        detail = ("O=" + rows["open"].astype(str) + " H=" + rows["high"].astype(str) + " L="
                  + rows["low"].astype(str) + " C=" + rows["close"].astype(str))
        if sev == "note":
            detail = detail + " (" + pd.Series(excess[sel], index=rows.index).round(0).astype(str) + \
                " KRW outside: rounding of adjusted prices)"
        parts.append(_findings(rows, rule, sev, detail))
    return pd.concat(parts, ignore_index=True)


def check_non_positive(prices: pd.DataFrame) -> pd.DataFrame:
    cols = ["open", "high", "low", "close"]
    bad = (prices[cols] <= 0).any(axis=1)
    rows = prices.loc[bad]
    return _findings(rows, "non_positive_price", "error", "a price <= 0")


def check_zero_volume(prices: pd.DataFrame) -> pd.DataFrame:
    ohl = prices[["open", "high", "low"]]
    moved = ohl.notna().all(axis=1) & ~ohl.eq(prices["close"], axis=0).all(axis=1)
    rows = prices.loc[(prices["volume"] == 0) & moved]
    return _findings(rows, "zero_volume_prices", "warning", "volume 0 but the prices moved")


def check_duplicates(prices: pd.DataFrame) -> pd.DataFrame:
    rows = prices.loc[prices.duplicated(["code", "date"], keep="first")]
    return _findings(rows, "duplicate_key", "error", "second row for this (code, date)")


def check_calendar(prices: pd.DataFrame) -> pd.DataFrame:
    stored = np.unique(prices["date"].to_numpy().astype("datetime64[D]"))
    if len(stored) == 0:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    expected = sessions(stored[0], stored[-1])
    missing = np.setdiff1d(expected, stored)
    extra = np.setdiff1d(stored, expected)
    parts = [
        pd.DataFrame({"code": None, "date": missing, "rule": "calendar_gap", "severity": "error",
                      "detail": "KRX session with no rows"}),
        pd.DataFrame({"code": None, "date": extra, "rule": "calendar_gap", "severity": "error",
                      "detail": "rows on a day that is not a KRX session"}),
    ]
    return pd.concat(parts, ignore_index=True)


def check_jumps(prices: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Suspect jumps (:mod:`lasps.data.suspect`, the same rule the panel quarantines): warnings.

    The detail names a probable unadjusted split/bonus issue where the ratio matches a standard one.
    """
    same = prices["code"].eq(prices["code"].shift())
    prev = prices["close"].shift()
    change = prices["close"] / prev - 1.0
    dates = prices["date"].to_numpy().astype("datetime64[D]")
    bad = same.to_numpy() & beyond_limit(change.to_numpy(dtype=np.float64), dates, tolerance)
    rows = prices.loc[bad]
    ratios = (rows["close"] / prev[bad]).to_numpy(dtype=np.float64)
    readings = [f"; {PROBABLE} ({lab})" if (lab := standard_ratio(r)) else "" for r in ratios]
    detail = "close " + prev[bad].round(2).astype(str) + " -> " + rows["close"].round(2).astype(str) + \
        " (" + (change[bad] * 100).round(1).astype(str) + "%) quarantined" + pd.Series(readings, index=rows.index)
    return _findings(rows, "unexplained_jump", "warning", detail)


def check_stale(prices: pd.DataFrame, stale_run: int = 10,
                delisted: dict[str, object] | None = None) -> pd.DataFrame:
    same_code = prices["code"].eq(prices["code"].shift())
    unchanged = same_code & prices["close"].eq(prices["close"].shift()) & \
        prices["volume"].eq(prices["volume"].shift()) & (prices["volume"] > 0)
    run_id = (~unchanged).cumsum()
    run_len = unchanged.groupby(run_id).transform("sum")
    ends = unchanged & (run_len >= stale_run - 1) & ~unchanged.shift(-1, fill_value=False)
    rows = prices.loc[ends]
    parts = [_findings(rows, "stale_series", "warning",
                       "close and volume unchanged for " + (run_len[ends] + 1).astype(str) + " rows")]
    last = prices.groupby("code", sort=False)["date"].max()
    market_last = prices["date"].max()
    stopped = last[last < market_last]
    if delisted:
        stopped = stopped[[c not in delisted or pd.isna(delisted[c]) for c in stopped.index]]
    if len(stopped):
        parts.append(pd.DataFrame({"code": stopped.index, "date": stopped.to_numpy(), "rule": "stale_series",
                                   "severity": "warning",
                                   "detail": "series stops before the market's last date but is not delisted"}))
    return pd.concat(parts, ignore_index=True)


def check_sectors(stocks: pd.DataFrame) -> pd.DataFrame:
    rows = stocks.loc[(stocks["kind"] == "stock") & stocks["sector_id"].isna()]
    return pd.DataFrame({"code": rows["code"].to_numpy(), "date": pd.NaT, "rule": "unmapped_sector",
                         "severity": "warning",
                         "detail": "no LASPS sector for sector_code=" + rows["sector_code"].astype(str)
                         + " sector_name=" + rows["sector_name"].astype(str)})


def run_checks(prices: pd.DataFrame, stocks: pd.DataFrame | None = None, *, stale_run: int = 10,
               check_gaps: bool = True) -> pd.DataFrame:
    """All checks on a long price frame (adjusted prices) and optional stock table → findings frame."""
    prices = prices.sort_values(["code", "date"], kind="stable").reset_index(drop=True)
    adjusted: set[str] = set()
    delisted: dict[str, object] = {}
    if stocks is not None and len(stocks):
        if "price_basis" in stocks:
            adjusted = set(stocks.loc[stocks["price_basis"] == "adjusted", "code"])
        if "delisted_date" in stocks:
            delisted = dict(zip(stocks["code"], stocks["delisted_date"], strict=True))
    parts = [
        check_duplicates(prices),
        check_ohlc(prices, adjusted),
        check_non_positive(prices),
        check_zero_volume(prices),
        check_jumps(prices.drop_duplicates(["code", "date"])),
        check_stale(prices.drop_duplicates(["code", "date"]), stale_run, delisted),
    ]
    if check_gaps:
        parts.append(check_calendar(prices))
    if stocks is not None and len(stocks):
        parts.append(check_sectors(stocks))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["date"] = pd.to_datetime(out["date"]).dt.date
    return out[FINDING_COLUMNS]


@dataclass
class CheckReport:
    """Result of :func:`check_store`: the findings and the run id they are stored under."""

    run_id: str
    findings: pd.DataFrame
    rows_checked: int

    @property
    def errors(self) -> int:
        return int((self.findings["severity"] == "error").sum())

    @property
    def warnings(self) -> int:
        return int((self.findings["severity"] == "warning").sum())

    def summary(self) -> pd.DataFrame:
        """One row per rule: severity, count, first example (code, date, detail)."""
        if self.findings.empty:
            return pd.DataFrame(columns=["rule", "severity", "count", "example"])
        g = self.findings.groupby(["rule", "severity"], sort=True)
        first = g.first()
        out = g.size().rename("count").to_frame().join(first)
        out["example"] = out["code"].astype(str) + " " + out["date"].astype(str) + " " + out["detail"].astype(str)
        return out.reset_index()[["rule", "severity", "count", "example"]]


def load_adjusted_prices(store: MarketStore) -> pd.DataFrame:
    """Long frame of adjusted OHLCV from the store (ASOF join on the cumulative factors)."""
    return store.query_df(
        """
        SELECT d.code, d.date,
               d.open * coalesce(a.factor, 1) AS open, d.high * coalesce(a.factor, 1) AS high,
               d.low * coalesce(a.factor, 1) AS low, d.close * coalesce(a.factor, 1) AS close,
               d.volume / coalesce(a.factor, 1) AS volume
        FROM daily_prices d
        ASOF LEFT JOIN adjustments a ON d.code = a.code AND a.date > d.date
        ORDER BY d.code, d.date
        """
    )


def check_store(home: StoreProvider | Path, *, record: bool = True, stale_run: int = 10) -> CheckReport:
    """Run every check on the store of ``home`` (a workspace or a home directory) and (by default) record
    the findings."""
    with store_provider(home).store(write=record) as store:
        prices = load_adjusted_prices(store)
        stocks = store.query_df("SELECT * FROM stocks")
        findings = run_checks(prices, stocks, stale_run=stale_run)
        run_id = uuid.uuid4().hex[:12]
        if record:
            with store.transaction() as con:
                staged = findings.assign(check_run=run_id)[["check_run", *FINDING_COLUMNS]]
                con.register("_f", staged)
                con.execute("INSERT INTO quality_findings SELECT * FROM _f")
                con.unregister("_f")
                unmapped = stocks.loc[(stocks["kind"] == "stock") & stocks["sector_id"].isna(),
                                      ["code", "sector_code", "sector_name"]]
                con.execute("DELETE FROM unmapped_sectors")
                if len(unmapped):
                    con.register("_u", unmapped)
                    con.execute("INSERT INTO unmapped_sectors SELECT code, sector_code, sector_name, now() FROM _u")
                    con.unregister("_u")
    return CheckReport(run_id, findings, len(prices))
