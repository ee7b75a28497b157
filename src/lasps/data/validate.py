"""Validation and dtype normalisation of a :class:`~lasps.data.bundle.MarketBundle` before it is stored.

:func:`validate_bundle` runs **before** the store opens its transaction, so bad input never changes the
database. Every problem is an :class:`~lasps.errors.InputDataError` that names the file (``origin``),
the column, the **first** offending row and the fix. Row numbers follow the file the rows came from:

- CSV: 1-based line numbers with the header as row 1 (the first data row is row 2);
- Parquet: 1-based data rows (the file has no header row);
- anything else (a network source's response): 1-based position in the frame.

Readers (:mod:`lasps.data.sources.files`) record where each row came from by setting the frame's index
to the file row number and ``frame.attrs["row_kind"]`` to ``"csv"`` or ``"parquet"``;
``frame.attrs["origin"]`` (the file path) wins over the ``origin`` argument when present.

Normalised dtypes (the store's contract):

- ``code`` / ``index_code``: ``str``; a code must be a 6-character KRX short code (``is_valid_code``);
- ``date``: ``datetime64`` at midnight (one trading day; time of day and time zone are dropped, a
  tz-aware stamp is converted to Asia/Seoul first);
- prices, volume, value, market cap, shares, ratios, flows: ``float64`` (missing = NaN);
- ``stocks.sector_id``: nullable ``Int16`` (0..12, ``<NA>`` = unmapped, never defaulted);
- ``stocks.listed_date`` / ``delisted_date``: ``datetime64`` (NaT = unknown).

Checks are vectorised; validating the 2.2 M-row real sample takes about 0.3 s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from lasps.data.bundle import MarketBundle
from lasps.data.schema import (
    FLOW_COLUMNS,
    INDEX_COLUMNS,
    KINDS,
    MARKETS,
    PRICE_BASES,
    PRICE_COLUMNS,
    STOCK_COLUMNS,
)
from lasps.data.sectors import NUM_SECTORS, map_sector
from lasps.data.universe import CODE_PATTERN, classify_kind
from lasps.errors import InputDataError

KST = ZoneInfo("Asia/Seoul")

#: Spellings of the three KRX markets seen in KRX, pykrx, FinanceDataReader, marcap and Kiwoom data.
MARKET_ALIASES: dict[str, str] = {
    "KOSPI": "KOSPI", "유가증권": "KOSPI", "유가증권시장": "KOSPI", "유가": "KOSPI", "코스피": "KOSPI",
    "STK": "KOSPI", "KSE": "KOSPI", "KS": "KOSPI", "Y": "KOSPI",
    "KOSDAQ": "KOSDAQ", "KOSDAQ GLOBAL": "KOSDAQ", "KOSDAQGLOBAL": "KOSDAQ", "코스닥": "KOSDAQ",
    "코스닥시장": "KOSDAQ", "KSQ": "KOSDAQ", "KQ": "KOSDAQ", "K": "KOSDAQ",
    "KONEX": "KONEX", "코넥스": "KONEX", "KNX": "KONEX", "N": "KONEX",
}

#: Textual markers of a missing value in CSV files (besides an empty cell).
MISSING_TOKENS = frozenset({"", "nan", "NaN", "NAN", "NA", "N/A", "null", "NULL", "None", "-", "--"})

PRICE_REQUIRED = ("code", "date", "open", "high", "low", "close", "volume")
PRICE_OPTIONAL = ("value", "market_cap", "shares", "change_ratio")
INDEX_REQUIRED = ("index_code", "date", "close")
FLOW_REQUIRED = ("code", "date")
STOCK_REQUIRED = ("code", "market")

_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d")


def normalize_market(value: object) -> str | None:
    """``'KOSPI'``/``'KOSDAQ'``/``'KONEX'`` for any known spelling, ``None`` for a missing value.

    An unknown spelling is returned upper-cased and unchanged so that :func:`validate_bundle` can report
    it (it is never guessed).

    >>> normalize_market("KOSDAQ GLOBAL"), normalize_market("유가증권"), normalize_market(None)
    ('KOSDAQ', 'KOSPI', None)
    """
    if is_missing(value):
        return None
    text = str(value).strip()
    if text in MISSING_TOKENS:
        return None
    key = " ".join(text.upper().split())
    return MARKET_ALIASES.get(key, MARKET_ALIASES.get(text, key))


def is_missing(value: object) -> bool:
    """True for None, NaN, NaT and pd.NA."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def obj_map(values: pd.Series, fn: Callable[[object], object]) -> pd.Series:
    """``fn`` applied per cell, as an ``object`` Series (pandas 3's ``map`` would infer ``str`` and turn
    ``None`` into NaN)."""
    return pd.Series([fn(v) for v in values.to_numpy(dtype=object)], index=values.index, dtype=object)


# -- locating an offending row ------------------------------------------------------------------
def _file_of(frame: pd.DataFrame, origin: str) -> str:
    return str(frame.attrs.get("origin") or origin)


def _row_text(frame: pd.DataFrame, pos: int) -> str:
    kind = frame.attrs.get("row_kind")
    if kind == "csv":
        return f"row {int(frame.index[pos])} (row 1 is the header)"
    if kind == "parquet":
        return f"row {int(frame.index[pos])} (1-based data row)"
    return f"row {pos + 1}"


def _where(frame: pd.DataFrame, origin: str, column: str, pos: int | None) -> str:
    place = f"{_file_of(frame, origin)}, column '{column}'"
    if pos is not None:
        place += f", {_row_text(frame, pos)}"
    return place


def _first(mask: np.ndarray | pd.Series) -> int | None:
    arr = np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(arr)
    return int(idx[0]) if len(idx) else None


def _cell(frame: pd.DataFrame, column: str, pos: int) -> str:
    value = frame[column].iloc[pos]
    return repr(value if not isinstance(value, np.generic) else value.item())


def _fail(frame: pd.DataFrame, origin: str, column: str, pos: int | None, what: str, fix: str,
          count: int | None = None) -> InputDataError:
    file = _file_of(frame, origin)
    if count is not None and count > 1:
        what = f"{what} ({count:,} rows in total; the first is shown)"
    return InputDataError(f"{file}: {what}", where=_where(frame, origin, column, pos), fix=fix)


# -- column checks ------------------------------------------------------------------------------
def _check_columns(frame: pd.DataFrame, origin: str, table: str, required: Iterable[str],
                   expected: tuple[str, ...]) -> None:
    found = [str(c) for c in frame.columns]
    for col in required:
        if col not in frame.columns:
            raise InputDataError(
                f"{_file_of(frame, origin)}: required column '{col}' is missing from the {table} data",
                where=f"{_file_of(frame, origin)}, column '{col}' (header); columns found: {found}",
                fix=f"provide the column '{col}' (expected columns: {', '.join(expected)}); "
                    "rename the file's column if it has another name",
            )


# -- dtype normalisation ------------------------------------------------------------------------
def _codes(frame: pd.DataFrame, origin: str, column: str = "code") -> pd.Series:
    """Codes as ``str``; raise on a missing code or one that is not a 6-character KRX code."""
    raw = frame[column]
    missing = raw.isna().to_numpy()
    pos = _first(missing)
    if pos is not None:
        raise _fail(frame, origin, column, pos, f"empty {column}",
                    "every row needs a 6-character KRX code such as 005930", int(missing.sum()))
    if pd.api.types.is_numeric_dtype(raw.dtype):
        raise _fail(frame, origin, column, 0,
                    f"{column} values are numbers ({_cell(frame, column, 0)}), so leading zeros are lost",
                    "store codes as text, zero-padded to 6 characters (5930 -> 005930); when saving from "
                    "Excel format the column as text")
    codes = raw.astype(str)
    uniques = pd.unique(codes.to_numpy())
    valid = {u: bool(CODE_PATTERN.match(u)) for u in uniques}
    if not all(valid.values()):
        bad = codes.map(valid).to_numpy() == False  # noqa: E712
        pos = _first(bad)
        assert pos is not None
        raise _fail(frame, origin, column, pos,
                    f"{column} {_cell(frame, column, pos)} is not a 6-character KRX code",
                    "use 6 characters, digits or upper-case letters (005930, 0000H0); zero-pad numeric "
                    "codes (5930 -> 005930) and strip exchange prefixes or suffixes (A005930, 005930.KS)",
                    int(bad.sum()))
    return codes


def _index_codes(frame: pd.DataFrame, origin: str) -> pd.Series:
    raw = frame["index_code"]
    codes = raw.astype(str).str.strip()
    bad = (raw.isna() | ~codes.str.fullmatch(r"\d{4}")).to_numpy()
    pos = _first(bad)
    if pos is not None:
        raise _fail(frame, origin, "index_code", pos,
                    f"index_code {_cell(frame, 'index_code', pos)} is not a 4-digit KRX index code",
                    "use 1001 for KOSPI and 2001 for KOSDAQ", int(bad.sum()))
    return codes


def _as_text(values: pd.Series) -> pd.Series:
    """Cells as stripped ``string`` with every missing marker turned into ``<NA>`` (vectorised)."""
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy()
        whole = np.isfinite(arr) & (arr == np.round(arr))
        text = values.astype("string")
        text[whole] = values[whole].astype("int64").astype("string")
    elif pd.api.types.is_integer_dtype(values.dtype):
        text = values.astype("Int64").astype("string")
    else:
        text = values.astype("string").str.strip()
    return text.mask(text.isin(list(MISSING_TOKENS)))


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse dates to ``datetime64`` midnights; returns ``(parsed, bad)`` where ``bad`` marks unparseable cells.

    Accepts ``datetime64`` (tz-aware stamps are converted to KST), ``YYYY-MM-DD``, ``YYYYMMDD`` (text or
    integer), ``YYYY/MM/DD``, ``YYYY.MM.DD`` and ISO 8601 with a time of day (dropped). Missing cells are
    NaT and **not** marked bad (the caller decides whether a missing date is allowed).
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert(KST).dt.tz_localize(None).dt.normalize()
        return parsed, np.zeros(len(values), dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.normalize(), np.zeros(len(values), dtype=bool)
    text = _as_text(values)
    todo = text.notna().to_numpy().copy()
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    for fmt in (*_DATE_FORMATS, "ISO8601"):
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        attempt = pd.to_datetime(text.iloc[idx], format=fmt, errors="coerce")
        if isinstance(attempt.dtype, pd.DatetimeTZDtype):
            attempt = attempt.dt.tz_convert(KST).dt.tz_localize(None)
        ok = attempt.notna().to_numpy()
        out[idx[ok]] = attempt[ok].to_numpy().astype("datetime64[us]")
        todo[idx[ok]] = False
    parsed = pd.Series(out, index=values.index).dt.normalize()
    return parsed, todo


def _dates(frame: pd.DataFrame, origin: str, column: str, today: dt.date, *, required: bool) -> pd.Series:
    parsed, bad = parse_dates(frame[column])
    pos = _first(bad)
    if pos is not None:
        raise _fail(frame, origin, column, pos,
                    f"{column} {_cell(frame, column, pos)} is not a date",
                    "write dates as YYYY-MM-DD (e.g. 2021-01-04) or YYYYMMDD", int(bad.sum()))
    if required:
        missing = parsed.isna().to_numpy()
        pos = _first(missing)
        if pos is not None:
            raise _fail(frame, origin, column, pos, f"empty {column}",
                        "every row needs a trading date (YYYY-MM-DD)", int(missing.sum()))
    future = (parsed > pd.Timestamp(today)).to_numpy()
    pos = _first(future)
    if pos is not None:
        raise _fail(frame, origin, column, pos,
                    f"{column} {parsed.iloc[pos].date()} is in the future (today is {today})",
                    "remove rows dated after today; check the date format (day/month swapped?) and the "
                    "year", int(future.sum()))
    return parsed


def _numeric(frame: pd.DataFrame, origin: str, column: str, *, nonnegative: bool,
             positive: bool = False) -> pd.Series:
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw.dtype):
        raise _fail(frame, origin, column, 0, f"{column} holds true/false values, not numbers",
                    f"put numbers in '{column}'")
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.astype("float64")
    else:
        text = _as_text(raw).str.replace(",", "", regex=False)
        numbers = pd.to_numeric(text, errors="coerce")
        values = pd.Series(numbers.to_numpy(dtype="float64", na_value=np.nan), index=raw.index)
        bad = (values.isna() & text.notna()).to_numpy()
        pos = _first(bad)
        if pos is not None:
            raise _fail(frame, origin, column, pos,
                        f"{column} {_cell(frame, column, pos)} is not a number",
                        f"'{column}' must be numeric (KRW / shares); leave missing values empty",
                        int(bad.sum()))
    arr = values.to_numpy()
    if np.isinf(arr).any():
        pos = _first(np.isinf(arr))
        raise _fail(frame, origin, column, pos, f"{column} is infinite", f"'{column}' must be finite")
    if positive:
        bad = arr <= 0
        pos = _first(bad)
        if pos is not None:
            raise _fail(frame, origin, column, pos,
                        f"{column} {_cell(frame, column, pos)} is not a positive price",
                        "prices must be > 0; leave a missing price empty (halted days with "
                        "open = high = low = 0 are converted to missing by the importers)", int(bad.sum()))
    elif nonnegative:
        bad = arr < 0
        pos = _first(bad)
        if pos is not None:
            raise _fail(frame, origin, column, pos,
                        f"{column} {_cell(frame, column, pos)} is negative",
                        f"'{column}' cannot be negative", int(bad.sum()))
    return values


def _duplicates(frame: pd.DataFrame, origin: str, keys: pd.DataFrame, columns: tuple[str, ...]) -> None:
    dup = keys.duplicated(keep="first").to_numpy()
    pos = _first(dup)
    if pos is None:
        return
    key_values = tuple(keys.iloc[pos])
    earlier = _first((keys == keys.iloc[pos]).all(axis=1).to_numpy())
    shown = ", ".join(f"{c}={v.date() if isinstance(v, pd.Timestamp) else v}"
                      for c, v in zip(columns, key_values, strict=True))
    first_row = _row_text(frame, earlier) if earlier is not None else "an earlier row"
    raise _fail(frame, origin, columns[-1], pos,
                f"duplicate key ({shown}); the same key is already at {first_row}",
                f"keep one row per ({', '.join(columns)}); remove the duplicate rows", int(dup.sum()))


def _carry_attrs(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    new.attrs.update(old.attrs)
    return new


# -- per-table validation -----------------------------------------------------------------------
def _validate_prices(frame: pd.DataFrame, origin: str, today: dt.date,
                     unavailable: dict[str, str]) -> pd.DataFrame:
    _check_columns(frame, origin, "daily price", PRICE_REQUIRED, PRICE_COLUMNS)
    out = pd.DataFrame(index=frame.index)
    out["code"] = _codes(frame, origin)
    out["date"] = _dates(frame, origin, "date", today, required=True)
    for col in ("open", "high", "low", "close"):
        out[col] = _numeric(frame, origin, col, nonnegative=True, positive=True)
    missing_close = out["close"].isna().to_numpy()
    pos = _first(missing_close)
    if pos is not None:
        raise _fail(frame, origin, "close", pos, "empty close",
                    "every price row needs a close (drop rows of days the code did not exist)",
                    int(missing_close.sum()))
    out["volume"] = _numeric(frame, origin, "volume", nonnegative=True)
    for col in PRICE_OPTIONAL:
        if col in frame.columns:
            out[col] = _numeric(frame, origin, col, nonnegative=col != "change_ratio")
        else:
            out[col] = np.nan
        if out[col].isna().all() and col not in unavailable:
            unavailable[col] = f"not provided by {_file_of(frame, origin)}"
    cr = out["change_ratio"].to_numpy()
    pos = _first(cr <= -1)
    if pos is not None:
        raise _fail(frame, origin, "change_ratio", pos,
                    f"change_ratio {_cell(frame, 'change_ratio', pos)} is <= -1 (a fall of 100 % or more)",
                    "change_ratio is a fraction (0.05 = +5 %); divide percentages by 100")
    _duplicates(frame, origin, out[["code", "date"]], ("code", "date"))
    return _carry_attrs(out.loc[:, list(PRICE_COLUMNS)], frame)


def _validate_index(frame: pd.DataFrame, origin: str, today: dt.date) -> pd.DataFrame:
    _check_columns(frame, origin, "index price", INDEX_REQUIRED, INDEX_COLUMNS)
    out = pd.DataFrame(index=frame.index)
    out["index_code"] = _index_codes(frame, origin)
    out["date"] = _dates(frame, origin, "date", today, required=True)
    for col in ("open", "high", "low", "close"):
        out[col] = (_numeric(frame, origin, col, nonnegative=True, positive=True)
                    if col in frame.columns else np.nan)
    for col in ("volume", "value"):
        out[col] = _numeric(frame, origin, col, nonnegative=True) if col in frame.columns else np.nan
    _duplicates(frame, origin, out[["index_code", "date"]], ("index_code", "date"))
    return _carry_attrs(out.loc[:, list(INDEX_COLUMNS)], frame)


def _validate_flows(frame: pd.DataFrame, origin: str, today: dt.date) -> pd.DataFrame:
    _check_columns(frame, origin, "investor flow", FLOW_REQUIRED, FLOW_COLUMNS)
    out = pd.DataFrame(index=frame.index)
    out["code"] = _codes(frame, origin)
    out["date"] = _dates(frame, origin, "date", today, required=True)
    for col in FLOW_COLUMNS[2:]:
        out[col] = (_numeric(frame, origin, col, nonnegative=col == "foreign_holding_ratio")
                    if col in frame.columns else np.nan)
    _duplicates(frame, origin, out[["code", "date"]], ("code", "date"))
    return _carry_attrs(out.loc[:, list(FLOW_COLUMNS)], frame)


def _text_or_none(values: pd.Series) -> pd.Series:
    def conv(v: object) -> object:
        if is_missing(v):
            return None
        s = str(v).strip()
        return None if s in MISSING_TOKENS else s

    return obj_map(values, conv)


def _validate_stocks(frame: pd.DataFrame, origin: str, today: dt.date) -> pd.DataFrame:
    _check_columns(frame, origin, "stock", STOCK_REQUIRED, STOCK_COLUMNS)
    out = pd.DataFrame(index=frame.index)
    out["code"] = _codes(frame, origin)
    names = _text_or_none(frame["name"]) if "name" in frame.columns else pd.Series(None, index=frame.index,
                                                                                   dtype=object)
    out["name"] = names.where(names.notna(), out["code"])  # a missing name is shown as the code

    markets = obj_map(frame["market"], normalize_market)
    missing = markets.isna().to_numpy()
    pos = _first(missing)
    if pos is not None:
        raise _fail(frame, origin, "market", pos,
                    f"market of code {out['code'].iloc[pos]} is unknown (empty)",
                    "add a 'market' value (KOSPI, KOSDAQ or KONEX) for every code", int(missing.sum()))
    bad = ~markets.isin(MARKETS).to_numpy()
    pos = _first(bad)
    if pos is not None:
        raise _fail(frame, origin, "market", pos,
                    f"market {_cell(frame, 'market', pos)} is not a KRX market",
                    f"use one of {', '.join(MARKETS)} (KOSDAQ GLOBAL counts as KOSDAQ)", int(bad.sum()))
    out["market"] = markets

    kinds = _text_or_none(frame["kind"]) if "kind" in frame.columns else pd.Series(None, index=frame.index,
                                                                                  dtype=object)
    kinds = obj_map(kinds, lambda k: k.lower() if isinstance(k, str) else k)
    bad = (kinds.notna() & ~kinds.isin(KINDS)).to_numpy()
    pos = _first(bad)
    if pos is not None:
        raise _fail(frame, origin, "kind", pos, f"kind {_cell(frame, 'kind', pos)} is not known",
                    f"use one of {', '.join(KINDS)}, or leave it empty to classify by code and name",
                    int(bad.sum()))
    fill = kinds.isna().to_numpy()
    if fill.any():
        kinds = kinds.copy()
        kinds[fill] = [classify_kind(c, n) for c, n in zip(out["code"][fill], out["name"][fill], strict=True)]
    out["kind"] = kinds

    out["sector_code"] = (_text_or_none(frame["sector_code"]) if "sector_code" in frame.columns
                          else pd.Series(None, index=frame.index, dtype=object))
    out["sector_name"] = (_text_or_none(frame["sector_name"]) if "sector_name" in frame.columns
                          else pd.Series(None, index=frame.index, dtype=object))
    if "sector_id" in frame.columns:
        sid = _numeric(frame, origin, "sector_id", nonnegative=True)
        arr = sid.to_numpy()
        bad = np.isfinite(arr) & ((arr != np.round(arr)) | (arr >= NUM_SECTORS))
        pos = _first(bad)
        if pos is not None:
            raise _fail(frame, origin, "sector_id", pos,
                        f"sector_id {_cell(frame, 'sector_id', pos)} is not a LASPS sector (0..{NUM_SECTORS - 1})",
                        "leave sector_id empty to map it from sector_code / sector_name", int(bad.sum()))
    else:
        sid = pd.Series(np.nan, index=frame.index)
    sid = sid.copy()
    todo = sid.isna().to_numpy()
    if todo.any():
        sid[todo] = [
            np.nan if (m := map_sector(c, n)) is None else float(m)
            for c, n in zip(out["sector_code"][todo], out["sector_name"][todo], strict=True)
        ]
    out["sector_id"] = pd.array(
        [pd.NA if np.isnan(v) else int(v) for v in sid.to_numpy(dtype="float64")], dtype="Int16"
    )
    for col in ("listed_date", "delisted_date"):
        if col in frame.columns:
            out[col] = _dates(frame, origin, col, today, required=False).astype("datetime64[us]")
        else:
            out[col] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    basis = (_text_or_none(frame["price_basis"]) if "price_basis" in frame.columns
             else pd.Series(None, index=frame.index, dtype=object))
    basis = basis.where(basis.notna(), "raw")
    bad = ~basis.isin(PRICE_BASES).to_numpy()
    pos = _first(bad)
    if pos is not None:
        raise _fail(frame, origin, "price_basis", pos,
                    f"price_basis {_cell(frame, 'price_basis', pos)} is not known",
                    f"use one of {', '.join(PRICE_BASES)}", int(bad.sum()))
    out["price_basis"] = basis
    dup = out["code"].duplicated().to_numpy()
    pos = _first(dup)
    if pos is not None:
        raise _fail(frame, origin, "code", pos, f"code {out['code'].iloc[pos]} is listed twice",
                    "keep one row per code in the stock list", int(dup.sum()))
    for col in ("name", "sector_code", "sector_name", "market", "kind", "price_basis"):
        out[col] = out[col].astype(object)
    return _carry_attrs(out.loc[:, list(STOCK_COLUMNS)], frame)


def _today() -> dt.date:
    return dt.datetime.now(KST).date()


def validate_bundle(bundle: MarketBundle, origin: str, *, today: dt.date | None = None) -> MarketBundle:
    """Check and normalise ``bundle``; return a new bundle ready for ``MarketStore.write_bundle``.

    Parameters
    ----------
    bundle:
        What a reader or source produced. It is not modified.
    origin:
        The file (or source request) the rows came from, named in every error; a frame's own
        ``attrs["origin"]`` wins (e.g. ``prices.parquet`` inside an imported directory).
    today:
        Dates after this day are rejected as future dates (default: today in KST).

    Raises
    ------
    InputDataError
        On empty input, missing required columns, codes that are not 6-character KRX codes, unparseable,
        empty or future dates, duplicate keys, non-numeric / negative / non-positive prices, unknown
        markets, kinds or price bases, sector ids outside 0..12. The message names the file, the column,
        the first offending row and the fix.

    Notes
    -----
    Fills ``stocks.kind`` with :func:`~lasps.data.universe.classify_kind` and ``stocks.sector_id`` with
    :func:`~lasps.data.sectors.map_sector` where they are missing; codes whose sector cannot be mapped
    keep ``<NA>`` and are listed by :func:`unmapped_sectors`. A missing ``stocks.name`` is set to the code.
    Optional price columns (value, market_cap, shares, change_ratio) that are absent or entirely empty
    are added as NaN and named in ``unavailable``. Frame ``attrs`` (origin, notes) are kept.
    """
    today = today or _today()
    n_rows = sum(len(f) for f in (bundle.prices, bundle.index, bundle.flows) if f is not None)
    if n_rows == 0:
        prices = bundle.prices if bundle.prices is not None else pd.DataFrame()
        raise InputDataError(
            f"{_file_of(prices, origin)}: no data rows (the input is empty)",
            where=(f"{_file_of(prices, origin)}, row 2 (the first data row after the header)"
                   if prices.attrs.get("row_kind") == "csv" else f"{_file_of(prices, origin)} (no rows)"),
            fix="check that the file is the right one and not truncated; it needs a header row and at "
                "least one data row",
        )
    unavailable = dict(bundle.unavailable)
    stocks = (_validate_stocks(bundle.stocks, origin, today) if len(bundle.stocks)
              else _carry_attrs(_empty_stocks(), bundle.stocks))
    prices = (_validate_prices(bundle.prices, origin, today, unavailable) if len(bundle.prices)
              else _carry_attrs(_empty(PRICE_COLUMNS), bundle.prices))
    index = (_validate_index(bundle.index, origin, today) if len(bundle.index)
             else _empty(INDEX_COLUMNS))
    flows = (_validate_flows(bundle.flows, origin, today) if len(bundle.flows)
             else _empty(FLOW_COLUMNS))
    return MarketBundle(source=bundle.source, stocks=stocks, prices=prices, index=index, flows=flows,
                        unavailable=unavailable)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    for col in ("code", "index_code"):
        if col in frame.columns:
            frame[col] = pd.Series(dtype=object)
    if "date" in frame.columns:
        frame["date"] = pd.Series(dtype="datetime64[us]")
    return frame


def _empty_stocks() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in STOCK_COLUMNS})
    frame["sector_id"] = pd.array([], dtype="Int16")
    frame["listed_date"] = pd.Series(dtype="datetime64[us]")
    frame["delisted_date"] = pd.Series(dtype="datetime64[us]")
    return frame


def unmapped_sectors(bundle: MarketBundle) -> pd.DataFrame:
    """Codes of ``bundle.stocks`` whose LASPS sector could not be mapped (``sector_id`` missing).

    Columns: ``code, name, market, sector_code, sector_name`` (sorted by code). These codes are to be
    reported (``unmapped_sectors`` table, CLI summary) — never put into a default sector.
    Works on validated and unvalidated bundles (a missing ``sector_id`` is mapped on the fly).
    """
    cols = ["code", "name", "market", "sector_code", "sector_name"]
    stocks = bundle.stocks
    if stocks is None or len(stocks) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    frame = stocks.reset_index(drop=True)
    get = {c: (frame[c] if c in frame.columns else pd.Series(None, index=frame.index, dtype=object))
           for c in (*cols, "sector_id")}
    sid = get["sector_id"].astype(object)
    mask = []
    for s, code, name in zip(sid, _text_or_none(get["sector_code"]), _text_or_none(get["sector_name"]),
                             strict=True):
        if s is None or s is pd.NA or (isinstance(s, float) and np.isnan(s)):
            mask.append(map_sector(code, name) is None)
        else:
            mask.append(False)
    out = pd.DataFrame({c: get[c].astype(object) for c in cols})[np.asarray(mask, dtype=bool)]
    out = out.where(out.notna(), None)
    return out.sort_values("code").reset_index(drop=True)


def record_unmapped_sectors(con: object, unmapped: pd.DataFrame) -> int:
    """Upsert ``unmapped`` (from :func:`unmapped_sectors`) into the store's ``unmapped_sectors`` table.

    ``con`` is a DuckDB connection (``MarketStore.con``); call it inside or after the write transaction.
    Returns the number of rows written.
    """
    if len(unmapped) == 0:
        return 0
    staged = pd.DataFrame({
        "code": unmapped["code"].astype(str),
        "sector_code": unmapped["sector_code"].astype(object),
        "sector_name": unmapped["sector_name"].astype(object),
    })
    con.register("_unmapped", staged)  # type: ignore[attr-defined]
    try:
        con.execute(  # type: ignore[attr-defined]
            "INSERT OR REPLACE INTO unmapped_sectors SELECT code, sector_code, sector_name, now() FROM _unmapped"
        )
    finally:
        con.unregister("_unmapped")  # type: ignore[attr-defined]
    return len(staged)
