"""The DuckDB market store under ``$LASPS_HOME/lasps.duckdb`` (DESIGN §2.1).

Every write is an idempotent upsert (``INSERT OR REPLACE`` on the primary keys) inside one
transaction: a write interrupted at any point — even by SIGKILL — leaves the database as it was
before that write, and simply running the same command again completes it. Validation of the input
(:mod:`lasps.data.validate`) happens before the transaction opens, so bad input never changes the DB.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

import duckdb
import pandas as pd

from lasps.data.bundle import MarketBundle
from lasps.data.queries import StoreQueries
from lasps.data.schema import (
    DDL,
    FLOW_COLUMNS,
    INDEX_COLUMNS,
    MIGRATIONS,
    PRICE_COLUMNS,
    SCHEMA_VERSION,
    STOCK_COLUMNS,
)
from lasps.errors import StoreError
from lasps.transactions import transaction

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Relative deviation between the exchange's base price (close / (1 + change_ratio)) and the
#: previous close beyond which a day is treated as a corporate-action adjustment (DESIGN §2.3).
#: The change ratio is published to 0.01 %, so genuine days deviate by < 0.01 %; tick rounding of the
#: base price by < 0.1 % for prices above 1,000 KRW.
ADJUSTMENT_TOLERANCE = 0.002

DB_FILENAME = "lasps.duckdb"
MARKET_TABLES = ("stocks", "daily_prices", "adjustments", "index_prices", "investor_flows", "field_status",
                 "load_chunks", "quality_findings", "unmapped_sectors")


def db_path(home: Path) -> Path:
    return Path(home) / DB_FILENAME


class MarketStore(StoreQueries):
    """A connection to the market store. Use as a context manager.

    Parameters
    ----------
    home:
        ``$LASPS_HOME``; the database is ``home / 'lasps.duckdb'``.
    read_only:
        Open read-only (many readers may coexist; used by the service and loaders). A read-only open
        of a missing database raises :class:`StoreError` telling the user how to create one.
    """

    def __init__(self, home: Path, *, read_only: bool = False) -> None:
        self.home = Path(home)
        self.path = db_path(self.home)
        self.read_only = read_only
        if not read_only:
            from lasps.config import ensure_home

            ensure_home(self.home)
        if read_only and not self.path.exists():
            raise StoreError(
                f"no market store at {self.path}",
                where=str(self.home),
                fix="create one with `lasps data init --source synthetic` or `lasps data import PATH`",
            )
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise StoreError(
                f"cannot open {self.path}: {exc}",
                where=str(self.path),
                fix="check permissions, or stop the process holding the write lock",
            ) from exc
        if not read_only:
            self.migrate()
        else:
            self._check_version()

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> MarketStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def migrate(self) -> None:
        """Create missing tables, upgrade an older store (:data:`~lasps.data.schema.MIGRATIONS`) and record
        :data:`SCHEMA_VERSION` (idempotent)."""
        with self.transaction():
            for stmt in DDL:
                self.con.execute(stmt)
            row = self.con.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] if row else None
            if current is None:
                self.con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION])
            elif current > SCHEMA_VERSION:
                raise StoreError(
                    f"database schema version {current} is newer than this LASPS ({SCHEMA_VERSION})",
                    where=str(self.path),
                    fix="upgrade LASPS",
                )
            elif current < SCHEMA_VERSION:
                for version in range(int(current) + 1, SCHEMA_VERSION + 1):
                    for stmt in MIGRATIONS.get(version, ()):
                        self.con.execute(stmt)
                    self.con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
                log.info("upgraded %s from schema version %s to %s", self.path, current, SCHEMA_VERSION)

    def _check_version(self) -> None:
        try:
            row = self.con.execute("SELECT max(version) FROM schema_version").fetchone()
        except duckdb.CatalogException as exc:
            raise StoreError(
                f"{self.path} is not a LASPS store (no schema_version table)",
                where=str(self.path),
                fix="point LASPS_HOME at a LASPS home or create one with `lasps data init`",
            ) from exc
        if not row or row[0] is None or row[0] > SCHEMA_VERSION:
            raise StoreError(f"unsupported schema version {row}", where=str(self.path))

    def transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """``BEGIN`` … ``COMMIT``; any exception rolls back and re-raises."""
        return transaction(self.con)

    # -- writes ----------------------------------------------------------------------------------
    def _upsert(self, table: str, frame: pd.DataFrame, columns: Sequence[str], *, fresh: bool = False) -> int:
        """Upsert ``frame`` into ``table``; ``fresh=True`` (the table was just emptied) uses a plain,
        faster INSERT — duplicate keys inside the frame still fail on the primary key."""
        if frame is None or len(frame) == 0:
            return 0
        staged = frame.loc[:, list(columns)]
        self.con.register("_staged", staged)
        try:
            cols = ", ".join(columns)
            verb = "INSERT" if fresh else "INSERT OR REPLACE"
            self.con.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM _staged")
        finally:
            self.con.unregister("_staged")
        return len(staged)

    def _upsert_stocks(self, stocks: pd.DataFrame) -> None:
        """Upsert stocks; a NULL in the new row keeps the stored value (a price-only source never
        erases the sector or listing dates another source provided), and a name equal to the code
        (unknown) never replaces a stored name or its kind."""
        if len(stocks) == 0:
            return
        cols = (*STOCK_COLUMNS, "source")
        keep_if_null = [c for c in cols if c not in ("code", "price_basis", "source")]
        # a name equal to the code means "name unknown" (pykrx after a failed name-table load): never let it
        # overwrite a stored name, nor the kind that was classified from that name
        code_for_name = "(excluded.name = excluded.code AND stocks.name IS NOT NULL)"
        guarded = {"name": f"CASE WHEN {code_for_name} THEN stocks.name ELSE coalesce(excluded.name, stocks.name) END",
                   "kind": f"CASE WHEN {code_for_name} THEN stocks.kind ELSE coalesce(excluded.kind, stocks.kind) END"}
        sets = ", ".join([f"{c} = {guarded.get(c, f'coalesce(excluded.{c}, stocks.{c})')}" for c in keep_if_null]
                         + ["price_basis = excluded.price_basis", "source = excluded.source"])
        self.con.register("_staged_stocks", stocks.loc[:, list(cols)])
        try:
            names = ", ".join(cols)
            self.con.execute(f"INSERT INTO stocks ({names}) SELECT {names} FROM _staged_stocks "
                             f"ON CONFLICT (code) DO UPDATE SET {sets}")
        finally:
            self.con.unregister("_staged_stocks")

    def _refuse_basis_change(self, stocks: pd.DataFrame) -> None:
        """A code never mixes raw and adjusted prices (DESIGN §2.3): refuse a write that would."""
        if len(stocks) == 0:
            return
        self.con.register("_incoming", stocks.loc[:, ["code", "price_basis"]])
        try:
            clash = self.con.execute(
                "SELECT s.code, s.price_basis, i.price_basis FROM stocks s JOIN _incoming i USING (code) "
                "WHERE s.price_basis <> i.price_basis AND EXISTS "
                "(SELECT 1 FROM daily_prices d WHERE d.code = s.code) LIMIT 5").fetchall()
        finally:
            self.con.unregister("_incoming")
        if clash:
            code, old, new = clash[0]
            raise StoreError(
                f"{len(clash)}+ codes would mix price bases, e.g. {code}: stored {old}, incoming {new}",
                where=str(self.path),
                fix="import into a fresh LASPS_HOME, or re-initialise with --replace; "
                    "a code's history must come from one adjustment basis",
            )

    def write_bundle(self, bundle: MarketBundle, *, kind: str = "load", job: str | None = None,
                     chunk: str | None = None, replace: bool = False, detail: str | None = None) -> int:
        """Upsert a validated bundle in one transaction and re-derive adjustments of touched codes.

        ``job``/``chunk`` (optional) mark this write as one resumable chunk of a larger job; the chunk
        is recorded in ``load_chunks`` in the same transaction (see :meth:`done_chunks`).
        ``replace=True`` first empties every market table (same transaction), for a fresh ``init``.
        ``detail`` is recorded with the run (e.g. the generator's arguments).
        Returns the number of price rows written.
        """
        started = dt.datetime.now()
        run_id = uuid.uuid4().hex[:12]
        with self.transaction() as con:
            if replace:
                for table in MARKET_TABLES:
                    con.execute(f"DELETE FROM {table}")
            stocks = bundle.stocks.copy()
            stocks["source"] = bundle.source
            if not replace:
                self._refuse_basis_change(stocks)
            self._upsert_stocks(stocks)
            n = self._upsert("daily_prices", bundle.prices, PRICE_COLUMNS, fresh=replace)
            self._upsert("index_prices", bundle.index, INDEX_COLUMNS, fresh=replace)
            self._upsert("investor_flows", bundle.flows, FLOW_COLUMNS, fresh=replace)
            for fname in ("open", "high", "low", "close", "volume", "value", "market_cap", "shares",
                          "change_ratio", "flows"):
                reason = bundle.unavailable.get(fname)
                con.execute(
                    "INSERT OR REPLACE INTO field_status VALUES (?, ?, ?)",
                    [fname, reason is None, reason],
                )
            codes = sorted(set(bundle.prices["code"])) if len(bundle.prices) else []
            self._rederive_adjustments(codes)
            first = last = None
            if len(bundle.prices):
                first = pd.Timestamp(bundle.prices["date"].min()).date()
                last = pd.Timestamp(bundle.prices["date"].max()).date()
            con.execute(
                "INSERT INTO source_runs VALUES (?, ?, ?, ?, now(), 'ok', ?, ?, ?, ?)",
                [run_id, bundle.source, kind, started, first, last, n, detail or chunk],
            )
            if job and chunk:
                con.execute("INSERT OR REPLACE INTO load_chunks VALUES (?, ?, now())", [job, chunk])
        return n

    def _rederive_adjustments(self, codes: Sequence[str]) -> None:
        """Derive ``adjustments`` for raw-basis ``codes`` from the exchange change ratio (DESIGN §2.3)."""
        if not codes:
            return
        self.con.register("_codes", pd.DataFrame({"code": list(codes)}))
        try:
            self.con.execute("DELETE FROM adjustments WHERE code IN (SELECT code FROM _codes)")
            self.con.execute(
                f"""
                INSERT INTO adjustments
                WITH p AS (
                    SELECT d.code, d.date, d.close, d.change_ratio,
                           lag(d.close) OVER (PARTITION BY d.code ORDER BY d.date) AS prev
                    FROM daily_prices d
                    JOIN stocks s USING (code)
                    WHERE s.price_basis = 'raw' AND d.close IS NOT NULL AND d.close > 0
                      AND d.code IN (SELECT code FROM _codes)
                ), ev AS (
                    SELECT code, date, (close / (1 + change_ratio)) / prev AS ratio
                    FROM p
                    WHERE prev IS NOT NULL AND change_ratio IS NOT NULL AND change_ratio > -1
                      AND abs((close / (1 + change_ratio)) / prev - 1) > {ADJUSTMENT_TOLERANCE}
                )
                SELECT code, date, ratio,
                       exp(sum(ln(ratio)) OVER (PARTITION BY code ORDER BY date DESC
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
                FROM ev
                """
            )
        finally:
            self.con.unregister("_codes")

    def done_chunks(self, job: str) -> set[str]:
        """Chunks of ``job`` already committed (for resuming an interrupted load)."""
        rows = self.con.execute("SELECT chunk FROM load_chunks WHERE job = ?", [job]).fetchall()
        return {r[0] for r in rows}

    def clear_job(self, job: str) -> None:
        with self.transaction() as con:
            con.execute("DELETE FROM load_chunks WHERE job = ?", [job])

    # -- reads -----------------------------------------------------------------------------------
    def query_df(self, sql: str, params: Sequence[object] | None = None) -> pd.DataFrame:
        return self.con.execute(sql, list(params or [])).df()

    def scalar(self, sql: str, params: Sequence[object] | None = None) -> object:
        row = self.con.execute(sql, list(params or [])).fetchone()
        return row[0] if row else None

    def last_price_date(self) -> dt.date | None:
        value = self.scalar("SELECT max(date) FROM daily_prices")
        return value if isinstance(value, dt.date) else None

    def is_empty(self) -> bool:
        return not self.scalar("SELECT count(*) FROM (SELECT 1 FROM daily_prices LIMIT 1)")

    def last_run(self, kind: str) -> tuple[str, str | None] | None:
        """``(source, detail)`` of the newest successful run of ``kind`` (e.g. ``'init'``)."""
        row = self.con.execute(
            "SELECT source, detail FROM source_runs WHERE kind = ? AND status = 'ok' "
            "ORDER BY finished_at DESC LIMIT 1", [kind]).fetchone()
        return (row[0], row[1]) if row else None

    def unavailable_fields(self) -> dict[str, str]:
        rows = self.con.execute("SELECT field, reason FROM field_status WHERE NOT available").fetchall()
        return {r[0]: r[1] or "not provided by the source" for r in rows}


@runtime_checkable
class StoreProvider(Protocol):
    """What opens the market store for a layer below the workspace: :class:`lasps.workspace.Workspace`
    (the one every command works through) or :class:`HomeStore` for a bare home directory."""

    @property
    def home(self) -> Path: ...

    def store(self, *, write: bool = False) -> MarketStore:
        """A :class:`MarketStore` (a context manager), read-only unless ``write``."""
        ...


@dataclass(frozen=True)
class HomeStore:
    """A :class:`StoreProvider` for a home directory given as a path (lower-level calls and tests)."""

    home: Path

    def store(self, *, write: bool = False) -> MarketStore:
        return MarketStore(self.home, read_only=not write)


def store_provider(where: StoreProvider | Path | str) -> StoreProvider:
    """``where`` itself when it opens stores (a workspace), else a :class:`HomeStore` for the path."""
    if isinstance(where, StoreProvider):
        return where
    return HomeStore(Path(where))


def with_store_retry(fn: Callable[[], T], timeout_s: float = 15.0, pause_s: float = 0.2) -> T:
    """Run a short store operation; retry while another process holds the DuckDB file lock."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return fn()
        except StoreError as exc:
            if "cannot open" not in exc.what or time.monotonic() > deadline:
                raise
            time.sleep(pause_s)
