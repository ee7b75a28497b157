"""Alpha values on disk: one Parquet file per alpha under ``$LASPS_HOME/alphas/`` (DESIGN §2.1).

Layout (format 3): ``alphas/alpha_001.parquet`` … (user alphas ``alphas/<name>.parquet``), long format
with columns ``date`` (date32, i.e. int32 days), ``code`` (string, dictionary-encoded: the panel's code
list once per row group plus ~12-bit indices) and ``value`` (float64), all REQUIRED (non-nullable: no
definition levels to encode or decode); NaN cells are not written; rows are sorted by date, then code
(panel order), in row groups of :data:`ROW_GROUP_ROWS` rows (whole dates stay together as far as the
size allows). Encodings are chosen for write CPU on a 2-core machine, column by column: ``date`` plain
+ LZ4 (sorted days: ~0.2 MB per alpha, without hashing every row), ``code`` written from a pre-built
dictionary array (no re-hashing of strings) + LZ4; ``value`` is dictionary-encoded + LZ4 when it
takes few distinct values (ranks, signs, booleans: ~4-15x smaller), otherwise byte-stream-split, and
then zstd 1 only when a ~1 ms sample says it saves >= 15 % (many zeros, few significant bits) —
continuous values (~10 % saving for twice the column's CPU) go to disk uncompressed. Min/max
statistics only for ``date`` (statistics on the dictionary-encoded ``code`` column would cost more
than everything else together). Readers need nothing special: ``pyarrow.parquet.read_table`` and
DuckDB see ``date, code, value`` with the types above, so format-1 files (the same logical schema,
plain strings) and format-2 files (OPTIONAL columns, zstd 1 everywhere) are read by the same code.
Per 11.6 M-cell alpha: ~0.17 s CPU continuous, 0.2-0.4 s dictionary or zstd values (format 2:
0.32-0.52 s); see ``docs/benchmarks.md``.

Each file records in its Parquet key-value metadata (key ``lasps.alpha``, JSON) what produced it: the
alpha name, the formula's canonical form, the conventions, the panel's first/last date, number of dates
and codes, a hash of the code list and of the input data, and the format version. :func:`is_current`
compares that record with the current request, which is what ``lasps alpha compute --resume`` uses to
skip alphas that are already up to date (a file of an older format is never current: it is rewritten).

Writes are atomic (:func:`lasps.files.atomic_write`: a temporary file in the same directory, fsynced,
renamed over the target, the directory fsynced), so a reader (or an interrupted run, even one killed with
``kill -9``) sees either the old file or the new one, never half a file.
:class:`AlphaWriter` does the same on a background thread so that compression and disk writes overlap
the computation of the next alpha (pyarrow releases the GIL while it encodes and writes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import queue
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit

from lasps.alpha.conventions import Conventions
from lasps.data.panel import Panel
from lasps.data.store import store_provider
from lasps.errors import StoreError
from lasps.files import atomic_write

__all__ = [
    "FORMAT_VERSION",
    "METADATA_KEY",
    "ROW_GROUP_ROWS",
    "SCHEMA",
    "AlphaWriter",
    "alpha_path",
    "alphas_dir",
    "expected_metadata",
    "is_current",
    "long_table",
    "panel_fingerprint",
    "read_alpha",
    "read_metadata",
    "register_views",
    "value_layout",
    "write_alpha",
    "write_table_atomic",
]

METADATA_KEY = b"lasps.alpha"
FORMAT_VERSION = 3
ROW_GROUP_ROWS = 1 << 20
"""Rows per Parquet row group (~260 dates of 4,000 codes): big enough for fast scans, small enough that
a one-date read (``date =`` filter, pruned by the ``date`` statistics) decodes one group."""

_ZSTD_LEVEL = 1
_ZSTD_MIN_SAVING = 0.15
_ZSTD_SAMPLE_VALUES = 32_768
_ZSTD_SAMPLE_BLOCKS = 4
"""Byte-stream-split ``value`` columns are zstd-compressed only when 4 sample blocks of 32k values shrink
by >= 15 % (values with many zeros, few significant bits); continuous values (~10 % saving for ~2x the
column's write CPU) are stored uncompressed."""
_WRITE_BATCH = 1 << 16
"""Values handed to a column writer per call (pyarrow's default of 1,024 costs per-batch overhead)."""
_DICT_SAMPLE = 200_000
_DICT_MAX_DISTINCT_SHARE = 0.25
"""``value`` is dictionary-encoded when a strided sample of this many values holds at most this share
of distinct values (ranks, signs, 0/1 conditions); otherwise byte-stream-split."""
_DICT_PAGE_LIMIT = 4 << 20
"""Dictionary page limit per column chunk (4 MB: up to ~500k distinct doubles before pyarrow falls
back to plain pages for the rest of the chunk)."""


def alphas_dir(home: Path | str) -> Path:
    """``$LASPS_HOME/alphas``."""
    return Path(home) / "alphas"


def alpha_path(home: Path | str, name: str) -> Path:
    """File of alpha ``name`` (``alpha_001`` or a user name)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise StoreError(f"invalid alpha name {name!r} for a file name")
    return alphas_dir(home) / f"{name}.parquet"


def codes_hash(codes: np.ndarray) -> str:
    """Stable hash of a code list (order matters)."""
    h = hashlib.sha256()
    for c in codes:
        h.update(str(c).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def panel_fingerprint(panel: Panel) -> str:
    """Hash of everything in ``panel`` an alpha can read: dates, codes, fields, industry, index closes.

    Changes when any value changes — e.g. a new split re-adjusts a code's history (DESIGN §3.4), so
    ``--resume`` recomputes instead of keeping values from the old adjustment basis. ~0.5 s for a
    2,900 x 4,000 panel.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(panel.dates.astype("datetime64[D]").astype(np.int64)).tobytes())
    h.update(codes_hash(panel.codes).encode())
    for name in sorted(panel.fields):
        h.update(name.encode())
        h.update(np.ascontiguousarray(panel.fields[name], dtype=np.float64).data)
    for name in sorted(panel.unavailable):
        h.update(f"unavailable:{name}".encode())
    if panel.industry is not None:
        h.update(np.ascontiguousarray(panel.industry, dtype=np.int64).tobytes())
    for code in sorted(panel.index):
        h.update(code.encode())
        h.update(np.ascontiguousarray(panel.index[code], dtype=np.float64).tobytes())
    return h.hexdigest()


def expected_metadata(name: str, canonical: str, conventions: Conventions, panel: Panel,
                      rows: slice | None = None, fingerprint: str | None = None) -> dict[str, Any]:
    """The metadata record a file for ``name`` computed now from ``panel`` would carry.

    ``rows`` restricts the written date range (``--start``: the panel holds extra warm-up history
    before the first written date). ``fingerprint`` (:func:`panel_fingerprint`) ties the file to the
    exact input values; without it only dates, codes, formula and conventions are compared.
    """
    dates = panel.dates[rows] if rows is not None else panel.dates
    return {
        "format": FORMAT_VERSION,
        "name": name,
        "formula": canonical,
        "conventions": dataclasses.asdict(conventions),
        "first_date": str(dates[0]) if len(dates) else None,
        "last_date": str(dates[-1]) if len(dates) else None,
        "n_dates": len(dates),
        "n_codes": len(panel.codes),
        "codes_hash": codes_hash(panel.codes),
        "data": fingerprint,
    }


SCHEMA = pa.schema([pa.field("date", pa.date32(), nullable=False),
                    pa.field("code", pa.dictionary(pa.int32(), pa.string()), nullable=False),
                    pa.field("value", pa.float64(), nullable=False)])
"""Arrow schema of :func:`long_table` (``code`` as an Arrow dictionary; on disk a plain string column).
The fields are non-nullable, so the Parquet columns are REQUIRED: no definition levels to compute,
encode and decode (format 3; format 1 and 2 files have the same columns as OPTIONAL, never null)."""

_CODE_STRINGS: tuple[np.ndarray, pa.Array] | None = None


def _code_strings(codes: np.ndarray) -> pa.Array:
    """``codes`` as an Arrow string array, built once per code list (the panel's ``(N,)`` codes are the
    same for every alpha of a run)."""
    global _CODE_STRINGS
    cached = _CODE_STRINGS
    if cached is not None and cached[0].shape == codes.shape and np.array_equal(cached[0], codes):
        return cached[1]
    strings = pa.array([str(c) for c in codes], type=pa.string())
    _CODE_STRINGS = (np.array(codes, copy=True), strings)  # a copy: the caller may change its array later
    return strings


def long_table(values: np.ndarray, dates: np.ndarray, codes: np.ndarray) -> pa.Table:
    """``date, code, value`` rows of the non-NaN cells of ``(T, N)`` ``values`` (dates ``(T,)``, codes
    ``(N,)``), sorted by date then code position; ``code`` is a dictionary array over ``codes``; schema
    :data:`SCHEMA` (non-nullable fields)."""
    vals = np.ascontiguousarray(values, dtype=np.float64)
    if vals.shape != (len(dates), len(codes)):
        raise StoreError(f"values of shape {vals.shape} do not match {len(dates)} dates x {len(codes)} codes")
    day = np.ascontiguousarray(dates.astype("datetime64[D]").astype(np.int32))
    row_day, col, cell = _compact(vals, day)
    return pa.table({
        "date": pa.array(row_day, type=pa.int32()).cast(pa.date32()),
        "code": pa.DictionaryArray.from_arrays(pa.array(col), _code_strings(codes)),
        "value": pa.array(cell, type=pa.float64()),
    }, schema=SCHEMA)


@njit(cache=True, nogil=True)
def _compact(vals: np.ndarray,
             day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - numba
    """Row-major scan of ``(T, N)`` ``vals``: (day, column, value) of every non-NaN cell."""
    T, N = vals.shape
    n = 0
    for t in range(T):
        for j in range(N):
            if not np.isnan(vals[t, j]):
                n += 1
    row_day = np.empty(n, np.int32)
    col = np.empty(n, np.int32)
    cell = np.empty(n, np.float64)
    k = 0
    for t in range(T):
        for j in range(N):
            v = vals[t, j]
            if not np.isnan(v):
                row_day[k] = day[t]
                col[k] = j
                cell[k] = v
                k += 1
    return row_day, col, cell


@njit(cache=True, nogil=True)
def _scatter(out: np.ndarray, panel_days: np.ndarray, day: np.ndarray, col: np.ndarray,
             values: np.ndarray) -> None:  # pragma: no cover - numba
    """``out[t, col[k]] = values[k]`` where ``panel_days[t] == day[k]``; rows with a day not in the panel
    or ``col < 0`` are skipped. One binary search per run of equal days (rows are sorted by date)."""
    T = panel_days.shape[0]
    prev = np.int64(-(2**62))
    t = -1
    for k in range(day.shape[0]):
        d = np.int64(day[k])
        if d != prev:
            prev = d
            t = np.searchsorted(panel_days, d)
            if t >= T or panel_days[t] != d:
                t = -1
        if t >= 0 and col[k] >= 0:
            out[t, col[k]] = values[k]


def _value_array(values: pa.ChunkedArray) -> np.ndarray:
    """The ``value`` column as float64 numpy (zero-copy for the usual single chunk without nulls)."""
    if values.num_chunks == 1 and values.null_count == 0:
        return values.chunk(0).to_numpy(zero_copy_only=False)
    return values.combine_chunks().to_numpy(zero_copy_only=False)


def _few_distinct(values: np.ndarray) -> bool:
    """Whether a strided sample of ``values`` holds few distinct values (see ``_DICT_MAX_DISTINCT_SHARE``)."""
    n = len(values)
    if n == 0:
        return True
    sample = values[:: max(1, n // _DICT_SAMPLE)]
    return len(np.unique(sample)) <= _DICT_MAX_DISTINCT_SHARE * len(sample)


def _zstd_pays(values: np.ndarray) -> bool:
    """Whether zstd shrinks byte-stream-split ``values`` by at least ``_ZSTD_MIN_SAVING``, judged on
    ``_ZSTD_SAMPLE_BLOCKS`` contiguous blocks of ``_ZSTD_SAMPLE_VALUES`` values spread over the column
    (byte-stream-split and compressed like a data page; ~1 ms)."""
    n = len(values)
    if n == 0:
        return False
    size = min(n, _ZSTD_SAMPLE_VALUES)
    starts = np.linspace(0, n - size, _ZSTD_SAMPLE_BLOCKS).astype(np.int64)
    codec = pa.Codec("zstd", compression_level=_ZSTD_LEVEL)
    raw = packed = 0
    for start in np.unique(starts):
        block = np.ascontiguousarray(values[start: start + size], dtype=np.float64)
        split = np.ascontiguousarray(block.view(np.uint8).reshape(-1, 8).T)  # byte-stream split
        raw += split.nbytes
        packed += codec.compress(split.tobytes()).size
    return packed <= (1.0 - _ZSTD_MIN_SAVING) * raw


def value_layout(values: np.ndarray) -> tuple[str, str]:
    """(encoding, compression) of the ``value`` column for ``(rows,)`` float64 ``values``:
    ``("RLE_DICTIONARY", "lz4")`` when a sample has few distinct values, else ``BYTE_STREAM_SPLIT``
    with ``"zstd"`` when a sample shrinks by ``_ZSTD_MIN_SAVING`` or more and ``"none"`` otherwise."""
    if _few_distinct(values):
        return "RLE_DICTIONARY", "lz4"  # zstd: ~25 % fewer bytes of an already small column, 0.03 s more
    return "BYTE_STREAM_SPLIT", "zstd" if _zstd_pays(values) else "none"


def write_table_atomic(table: pa.Table, path: Path) -> Path:
    """Write a ``date, code, value`` ``table`` to ``path`` in the store layout (see the module docstring),
    atomically (:func:`lasps.files.atomic_write`): readers see the old file or the new one, never a partial
    one. Columns are written REQUIRED (non-nullable): a ``table`` with nulls raises :class:`StoreError`."""
    holes = [name for name in table.column_names if table.column(name).null_count]
    if holes:
        raise StoreError(f"cannot store null cells (columns {', '.join(holes)}): NaN cells are left out instead")
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = table.schema.metadata or {}
    schema = pa.schema([field.with_nullable(False) for field in table.schema])
    table = table.cast(schema)
    dictionary = ["code"]
    encoding: dict[str, str] = {}
    compression = {name: "lz4" for name in table.column_names}
    level: dict[str, int] = {}
    if "date" in compression:
        encoding["date"] = "PLAIN"  # sorted days compress to almost nothing, without hashing every row
    if "value" in compression:
        value_encoding, compression["value"] = value_layout(_value_array(table.column("value")))
        if value_encoding == "RLE_DICTIONARY":
            dictionary.append("value")
        else:
            encoding["value"] = value_encoding
        if compression["value"] == "zstd":
            level["value"] = _ZSTD_LEVEL

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema, compression=compression, compression_level=level or None,
                              use_dictionary=dictionary, column_encoding=encoding or None,
                              dictionary_pagesize_limit=_DICT_PAGE_LIMIT, write_statistics=["date"],
                              write_batch_size=_WRITE_BATCH, store_schema=False) as writer:
            # store_schema=False: readers see ``code`` as a plain string column (not a dictionary type);
            # the schema's key-value metadata (the lasps.alpha record) is written explicitly
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            if metadata:
                writer.add_key_value_metadata(metadata)

    return atomic_write(path, write)


def write_alpha(home: Path | str, name: str, values: np.ndarray, panel: Panel, metadata: dict[str, Any],
                rows: slice | None = None) -> Path:
    """Write one alpha's ``(T, N)`` values (aligned to ``panel``) to Parquet, atomically.

    Parameters
    ----------
    values:
        ``(T, N)`` float64 aligned to ``panel.dates`` x ``panel.codes``.
    metadata:
        Record stored under :data:`METADATA_KEY` (normally :func:`expected_metadata`).
    rows:
        Only these rows (dates) are written (e.g. after warm-up history).

    Returns the path. Time: ~0.17–0.4 s of CPU for 11.6 M cells, plus the disk write (8–95 MB).
    """
    vals = np.asarray(values, dtype=np.float64)
    if vals.shape != panel.shape:
        raise StoreError(f"alpha {name} has shape {vals.shape}, panel is {panel.shape}")
    dates = panel.dates
    if rows is not None:
        vals, dates = vals[rows], dates[rows]
    table = long_table(vals, dates, panel.codes)
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata, sort_keys=True).encode()})
    return write_table_atomic(table, alpha_path(home, name))


class AlphaWriter:
    """Write alphas with :func:`write_alpha` on a background thread, overlapping the computation.

    ``submit`` hands one finished ``(T, N)`` array over and returns at once unless ``max_pending``
    arrays are already waiting (then it blocks: memory stays bounded at ``max_pending + 1`` arrays).
    Files appear one by one, each atomically. An error in the writer thread is raised by the next
    ``submit`` or by ``close``; nothing submitted after it is written. Use as a context manager: on a
    clean exit it waits for every file; when the block raises, pending arrays are dropped (files already
    renamed stay, none is half-written).

    ``written`` lists the names written so far (in order).
    """

    def __init__(self, home: Path | str, panel: Panel, rows: slice | None = None, max_pending: int = 2) -> None:
        self.home = home
        self.panel = panel
        self.rows = rows
        self.written: list[str] = []
        self._queue: queue.Queue[tuple[str, np.ndarray, dict[str, Any]] | None] = queue.Queue(max(1, max_pending))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="lasps-alpha-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain after a failure
            name, values, metadata = item
            try:
                write_alpha(self.home, name, values, self.panel, metadata, self.rows)
                self.written.append(name)
            except BaseException as exc:  # re-raised in the caller's thread
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, name: str, values: np.ndarray, metadata: dict[str, Any]) -> None:
        """Queue ``values`` (the writer owns the array from now on) to be written as ``name``."""
        self._raise()
        if not self._thread.is_alive():
            raise StoreError("the alpha writer is closed")
        self._queue.put((name, values, metadata))

    def close(self) -> None:
        """Wait until everything submitted is written; raise the writer's error if there was one."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Drop what is still queued and stop after the file being written (which completes atomically)."""
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def __enter__(self) -> AlphaWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def read_metadata(path: Path | str) -> dict[str, Any] | None:
    """The ``lasps.alpha`` record of a stored file, or None if the file is missing or unreadable."""
    try:
        meta = pq.read_schema(path).metadata or {}
        raw = meta.get(METADATA_KEY)
        return json.loads(raw) if raw else None
    except (OSError, ValueError, pa.ArrowInvalid):
        return None


def is_current(home: Path | str, name: str, expected: dict[str, Any]) -> bool:
    """True when ``alphas/<name>.parquet`` exists and its record equals ``expected`` (resume check)."""
    stored = read_metadata(alpha_path(home, name))
    return stored is not None and stored == json.loads(json.dumps(expected, sort_keys=True))


def read_alpha(home: Path | str, name: str, panel: Panel, date: str | np.datetime64 | None = None) -> np.ndarray:
    """Read a stored alpha back as ``(T, N)`` float64 aligned to ``panel`` (NaN where nothing is stored).

    Dates and codes in the file that are not in the panel are ignored. With ``date`` only that day is
    read (the result is still ``(T, N)``, NaN elsewhere; only the row group holding it is decoded).
    Reads format 1, 2 and 3 files alike. Raises :class:`StoreError` if the file is missing or unreadable.
    Time: ~0.3 s for 11 M stored cells.
    """
    path = alpha_path(home, name)
    if not path.is_file():
        raise StoreError(f"alpha {name} has not been computed (no {path})", where=str(path),
                         fix=f"run `lasps alpha compute --alphas {name}`")
    filters = None
    if date is not None:
        filters = [("date", "=", pa.scalar(np.datetime64(date, "D").astype(object), type=pa.date32()))]
    try:
        table = pq.read_table(path, columns=["date", "code", "value"], filters=filters,
                              read_dictionary=["code"])
    except (OSError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise StoreError(f"cannot read {path}: {exc}", where=str(path),
                         fix=f"delete it and run `lasps alpha compute --alphas {name}`") from exc
    out = np.full(panel.shape, np.nan)
    if table.num_rows == 0:
        return out
    day = table.column("date").combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)
    panel_days = np.ascontiguousarray(panel.dates.astype("datetime64[D]").astype(np.int64))
    col = _code_columns(table.column("code"), panel.codes)
    values = table.column("value").combine_chunks().to_numpy(zero_copy_only=False)
    _scatter(out, panel_days, np.ascontiguousarray(day), col, np.ascontiguousarray(values, dtype=np.float64))
    return out


def _code_columns(column: pa.ChunkedArray, codes: np.ndarray) -> np.ndarray:
    """Panel column of every row of a (dictionary-encoded) ``code`` column; -1 for codes not in the panel."""
    lookup = {str(c): j for j, c in enumerate(codes)}
    out = np.empty(len(column), dtype=np.int64)
    start = 0
    mapped: tuple[pa.Array, np.ndarray] | None = None
    for chunk in column.chunks:  # map each chunk's few distinct codes once
        if not isinstance(chunk, pa.DictionaryArray):
            chunk = chunk.dictionary_encode()
        if mapped is None or not chunk.dictionary.equals(mapped[0]):
            table = np.array([lookup.get(c, -1) for c in chunk.dictionary.to_pylist()] + [-1], dtype=np.int64)
            mapped = (chunk.dictionary, table)
        idx = chunk.indices.fill_null(len(chunk.dictionary)).to_numpy(zero_copy_only=False)
        out[start: start + len(chunk)] = mapped[1][idx]
        start += len(chunk)
    return out


def register_views(home: Path | str) -> list[str]:
    """Expose every stored alpha file to DuckDB as a view ``alpha_NNN`` / ``<user name>`` (DESIGN §2.1).

    The views read the Parquet files (``SELECT date, code, value FROM alpha_044``), so they always show
    what is on disk; they are re-created on each call (idempotent). Returns the view names.
    """
    provider = store_provider(home)
    files = sorted(alphas_dir(provider.home).glob("*.parquet"))
    with provider.store(write=True) as store:
        return store.register_parquet_views(files)
