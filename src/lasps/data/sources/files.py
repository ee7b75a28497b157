"""Import of market data files (DESIGN §2.2 ``files``): long CSV/Parquet, FinanceData marcap, KRX sample dirs.

Three layouts, detected from the columns / directory (``fmt="auto"``) or named explicitly:

``long``
    CSV or Parquet, one row per (code, date): ``code, date, open, high, low, close, volume`` and optional
    ``value`` (KRW), ``market_cap`` (KRW), ``shares``, ``change_ratio`` (fraction, 0.05 = +5 %; a
    percent column is detected and divided by 100), ``name``, ``market``, ``sector`` (a KRX sector-index
    code such as ``1013`` or an industry name), ``sector_code``, ``sector_name``, ``kind``.
    Column names are matched case-insensitively. Prices are taken as **raw** unless
    ``price_basis="adjusted"`` is given.
``marcap``
    The FinanceData "marcap" layout (KRX daily snapshots): ``Code, Name, Market, Open, High, Low, Close,
    Volume, Amount, Marcap, Stocks, Changes, ChagesRatio`` (sic, percent), ``Date``. Raw prices;
    ``Amount`` -> value, ``Marcap`` -> market_cap, ``Stocks`` -> shares, ``ChagesRatio / 100`` ->
    change_ratio.
``krx-dir``
    A directory laid out like ``shared/data/krx-2018-2021``: ``prices.parquet`` (code, date, open, high,
    low, close, volume, change, name, market, sector), optional ``tickers.parquet`` (static per-code
    snapshots), ``index.parquet`` (index, date, OHLC, volume, value) and ``manifest.json``.
    See :func:`import_path` for how each quirk of that sample is handled.

Every reader keeps where each row came from (frame index = file row number, ``attrs["row_kind"]``,
``attrs["origin"]``) so that :func:`lasps.data.validate.validate_bundle` can name the offending row.

Timing (``bench/import_bench.py``, 2-core dev box): the 2.2 M-row real sample reads in ~1 s, validates in
~0.3 s and is written to a fresh store in ~4 s — 5-7 s in all (target <= 30 s), peak RSS ~1.2-1.4 GiB.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from lasps.data.bundle import MarketBundle
from lasps.data.rounding import outside_krw, outside_severity
from lasps.data.schema import FLOW_COLUMNS, INDEX_COLUMNS, MARKET_UNKNOWN, PRICE_COLUMNS, STOCK_COLUMNS
from lasps.data.sectors import KRX_SECTOR_INDEX, map_sector
from lasps.data.sources.base import FetchMode, as_date, blank_halted
from lasps.data.suspect import beyond_limit
from lasps.data.universe import classify_kind
from lasps.data.validate import is_missing, normalize_market, obj_map, parse_dates, unmapped_sectors
from lasps.errors import InputDataError

FORMATS: tuple[str, ...] = ("auto", "long", "marcap", "krx-dir")
Format = Literal["auto", "long", "marcap", "krx-dir"]

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")

LONG_REQUIRED = ("code", "date", "open", "high", "low", "close", "volume")
LONG_OPTIONAL = ("value", "market_cap", "shares", "change_ratio", "name", "market", "sector",
                 "sector_code", "sector_name", "kind")
#: Other names of the required long-format columns: used only to *suggest* a rename, never applied.
LONG_SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("ticker", "symbol", "종목코드", "단축코드", "티커", "isu_srt_cd", "stock_code", "shcode",
             "stock", "code_id"),
    "date": ("날짜", "일자", "trade_date", "trd_dd", "datetime", "time", "dt", "basdt", "day"),
    "open": ("시가", "open_price", "opnprc", "tdd_opnprc", "o"),
    "high": ("고가", "high_price", "hgprc", "tdd_hgprc", "h"),
    "low": ("저가", "low_price", "lwprc", "tdd_lwprc", "l"),
    "close": ("종가", "close_price", "adj_close", "adjclose", "adj close", "price", "clsprc",
              "tdd_clsprc", "c"),
    "volume": ("거래량", "vol", "acc_trdvol", "trading_volume", "v", "qty"),
}

MARCAP_REQUIRED = ("Code", "Date", "Open", "High", "Low", "Close", "Volume")
MARCAP_OPTIONAL = ("Name", "Market", "Amount", "Marcap", "Stocks", "Changes", "ChagesRatio", "ChangesRatio")
MARCAP_MARKERS = ("marcap", "chagesratio", "changesratio", "changecode", "marketid")

KRX_DIR_PRICE_REQUIRED = ("code", "date", "open", "high", "low", "close", "volume")
#: Index names of ``index.parquet`` -> LASPS index codes (DESIGN §2.1).
INDEX_NAME_CODES: dict[str, str] = {
    "KOSPI": "1001", "코스피": "1001", "KS11": "1001", "1001": "1001",
    "KOSDAQ": "2001", "코스닥": "2001", "KQ11": "2001", "2001": "2001",
}
#: KRX daily price limit: ±15 % before 2015-06-15, ±30 % since.

_ROWS_ORIGIN = "origin"
_NOTES_ATTR = "lasps_notes"


@dataclass
class _Read:
    """What one reader produced (internal; :func:`import_path` turns it into an :class:`ImportResult`)."""

    bundle: MarketBundle
    fmt: str
    origin: str
    notes: list[str] = field(default_factory=list)
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["code", "name", "rows",
                                                                                "reason"]))
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportResult(MarketBundle):
    """An imported (unvalidated) :class:`MarketBundle` plus what the import found.

    It *is* the bundle (pass it to :func:`lasps.data.validate.validate_bundle`); ``result.bundle``
    returns itself, so ``read_import(path).bundle`` and ``read_import(path)`` are interchangeable.

    Attributes (beyond the bundle's)
    --------------------------------
    fmt:
        The layout read (``long``, ``marcap``, ``krx-dir``).
    origin:
        The file or directory imported.
    notes:
        Human-readable findings, one per line (quirks handled, counts, survivorship …): print them.
    unmapped:
        Codes whose LASPS sector could not be mapped (``code, name, market, sector_code, sector_name``);
        report them (e.g. :func:`lasps.data.validate.record_unmapped_sectors`), never default them.
    dropped:
        Codes left out of the bundle with the reason (``code, name, rows, reason``).
    stats:
        The counts behind ``notes`` (e.g. ``halted_rows``, ``close_outside_low_high``,
        ``jumps_beyond_limit``, ``unmapped_sector_codes``).
    """

    fmt: str = ""
    origin: str = ""
    notes: list[str] = field(default_factory=list)
    unmapped: pd.DataFrame = field(default_factory=pd.DataFrame)
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["code", "name", "rows",
                                                                                "reason"]))
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def bundle(self) -> ImportResult:
        """The bundle itself (for code written against a ``(bundle, notes, unmapped)`` wrapper)."""
        return self


# -- public API ----------------------------------------------------------------------------------
def read_import(path: str | Path, fmt: str = "auto", *, price_basis: str | None = None) -> ImportResult:
    """Read ``path`` (file or directory) into an **unvalidated** :class:`MarketBundle`.

    ``fmt`` is ``auto`` (detect), ``long``, ``marcap`` or ``krx-dir``. ``price_basis`` overrides the
    layout's default (``long``/``marcap``: ``raw``; ``krx-dir``: ``adjusted`` or what its
    ``manifest.json`` says). The returned :class:`ImportResult` is a ``MarketBundle`` that also carries
    the import's ``notes``, ``unmapped`` sectors, ``dropped`` codes and ``stats`` (same as
    :func:`import_path`). Raises :class:`InputDataError` for a missing path, an unknown layout, an empty
    file or missing columns.
    """
    return import_path(path, fmt, price_basis=price_basis)


def import_notes(bundle: MarketBundle) -> list[str]:
    """The notes :func:`read_import` attached to ``bundle`` (empty for bundles from elsewhere)."""
    return list(bundle.prices.attrs.get(_NOTES_ATTR, []))


def detect_format(path: str | Path) -> str:
    """``long``, ``marcap`` or ``krx-dir`` for ``path``; raises :class:`InputDataError` if unknown."""
    p = Path(path)
    if p.is_dir():
        if (p / "prices.parquet").is_file():
            return "krx-dir"
        found = sorted(x.name for x in p.iterdir())[:20]
        raise InputDataError(
            f"{p}: unknown import format: a directory without prices.parquet",
            where=f"{p} (contains: {found})",
            fix="import a single CSV/Parquet file, or a directory laid out like shared/data/krx-2018-2021 "
                "(prices.parquet, index.parquet, tickers.parquet)",
        )
    kind = _file_kind(p)
    columns = _header(p, kind)
    lowered = {c.strip().lower() for c in columns}
    if any(m in lowered for m in MARCAP_MARKERS):
        return "marcap"
    return "long"


def import_path(path: str | Path, fmt: str = "auto", *, price_basis: str | None = None) -> ImportResult:
    """Read ``path`` and return the bundle with notes, unmapped sectors and dropped codes.

    How the real KRX sample (``krx-dir``) is handled:

    - halted rows (open = high = low = 0, volume 0, close carried over) -> open/high/low NaN;
    - prices are already adjusted -> ``stocks.price_basis = 'adjusted'`` (the store derives no
      adjustments for them); unexplained one-day jumps beyond the daily limit are counted, not changed;
    - ``change`` is decoded row by row: the sample mixes ``(close - prev) / close`` (rows downloaded on
      2021-12-08) with ``close / prev - 1`` (appended rows) and zeros on the duplicated 2021-12-17 rows;
      rows matching either formula get ``change_ratio = close / prev - 1`` (a fraction, from the sample's
      own adjusted closes), the rest NaN;
    - close 1 KRW outside [low, high] (rounding of adjusted prices) is kept and counted;
    - static KSIC sector labels -> ``sector_name`` (``sector_code`` None), ``sector_id`` by
      :func:`~lasps.data.sectors.map_sector`; unmapped codes are reported;
    - no daily value / market cap / shares -> NaN and named in ``unavailable`` (vwap is never
      approximated by close); the 2021-12-20 market-cap snapshot in ``tickers.parquet`` is **not** used
      as a daily series (not point in time);
    - market from the static label, else ``tickers.parquet``, else (preferred shares) the market of the
      common share (code ending in 0); codes whose market stays unknown are kept as market ``UNKNOWN``
      (outside market-based universes) and listed;
    - index names KOSPI/KOSDAQ -> index codes 1001/2001;
    - survivors only (codes listed at the end of the sample) -> a note for every report.
    """
    p = Path(path)
    if not p.exists():
        raise InputDataError(f"{p}: no such file or directory", where=str(p),
                             fix="check the path (relative paths are resolved from the current directory)")
    if fmt not in FORMATS:
        raise InputDataError(
            f"{p}: unknown import format {fmt!r}", where=f"{p} (--format {fmt})",
            fix=f"use one of: {', '.join(FORMATS)}",
        )
    if price_basis is not None and price_basis not in ("raw", "adjusted"):
        raise InputDataError(f"{p}: unknown price basis {price_basis!r}", where=str(p),
                             fix="use price_basis 'raw' or 'adjusted'")
    chosen = detect_format(p) if fmt == "auto" else fmt
    if chosen == "krx-dir":
        if not p.is_dir():
            raise InputDataError(f"{p}: format krx-dir needs a directory", where=str(p),
                                 fix="pass the directory that holds prices.parquet, or --format auto")
        result = _read_krx_dir(p, price_basis)
    else:
        if p.is_dir():
            raise InputDataError(f"{p}: format {chosen} needs a file, got a directory", where=str(p),
                                 fix="pass one CSV/Parquet file, or --format auto for a sample directory")
        result = _read_marcap(p, price_basis) if chosen == "marcap" else _read_long(p, price_basis)
    b = result.bundle
    unmapped = unmapped_sectors(b)
    result.stats.setdefault("unmapped_sector_codes", len(unmapped))
    b.prices.attrs[_NOTES_ATTR] = list(result.notes)
    return ImportResult(source=b.source, stocks=b.stocks, prices=b.prices, index=b.index, flows=b.flows,
                        unavailable=dict(b.unavailable), fmt=result.fmt, origin=result.origin,
                        notes=list(result.notes), unmapped=unmapped, dropped=result.dropped, stats=result.stats)


# -- reading tables ------------------------------------------------------------------------------
def _file_kind(p: Path) -> str:
    name = p.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise InputDataError(
        f"{p}: unknown import format (file type {''.join(p.suffixes) or 'without extension'!r})",
        where=str(p),
        fix="import CSV (.csv, .csv.gz, .tsv) or Parquet (.parquet) files in the long or marcap layout, "
            "or a krx-2018-2021-style directory; convert Excel/JSON files to CSV first",
    )


def _csv_options(p: Path) -> dict[str, Any]:
    for encoding in ("utf-8-sig", "cp949"):
        try:
            head = pd.read_csv(p, nrows=0, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            raise _empty_file(p) from exc
        sep = ","
        if (len(head.columns) == 1 and "\t" in str(head.columns[0])) or p.name.lower().endswith(".tsv"):
            sep = "\t"
        return {"encoding": encoding, "sep": sep}
    raise InputDataError(f"{p}: cannot decode the file as UTF-8 or CP949 text", where=str(p),
                         fix="save the CSV as UTF-8")


def _empty_file(p: Path) -> InputDataError:
    return InputDataError(f"{p}: the file is empty (no header, no rows)", where=f"{p}, row 1",
                          fix="check that this is the right file and that it was written completely")


def _header(p: Path, kind: str) -> list[str]:
    if kind == "parquet":
        try:
            return list(pq.read_schema(p).names)
        except Exception as exc:
            raise InputDataError(f"{p}: not a readable Parquet file ({exc})", where=str(p),
                                 fix="check the file; re-export it as Parquet or CSV") from exc
    opts = _csv_options(p)
    return [str(c) for c in pd.read_csv(p, nrows=0, **opts).columns]


def _read_table(p: Path, text_columns: Sequence[str]) -> pd.DataFrame:
    """Read a CSV/Parquet file; index = file row number, attrs origin/row_kind set.

    ``text_columns`` (actual names) are read as text so that codes keep their leading zeros.
    """
    kind = _file_kind(p)
    if kind == "parquet":
        try:
            frame = pq.read_table(p).to_pandas()
        except Exception as exc:
            raise InputDataError(f"{p}: not a readable Parquet file ({exc})", where=str(p),
                                 fix="check the file; re-export it as Parquet or CSV") from exc
        frame.index = np.arange(1, len(frame) + 1)
    else:
        opts = _csv_options(p)
        try:
            frame = pd.read_csv(p, dtype={c: str for c in text_columns}, skip_blank_lines=False,
                                low_memory=False, **opts)
        except pd.errors.EmptyDataError as exc:
            raise _empty_file(p) from exc
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputDataError(f"{p}: the CSV cannot be parsed ({exc})", where=str(p),
                                 fix="check delimiters and quoting (one header row, comma-separated)") from exc
        frame.index = np.arange(2, len(frame) + 2)
        blank = frame.isna().all(axis=1).to_numpy()
        if blank.any():
            frame = frame[~blank]
        frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    frame.attrs[_ROWS_ORIGIN] = str(p)
    frame.attrs["row_kind"] = kind
    return frame


def _resolve_columns(p: Path, columns: Sequence[str], required: Sequence[str], optional: Sequence[str],
                     synonyms: dict[str, tuple[str, ...]], layout: str) -> dict[str, str]:
    """Canonical name -> actual column (case-insensitive); raise for a missing required column."""
    lower = {}
    for c in columns:
        lower.setdefault(str(c).strip().lower(), str(c))
    resolved: dict[str, str] = {}
    for name in (*required, *optional):
        actual = lower.get(name.lower())
        if actual is not None:
            resolved[name] = actual
    missing = [name for name in required if name not in resolved]
    if missing:
        used = set(resolved.values())
        spare = [c for c in columns if c not in used]
        hints = []
        for name in missing:
            cand = next((c for c in spare if c.strip().lower() in synonyms.get(name, ())), None)
            if cand is None:
                close = difflib.get_close_matches(name.lower(), [c.lower() for c in spare], n=1, cutoff=0.6)
                cand = next((c for c in spare if close and c.lower() == close[0]), None)
            if cand is not None:
                hints.append(f"rename '{cand}' to '{name}'")
        first = missing[0]
        fix = "; ".join(hints) if hints else f"add the column(s) {', '.join(missing)}"
        raise InputDataError(
            f"{p}: required column '{first}' is missing ({layout} layout)"
            + (f"; also missing: {', '.join(missing[1:])}" if len(missing) > 1 else ""),
            where=f"{p}, column '{first}' (header, row 1); columns found: {list(columns)}",
            fix=f"{fix}. Expected columns: {', '.join(required)} (+ optional {', '.join(optional)})",
        )
    return resolved


def _prev_close(code_ids: np.ndarray, dates: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Previous row's close of the same code in date order, aligned to the input order (NaN first)."""
    order = np.lexsort((dates, code_ids))
    c_sorted = code_ids[order]
    close_sorted = close[order]
    prev_sorted = np.empty_like(close_sorted)
    prev_sorted[0:1] = np.nan
    prev_sorted[1:] = close_sorted[:-1]
    if len(prev_sorted):
        prev_sorted[np.r_[True, c_sorted[1:] != c_sorted[:-1]]] = np.nan
    prev = np.empty_like(prev_sorted)
    prev[order] = prev_sorted
    return prev


def _ratio_unit(ratio: np.ndarray, reference: np.ndarray) -> str:
    """``fraction`` or ``percent``: which unit makes ``ratio`` agree with the fractional ``reference``."""
    ok = np.isfinite(ratio) & np.isfinite(reference) & (np.abs(reference) > 0.001)
    if ok.sum() < 3:
        return "fraction"
    as_fraction = np.nanmedian(np.abs(ratio[ok] - reference[ok]))
    as_percent = np.nanmedian(np.abs(ratio[ok] / 100.0 - reference[ok]))
    return "percent" if as_percent < as_fraction else "fraction"


def _sector_parts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split a free ``sector`` column into (sector_code, sector_name): KRX index codes vs names."""
    text = obj_map(values, lambda v: None if is_missing(v) else str(v).strip() or None)
    codes = obj_map(text, lambda v: v if v is not None and v in KRX_SECTOR_INDEX else None)
    names = obj_map(text, lambda v: KRX_SECTOR_INDEX[v][0] if v is not None and v in KRX_SECTOR_INDEX else v)
    return codes, names


def _stock_rows(last: pd.DataFrame, *, name: pd.Series | None, market: pd.Series | None,
                sector_code: pd.Series | None, sector_name: pd.Series | None, kind: pd.Series | None,
                price_basis: str) -> pd.DataFrame:
    """Build STOCK_COLUMNS rows (index = file row of each code's last row) from per-code series."""
    idx = last.index

    def col(series: pd.Series | None) -> pd.Series:
        if series is None:
            return pd.Series([None] * len(idx), index=idx, dtype=object)
        return obj_map(series, lambda v: None if is_missing(v) else v)

    stocks = pd.DataFrame({
        "code": last["code"].astype(str),
        "name": col(name),
        "market": obj_map(col(market), normalize_market),
        "kind": col(kind),
        "sector_code": col(sector_code),
        "sector_name": col(sector_name),
        "sector_id": pd.Series([None] * len(idx), index=idx, dtype=object),
        "listed_date": pd.Series(pd.NaT, index=idx, dtype="datetime64[us]"),
        "delisted_date": pd.Series(pd.NaT, index=idx, dtype="datetime64[us]"),
        "price_basis": price_basis,
    }, index=idx)
    sid = [map_sector(c, n) for c, n in zip(stocks["sector_code"], stocks["sector_name"], strict=True)]
    stocks["sector_id"] = pd.array([pd.NA if s is None else s for s in sid], dtype="Int16")
    stocks.attrs.update(last.attrs)
    return stocks.loc[:, list(STOCK_COLUMNS)]


def _halt_note(n: int, total: int) -> str:
    return (f"halted rows: {n:,} of {total:,} rows had open = high = low = 0 (KRX halt convention, close "
            "carried over); their open/high/low are stored as missing")


# -- long ----------------------------------------------------------------------------------------
def _read_long(p: Path, price_basis: str | None) -> _Read:
    kind = _file_kind(p)
    header = _header(p, kind)
    cols = _resolve_columns(p, header, LONG_REQUIRED, LONG_OPTIONAL, LONG_SYNONYMS, "long")
    frame = _read_table(p, [cols["code"]])
    notes: list[str] = []
    stats: dict[str, Any] = {"rows": len(frame)}
    basis = price_basis or "raw"
    prices = pd.DataFrame(index=frame.index)
    for name in PRICE_COLUMNS:
        if name in cols:
            prices[name] = frame[cols[name]]
        elif name != "change_ratio":
            prices[name] = np.nan
    prices.attrs.update(frame.attrs)
    if "change_ratio" in cols and len(frame):
        ratio = pd.to_numeric(frame[cols["change_ratio"]], errors="coerce").to_numpy(dtype="float64")
        close = pd.to_numeric(frame[cols["close"]], errors="coerce").to_numpy(dtype="float64")
        dates, _ = parse_dates(frame[cols["date"]])
        code_ids = pd.factorize(frame[cols["code"]].astype(str))[0]
        prev = _prev_close(code_ids, dates.to_numpy().astype("datetime64[D]").astype("int64"), close)
        if _ratio_unit(ratio, close / prev - 1.0) == "percent":
            prices["change_ratio"] = pd.to_numeric(frame[cols["change_ratio"]], errors="coerce") / 100.0
            notes.append("change_ratio is in percent in this file; divided by 100 (LASPS stores fractions)")
            stats["change_ratio_unit"] = "percent"
        else:
            prices["change_ratio"] = frame[cols["change_ratio"]]
            stats["change_ratio_unit"] = "fraction"
    else:
        prices["change_ratio"] = np.nan
    prices = prices.loc[:, list(PRICE_COLUMNS)]
    _blank_halts(prices, notes, stats)
    ignored = [c for c in header if c not in set(cols.values())]
    if ignored:
        notes.append(f"ignored columns (not part of the long layout): {', '.join(ignored)}")
    unavailable = {c: f"not provided by {p.name}" for c in ("value", "market_cap", "shares", "change_ratio")
                   if c not in cols}
    if "value" not in cols:
        unavailable["vwap"] = f"{p.name} has no traded value (value); vwap is not derived from close"
    if basis == "raw" and "change_ratio" not in cols:
        notes.append("no change_ratio column: no split/rights adjustments can be derived for these raw "
                     "prices; if they are already adjusted, import with "
                     "`lasps data import PATH --price-basis adjusted`")
    last = frame.drop_duplicates(cols["code"], keep="last")
    last = last.assign(code=last[cols["code"]])
    s_code, s_name = (None, None)
    if "sector" in cols:
        s_code, s_name = _sector_parts(last[cols["sector"]])
    if "sector_code" in cols:
        s_code = obj_map(last[cols["sector_code"]], lambda v: None if is_missing(v) else str(v).strip())
    if "sector_name" in cols:
        s_name = last[cols["sector_name"]]
    stocks = _stock_rows(
        last,
        name=last[cols["name"]] if "name" in cols else None,
        market=last[cols["market"]] if "market" in cols else None,
        sector_code=s_code, sector_name=s_name,
        kind=last[cols["kind"]] if "kind" in cols else None,
        price_basis=basis,
    )
    if "market" not in cols:
        notes.append("no market column: the stock list needs each code's market (KOSPI/KOSDAQ/KONEX)")
    notes.append(f"price basis: {basis}")
    bundle = MarketBundle(source="files", stocks=stocks, prices=prices, unavailable=unavailable)
    return _Read(bundle=bundle, fmt="long", origin=str(p), notes=notes, stats=stats)


def _blank_halts(prices: pd.DataFrame, notes: list[str], stats: dict[str, Any]) -> None:
    numeric = {}
    for col in ("open", "high", "low"):
        numeric[col] = pd.to_numeric(prices[col], errors="coerce")
    probe = pd.DataFrame(numeric)
    halted = ((probe["open"] == 0) & (probe["high"] == 0) & (probe["low"] == 0)).to_numpy()
    n = int(halted.sum())
    stats["halted_rows"] = n
    if n:
        for col in ("open", "high", "low"):
            values = prices[col].astype(object) if prices[col].dtype == object else prices[col].copy()
            values[halted] = np.nan
            prices[col] = values
        notes.append(_halt_note(n, len(prices)))


# -- marcap --------------------------------------------------------------------------------------
def _read_marcap(p: Path, price_basis: str | None) -> _Read:
    kind = _file_kind(p)
    header = _header(p, kind)
    synonyms = {k: () for k in MARCAP_REQUIRED}
    cols = _resolve_columns(p, header, MARCAP_REQUIRED, MARCAP_OPTIONAL, synonyms, "marcap")
    frame = _read_table(p, [cols["Code"]])
    notes: list[str] = []
    stats: dict[str, Any] = {"rows": len(frame)}
    basis = price_basis or "raw"
    prices = pd.DataFrame({
        "code": frame[cols["Code"]],
        "date": frame[cols["Date"]],
        "open": frame[cols["Open"]],
        "high": frame[cols["High"]],
        "low": frame[cols["Low"]],
        "close": frame[cols["Close"]],
        "volume": frame[cols["Volume"]],
    }, index=frame.index)
    unavailable: dict[str, str] = {}
    for target, source in (("value", "Amount"), ("market_cap", "Marcap"), ("shares", "Stocks")):
        if source in cols:
            prices[target] = frame[cols[source]]
        else:
            prices[target] = np.nan
            unavailable[target] = f"{p.name} has no {source} column"
    ratio_col = cols.get("ChagesRatio") or cols.get("ChangesRatio")
    if ratio_col:
        ratio = pd.to_numeric(frame[ratio_col], errors="coerce").to_numpy(dtype="float64")
        close = pd.to_numeric(frame[cols["Close"]], errors="coerce").to_numpy(dtype="float64")
        if "Changes" in cols:
            diff = pd.to_numeric(frame[cols["Changes"]], errors="coerce").to_numpy(dtype="float64")
            with np.errstate(divide="ignore", invalid="ignore"):
                reference = diff / (close - diff)
        else:
            dates, _ = parse_dates(frame[cols["Date"]])
            code_ids = pd.factorize(frame[cols["Code"]].astype(str))[0]
            prev = _prev_close(code_ids, dates.to_numpy().astype("datetime64[D]").astype("int64"), close)
            reference = close / prev - 1.0
        unit = _ratio_unit(ratio, reference) if np.isfinite(reference).any() else "percent"
        prices["change_ratio"] = ratio / 100.0 if unit == "percent" else ratio
        stats["change_ratio_unit"] = unit
        notes.append(f"ChagesRatio is in {unit}; stored as a fraction (0.05 = +5 %)")
    else:
        prices["change_ratio"] = np.nan
        unavailable["change_ratio"] = f"{p.name} has no ChagesRatio column"
    if "value" in unavailable:
        unavailable["vwap"] = f"{p.name} has no Amount (traded value); vwap is not derived from close"
    prices.attrs.update(frame.attrs)
    prices = prices.loc[:, list(PRICE_COLUMNS)]
    _blank_halts(prices, notes, stats)
    last = frame.drop_duplicates(cols["Code"], keep="last")
    last = last.assign(code=last[cols["Code"]])
    stocks = _stock_rows(
        last,
        name=last[cols["Name"]] if "Name" in cols else None,
        market=last[cols["Market"]] if "Market" in cols else None,
        sector_code=None, sector_name=None, kind=None, price_basis=basis,
    )
    notes.append("the marcap layout has no sector information: every code is reported as unmapped")
    notes.append(f"price basis: {basis} (marcap holds KRX daily snapshots, as traded)")
    bundle = MarketBundle(source="files", stocks=stocks, prices=prices, unavailable=unavailable)
    return _Read(bundle=bundle, fmt="marcap", origin=str(p), notes=notes, stats=stats)


# -- krx-dir -------------------------------------------------------------------------------------
def _manifest(p: Path) -> dict[str, Any]:
    path = p / "manifest.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _decode_change(change: np.ndarray, close: np.ndarray, prev: np.ndarray,
                   tol: float = 1e-4) -> tuple[np.ndarray, dict[str, int]]:
    """Decode a ``change`` column whose formula may vary by row into ``close / prev - 1``.

    Recognised per row: ``close / prev - 1`` (fraction), ``100 * (close / prev - 1)`` (percent) and
    ``(close - prev) / close`` (fraction of today's close). Rows that match none, or have no previous
    close to check against, get NaN.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = close / prev - 1.0
        of_close = (close - prev) / close
    present = np.isfinite(change)
    checkable = present & np.isfinite(ret)
    m_prev = checkable & (np.abs(change - ret) <= tol)
    m_pct = checkable & ~m_prev & (np.abs(change / 100.0 - ret) <= tol)
    m_close = checkable & ~m_prev & ~m_pct & (np.abs(change - of_close) <= tol)
    matched = m_prev | m_pct | m_close
    out = np.where(matched, ret, np.nan)
    counts = {
        "change_rows": int(present.sum()),
        "change_close_over_prev": int(m_prev.sum()),
        "change_percent": int(m_pct.sum()),
        "change_of_close": int(m_close.sum()),
        "change_unexplained": int((checkable & ~matched).sum()),
        "change_unchecked": int((present & ~checkable).sum()),
    }
    return out, counts


def _read_krx_dir(p: Path, price_basis: str | None) -> _Read:
    prices_path = p / "prices.parquet"
    names = _header(prices_path, "parquet")
    _resolve_columns(prices_path, names, KRX_DIR_PRICE_REQUIRED, (), LONG_SYNONYMS, "krx-dir prices")
    optional = [c for c in ("change", "change_ratio", "value", "market_cap", "shares", "name", "market",
                            "sector") if c in names]
    table = pq.read_table(prices_path, columns=[*KRX_DIR_PRICE_REQUIRED, *optional],
                          read_dictionary=[c for c in ("name", "market", "sector") if c in optional])
    meta_columns = [c for c in ("name", "market", "sector") if c in optional]
    # per-code text columns stay dictionary-encoded in Arrow; only each code's last row is converted
    df = table.drop_columns(meta_columns).to_pandas()
    n = len(df)
    position = np.arange(n)
    df.index = np.arange(1, n + 1)
    manifest = _manifest(p)
    notes: list[str] = []
    stats: dict[str, Any] = {"rows_in_file": n}
    label = p.name

    basis = price_basis
    if basis is None:
        declared = str(manifest.get("prices_adjusted_or_raw", "adjusted")).strip().lower()
        basis = "raw" if declared.startswith("raw") else "adjusted"

    code_ids, code_uniques = pd.factorize(df["code"], sort=True)
    dates_parsed, _ = parse_dates(df["date"])
    day = dates_parsed.to_numpy().astype("datetime64[D]")
    day_int = day.astype("int64")
    if n > 1:
        in_order = (code_ids[1:] > code_ids[:-1]) | ((code_ids[1:] == code_ids[:-1])
                                                     & (day_int[1:] >= day_int[:-1]))
        if not in_order.all():
            order = np.lexsort((day_int, code_ids))
            df = df.iloc[order]
            position = position[order]
            code_ids, day, day_int = code_ids[order], day[order], day_int[order]
            dates_parsed = dates_parsed.iloc[order]
    same = np.zeros(n, dtype=bool)
    same[1:] = code_ids[1:] == code_ids[:-1]

    close = df["close"].to_numpy(dtype="float64")
    prev = np.full(n, np.nan)
    if n > 1:
        prev[1:] = close[:-1]
    prev[~same] = np.nan

    prices = pd.DataFrame({
        "code": df["code"],
        "date": df["date"],
        "open": df["open"].astype("float64"),
        "high": df["high"].astype("float64"),
        "low": df["low"].astype("float64"),
        "close": close,
        "volume": df["volume"].astype("float64"),
    }, index=df.index)
    volume = prices["volume"].to_numpy()
    halted = ((prices["open"].to_numpy() == 0) & (prices["high"].to_numpy() == 0)
              & (prices["low"].to_numpy() == 0))
    stats["halted_rows"] = blank_halted(prices)
    stats["halted_rows_with_volume"] = int((halted & (volume > 0)).sum())
    notes.append(_halt_note(stats["halted_rows"], n)
                 + (f"; {stats['halted_rows_with_volume']} of them report volume > 0"
                    if stats["halted_rows_with_volume"] else ""))

    unavailable: dict[str, str] = {}
    reasons = {
        "value": f"the {label} sample has no daily traded value (거래대금); vwap cannot be derived and is "
                 "never approximated by close",
        "market_cap": f"the {label} sample has no daily market cap; the market-cap snapshot in "
                      "tickers.parquet is not point in time and is not used as a daily series",
        "shares": f"the {label} sample has no daily share counts; the share snapshot in tickers.parquet "
                  "is not point in time and is not used",
    }
    for col, reason in reasons.items():
        if col in df.columns:
            prices[col] = df[col].astype("float64")
        else:
            prices[col] = np.nan
            unavailable[col] = reason
    if "value" in unavailable:
        unavailable["vwap"] = reasons["value"]
    unavailable["flows"] = f"the {label} sample has no investor flows"

    if "change_ratio" in df.columns:
        prices["change_ratio"] = df["change_ratio"].astype("float64")
    elif "change" in df.columns:
        ratio, counts = _decode_change(df["change"].to_numpy(dtype="float64"), close, prev)
        prices["change_ratio"] = ratio
        stats.update(counts)
        notes.append(
            "change column decoded row by row into change_ratio = close / prev_close - 1 (fraction): "
            f"{counts['change_of_close']:,} rows were (close - prev) / close, "
            f"{counts['change_close_over_prev']:,} close / prev - 1, {counts['change_percent']:,} percent; "
            f"{counts['change_unexplained']:,} rows matched no formula (e.g. zeros on a duplicated update "
            f"day) and {counts['change_unchecked']:,} had no previous close -> missing. The sample's change "
            "is derived from its own adjusted closes, not the exchange's 등락률"
        )
    else:
        prices["change_ratio"] = np.nan
        unavailable["change_ratio"] = f"the {label} sample has no change column"
    prices = prices.loc[:, list(PRICE_COLUMNS)]

    # price-quality counts (kept as they are; `lasps data check` reports them row by row)
    o = prices["open"].to_numpy()
    hi = prices["high"].to_numpy()
    lo = prices["low"].to_numpy()
    with np.errstate(invalid="ignore"):
        outside = np.isfinite(hi) & ((close > hi) | (close < lo))
        deviation = np.where(outside, np.maximum(close - hi, lo - close), 0.0)
        open_outside = np.isfinite(hi) & ((o > hi) | (o < lo))
    stats["close_outside_low_high"] = int(outside.sum())
    stats["close_outside_max_krw"] = float(deviation.max()) if n else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(outside, deviation / close, 0.0)
    stats["close_outside_beyond_1pct"] = int((rel > 0.01).sum())
    stats["open_outside_low_high"] = int(open_outside.sum())
    severity = outside_severity(outside_krw(o, hi, lo, close), close, np.full(n, basis == "adjusted"))
    stats["outside_range_notes"] = int((severity == "note").sum())
    stats["outside_range_errors"] = int((severity == "error").sum())
    notes.append(
        f"close outside the low-high range in prices.parquet: {stats['close_outside_low_high']:,} rows "
        f"({stats['close_outside_low_high'] / max(n, 1):.2%}; up to {stats['close_outside_max_krw']:,.0f} KRW, "
        f"{stats['close_outside_beyond_1pct']} beyond 1 %) — kept as they are; by the one rule of "
        f"`lasps data check` {stats['outside_range_notes']:,} are rounding of adjusted prices (notes) and "
        f"{stats['outside_range_errors']:,} errors"
    )
    zero_vol = (volume == 0) & ~halted
    stats["zero_volume_rows_with_prices"] = int(zero_vol.sum())
    if stats["zero_volume_rows_with_prices"]:
        notes.append(f"zero-volume days with prices (not halted) in prices.parquet: "
                     f"{stats['zero_volume_rows_with_prices']:,} "
                     "rows (no trade; prices are the base price)")

    with np.errstate(divide="ignore", invalid="ignore"):
        ret = close / prev - 1.0
    jump = beyond_limit(ret, day)
    stats["jumps_beyond_limit"] = int(jump.sum())
    examples = ""
    if jump.any():
        jidx = np.flatnonzero(jump)
        top = jidx[np.argsort(-np.abs(np.log1p(ret[jidx])))][:5]
        examples = "; e.g. " + ", ".join(
            f"{code_uniques[code_ids[i]]} {day[i]!s} {ret[i]:+.1%}" for i in top)
    notes.append(
        f"one-day moves beyond the daily price limit (+1 pp): {stats['jumps_beyond_limit']} "
        f"(unexplained jumps, e.g. an adjustment basis that changed between download dates){examples}; "
        "kept as they are and quarantined as suspect jumps (`lasps data check` lists them; DESIGN 2.3)"
    )

    # -- per-code metadata -------------------------------------------------------------------------
    last_mask = np.ones(n, dtype=bool)
    if n > 1:
        last_mask[:-1] = code_ids[1:] != code_ids[:-1]
    last = df[last_mask].copy()
    last["code"] = last["code"].astype(str)
    if meta_columns:
        meta = table.select(meta_columns).take(position[last_mask]).to_pandas()
        for column in meta_columns:
            last[column] = meta[column].to_numpy(dtype=object)
    del table
    last.attrs.update({_ROWS_ORIGIN: str(prices_path), "row_kind": "parquet"})
    tickers = _read_tickers(p)
    by_code = tickers.set_index("code") if len(tickers) else None

    def lookup(column: str) -> pd.Series:
        if by_code is None or column not in by_code.columns:
            return pd.Series([None] * len(last), index=last.index, dtype=object)
        return pd.Series(by_code[column].reindex(last["code"]).to_numpy(dtype=object), index=last.index,
                         dtype=object)

    def own(column: str) -> pd.Series:
        if column in last.columns:
            return obj_map(last[column], lambda v: None if is_missing(v) else v)
        return pd.Series([None] * len(last), index=last.index, dtype=object)

    def first_of(*series: pd.Series) -> pd.Series:
        rows = zip(*(s.to_numpy(dtype=object) for s in series), strict=True)
        return pd.Series([next((v for v in row if not is_missing(v)), None) for row in rows],
                         index=last.index, dtype=object)

    name = first_of(own("name"), lookup("name"))
    market = first_of(obj_map(own("market"), normalize_market),
                      obj_map(lookup("market"), normalize_market),
                      obj_map(lookup("market_2025_raw"), normalize_market))
    market_by_code = dict(zip(last["code"], market, strict=True))
    parent_used: list[str] = []
    for i, (code, m) in enumerate(zip(last["code"], market, strict=True)):
        if m is None and code[-1] != "0":
            parent = market_by_code.get(code[:5] + "0")
            if parent is not None:
                market.iloc[i] = parent
                parent_used.append(code)
    sector = obj_map(first_of(own("sector"), lookup("sector")),
                     lambda v: None if is_missing(v) or not str(v).strip() else str(v).strip())

    unknown = np.array([m is None for m in market], dtype=bool)
    dropped = pd.DataFrame(columns=["code", "name", "rows", "reason"])
    if unknown.any():
        drop_codes = last["code"][unknown]
        drop_ids = code_ids[last_mask][unknown]
        rows_per_code = np.bincount(code_ids, minlength=len(code_uniques))
        dropped = pd.DataFrame({
            "code": drop_codes.to_numpy(),
            "name": name[unknown].to_numpy(),
            "rows": rows_per_code[drop_ids],
            "reason": "market unknown (no label in prices.parquet or tickers.parquet, not a preferred "
                      "share of a known common share); the stock list requires KOSPI/KOSDAQ/KONEX",
        })
        n_spac = sum(classify_kind(c, nm or "") == "spac" for c, nm in zip(dropped["code"], dropped["name"],
                                                                           strict=True))
        market = market.where(~unknown, MARKET_UNKNOWN)
        notes.append(
            f"kept {len(dropped)} codes ({int(dropped['rows'].sum()):,} rows) whose market is unknown as market "
            f"{MARKET_UNKNOWN} ({n_spac} of them SPACs; e.g. {', '.join(dropped['code'].head(5))}): outside "
            "the market-based universes (default, kospi, kosdaq, topN), in `all` and code lists; supply their "
            "market in a long-format file to place them"
        )
        stats["market_unknown_codes"] = len(dropped)
        dropped = dropped.iloc[0:0]
    stats["dropped_codes"] = len(dropped)
    stats["dropped_rows"] = int(dropped["rows"].sum()) if len(dropped) else 0
    if parent_used:
        notes.append(f"market of {len(parent_used)} preferred shares taken from their common share "
                     f"(code ending in 0), e.g. {', '.join(parent_used[:5])}")
    stats["market_from_common_share"] = len(parent_used)

    kinds = pd.Series([classify_kind(c, nm or "") for c, nm in zip(last["code"], name, strict=True)],
                      index=last.index, dtype=object)
    stocks = _stock_rows(last, name=name, market=market, sector_code=None, sector_name=sector, kind=kinds,
                         price_basis=basis)
    stats["codes"] = len(stocks)
    stats["rows"] = len(prices)
    stats["kinds"] = {k: int(v) for k, v in kinds.value_counts().items()}
    unmapped = stocks["sector_id"].isna()
    stats["unmapped_sector_codes"] = int(unmapped.sum())
    stats["codes_without_sector_label"] = int(stocks["sector_name"].isna().sum())
    notes.append(
        "sectors: static KSIC industry labels (not KRX sector-index codes, not point in time) stored as "
        f"sector_name; {int(unmapped.sum())} of {len(stocks)} codes could not be mapped to a LASPS sector "
        f"({stats['codes_without_sector_label']} have no label at all) and are reported, not defaulted"
    )
    notes.append(f"price basis: {basis} (수정주가 as downloaded); the store derives no adjustments for "
                 "these codes" if basis == "adjusted" else f"price basis: {basis}")
    notes.append("names, markets and sectors are static snapshots (not point in time); listed_date left "
                 "empty (the sample's listing dates contradict its price history for some codes)")

    # survivorship
    last_day = day.max() if n else None
    ends_early = int((day[last_mask] < last_day).sum()) if n else 0
    stats["codes_ending_before_last_date"] = ends_early
    notes.append(
        f"survivors only: the sample holds the {len(code_uniques):,} codes listed at its end "
        f"({ends_early} end before its last date); codes delisted during the period are missing, so "
        "any universe built from it is survivorship-biased — reports must say so"
    )

    prices.attrs.update({_ROWS_ORIGIN: str(prices_path), "row_kind": "parquet"})
    index = _read_krx_index(p, notes, stats)
    bundle = MarketBundle(source="files", stocks=stocks, prices=prices, index=index,
                          unavailable=unavailable)
    return _Read(bundle=bundle, fmt="krx-dir", origin=str(p), notes=notes, dropped=dropped,
                        stats=stats)


def _read_tickers(p: Path) -> pd.DataFrame:
    path = p / "tickers.parquet"
    if not path.is_file():
        return pd.DataFrame()
    names = _header(path, "parquet")
    if "code" not in names:
        return pd.DataFrame()
    wanted = [c for c in ("code", "name", "market", "market_2025_raw", "sector") if c in names]
    frame = pq.read_table(path, columns=wanted).to_pandas()
    frame["code"] = frame["code"].astype(str)
    return frame.drop_duplicates("code", keep="last")


def _read_krx_index(p: Path, notes: list[str], stats: dict[str, Any]) -> pd.DataFrame:
    path = p / "index.parquet"
    if not path.is_file():
        notes.append("no index.parquet: KOSPI/KOSDAQ index prices not imported")
        return pd.DataFrame({c: pd.Series(dtype=object) for c in INDEX_COLUMNS})
    names = _header(path, "parquet")
    name_col = next((c for c in ("index_code", "index", "code", "name") if c in names), None)
    if name_col is None:
        raise InputDataError(f"{path}: required column 'index' is missing",
                             where=f"{path}, column 'index' (header); columns found: {names}",
                             fix="name the index column 'index' (KOSPI/KOSDAQ) or 'index_code' (1001/2001)")
    _resolve_columns(path, names, ("date", "close"), (), LONG_SYNONYMS, "index")
    frame = pq.read_table(path).to_pandas()
    frame.index = np.arange(1, len(frame) + 1)
    frame.attrs.update({_ROWS_ORIGIN: str(path), "row_kind": "parquet"})
    raw = frame[name_col].astype(str).str.strip()
    codes = raw.str.upper().map(INDEX_NAME_CODES)
    bad = codes.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputDataError(
            f"{path}: index {raw.iloc[pos]!r} is not KOSPI or KOSDAQ",
            where=f"{path}, column '{name_col}', row {int(frame.index[pos])} (1-based data row)",
            fix="use KOSPI/KOSDAQ (or the index codes 1001/2001)",
        )
    out = pd.DataFrame({"index_code": codes, "date": frame["date"]}, index=frame.index)
    for col in ("open", "high", "low", "close", "volume", "value"):
        out[col] = frame[col].astype("float64") if col in frame.columns else np.nan
    out.attrs.update(frame.attrs)
    counts = out["index_code"].value_counts().to_dict()
    stats["index_rows"] = {str(k): int(v) for k, v in counts.items()}
    notes.append("index: " + ", ".join(f"{INDEX_NAME_CODES.get(k, k)} ({'KOSPI' if k == '1001' else 'KOSDAQ'}) "
                                        f"{v:,} rows" for k, v in sorted(stats["index_rows"].items()))
                 + "; value (거래대금) in KRW")
    return out.loc[:, list(INDEX_COLUMNS)]


# -- the files Source ----------------------------------------------------------------------------
class FilesSource:
    """A :class:`~lasps.data.sources.base.Source` over an imported file or directory (read once, lazily)."""

    name = "files"
    fetch_mode: FetchMode = "by_range"

    def __init__(self, path: str | Path, fmt: str = "auto", price_basis: str | None = None,
                 settings: object | None = None) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self._basis = price_basis
        self._result: ImportResult | None = None

    @property
    def result(self) -> ImportResult:
        if self._result is None:
            self._result = import_path(self.path, self.fmt, price_basis=self._basis)
        return self._result

    @property
    def price_basis(self) -> str:  # type: ignore[override]
        bases = self.result.bundle.stocks["price_basis"]
        return str(bases.iloc[0]) if len(bases) else (self._basis or "raw")

    def stocks(self, date: dt.date) -> pd.DataFrame:
        return self.result.bundle.stocks.copy()

    def _window(self, frame: pd.DataFrame, date_from: dt.date, date_to: dt.date) -> np.ndarray:
        dates, _ = parse_dates(frame["date"])
        return ((dates >= pd.Timestamp(as_date(date_from))) & (dates <= pd.Timestamp(as_date(date_to)))).to_numpy()

    def daily(self, date_from: dt.date, date_to: dt.date, codes: Sequence[str] | None = None) -> MarketBundle:
        bundle = self.result.bundle
        mask = self._window(bundle.prices, date_from, date_to)
        if codes is not None:
            mask = mask & bundle.prices["code"].astype(str).isin(list(codes)).to_numpy()
        prices = bundle.prices[mask]
        stocks = bundle.stocks[bundle.stocks["code"].isin(set(prices["code"].astype(str)))]
        return MarketBundle(source="files", stocks=stocks, prices=prices, unavailable=dict(bundle.unavailable))

    def index(self, code: str, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
        frame = self.result.bundle.index
        if len(frame) == 0:
            return frame
        return frame[self._window(frame, date_from, date_to) & (frame["index_code"] == code).to_numpy()]

    def flows(self, date_from: dt.date, date_to: dt.date, codes: Sequence[str] | None = None) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FLOW_COLUMNS})
