"""Typed queries of the market store: every SQL statement the rest of LASPS needs (DESIGN §2.1).

:class:`StoreQueries` is mixed into :class:`~lasps.data.store.MarketStore`; modules outside ``data/``
call these methods instead of writing SQL. Dates come back as ``datetime.date`` (scalars) or
``datetime64[D]`` arrays, tables as pandas frames with the documented columns. Writes run inside one
transaction each (a failure leaves the tables as they were).

Run tables (``eval_*``, ``backtest_*``, ``trades``) are keyed by ``run_id``: :meth:`replace_run_rows`
replaces a run's rows; tables in ``latest_only`` keep only the newest run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from lasps.data import schema
from lasps.errors import StoreError
from lasps.transactions import transaction


def _to_date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, view: str = "_staged") -> None:
    con.register(view, frame)
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view}")
    finally:
        con.unregister(view)


class StoreQueries:
    """Query methods over ``self.con`` (a DuckDB connection to ``lasps.duckdb``)."""

    con: duckdb.DuckDBPyConnection
    path: Path

    # -- sessions and dates ----------------------------------------------------------------------
    def sessions(self) -> np.ndarray:
        """Every stored price date, ascending, ``datetime64[D]``."""
        res = self.con.execute("SELECT DISTINCT date FROM daily_prices ORDER BY date").fetchnumpy()["date"]
        return np.asarray(res).astype("datetime64[D]")

    def date_range(self) -> tuple[dt.date | None, dt.date | None]:
        """``(first, last)`` stored price date (``(None, None)`` when empty)."""
        row = self.con.execute("SELECT min(date), max(date) FROM daily_prices").fetchone()
        return (_to_date(row[0]), _to_date(row[1])) if row else (None, None)

    def session_before(self, start: dt.date, rows: int) -> dt.date | None:
        """The stored session ``rows`` sessions before ``start`` (the earliest of the last ``rows``
        sessions strictly before it), or None when nothing is stored before ``start``."""
        frame = self.con.execute(
            "SELECT DISTINCT date FROM daily_prices WHERE date < ? ORDER BY date DESC LIMIT ?", [start, rows]).df()
        return None if frame.empty else pd.Timestamp(frame["date"].iloc[-1]).date()

    def warmup_start(self, start: dt.date, rows: int) -> dt.date:
        """Where a computation must start for ``rows`` sessions of warm-up before ``start``: the stored
        session ``rows`` sessions earlier (the first stored one when fewer are stored; ``start`` itself when
        none is stored before it or ``rows <= 0``). The one warm-up rule of alphas, the ML dataset …"""
        if rows <= 0:
            return start
        day = self.session_before(start, rows)
        return start if day is None else day

    def sessions_upto(self, end: dt.date, rows: int) -> list[dt.date]:
        """The last ``rows`` stored sessions on or before ``end``, newest first."""
        frame = self.con.execute(
            "SELECT DISTINCT date FROM daily_prices WHERE date <= ? ORDER BY date DESC LIMIT ?", [end, rows]).df()
        return [pd.Timestamp(d).date() for d in frame["date"]]

    def has_session(self, day: dt.date) -> bool:
        """True when any price is stored for ``day``."""
        return self.con.execute("SELECT 1 FROM daily_prices WHERE date = ? LIMIT 1", [day]).fetchone() is not None

    def adjustment_events(self, after: dt.date, upto: dt.date) -> int:
        """Adjustment events dated in ``(after, upto]``."""
        row = self.con.execute("SELECT count(*) FROM adjustments WHERE date > ? AND date <= ?",
                               [after, upto]).fetchone()
        return int(row[0]) if row else 0

    # -- stocks ----------------------------------------------------------------------------------
    def stock_table(self, columns: Sequence[str] = ("code", "name", "market", "sector_name", "sector_code")
                    ) -> pd.DataFrame:
        """Columns of ``stocks`` (one row per code; ``columns`` from :data:`~lasps.data.schema.STOCK_COLUMNS`)."""
        allowed = set(schema.STOCK_COLUMNS)
        bad = [c for c in columns if c not in allowed]
        if bad:
            raise StoreError(f"unknown stocks column(s) {bad}", where="stocks")
        return self.con.execute(f"SELECT {', '.join(columns)} FROM stocks").df()

    def stock(self, code: str) -> dict[str, Any] | None:
        """``{code, market, kind, name}`` of one code, or None."""
        row = self.con.execute("SELECT code, market, kind, name FROM stocks WHERE code = ?", [code]).fetchone()
        return None if row is None else dict(zip(("code", "market", "kind", "name"), row, strict=True))

    def sector_counts(self) -> list[tuple[int | None, int]]:
        """``[(sector_id, n codes)]`` over ``stocks``."""
        return [(r[0], int(r[1])) for r in
                self.con.execute("SELECT sector_id, count(*) FROM stocks GROUP BY sector_id").fetchall()]

    # -- prices of one code ----------------------------------------------------------------------
    def bar(self, code: str, day: dt.date) -> dict[str, Any] | None:
        """``{date, open, high, low, close, volume}`` of ``code`` on ``day`` (NULL prices as NaN), or None."""
        row = self.con.execute("SELECT date, open, high, low, close, volume FROM daily_prices "
                               "WHERE code = ? AND date = ?", [code, day]).fetchone()
        if row is None:
            return None
        nums = [float("nan") if v is None else float(v) for v in row[1:]]
        return dict(zip(("date", "open", "high", "low", "close", "volume"), [row[0], *nums], strict=True))

    def prev_close(self, code: str, day: dt.date) -> tuple[dt.date, float] | None:
        """``(date, close)`` of the last positive close of ``code`` before ``day``, or None."""
        row = self.con.execute("SELECT date, close FROM daily_prices WHERE code = ? AND date < ? AND close > 0 "
                               "ORDER BY date DESC LIMIT 1", [code, day]).fetchone()
        return None if row is None else (pd.Timestamp(row[0]).date(), float(row[1]))

    # -- where the data came from ----------------------------------------------------------------
    def source_runs(self) -> list[tuple[str, str, str | None]]:
        """``[(source, kind, detail)]`` of the successful loads, oldest first."""
        return [(str(r[0]), str(r[1]), r[2]) for r in self.con.execute(
            "SELECT source, kind, detail FROM source_runs WHERE status = 'ok' ORDER BY finished_at").fetchall()]

    def source_label(self) -> str:
        """``synthetic (400 listings × 4 y, seed 7)``-style description of where the stored data came from
        (``?`` when no load is recorded)."""
        rows = self.source_runs()
        if not rows:
            return "?"
        label = ", ".join(dict.fromkeys(r[0] for r in rows))
        for source, kind, detail in rows:
            if source == "synthetic" and kind == "init" and detail:
                try:
                    d = json.loads(detail)
                    label = label.replace("synthetic", f"synthetic ({d['stocks']} listings × {d['years']:g} y, "
                                                       f"seed {d['seed']})", 1)
                except (ValueError, KeyError, TypeError):
                    pass
        return label

    def latest_ok_source(self) -> str | None:
        """The source of the newest successful load, or None."""
        run = self.latest_source_run()
        return run[0] if run else None

    def latest_source_run(self) -> tuple[str, str, dt.datetime] | None:
        """``(source, kind, finished_at)`` of the newest successful load, or None."""
        row = self.con.execute("SELECT source, kind, finished_at FROM source_runs WHERE status = 'ok' "
                               "ORDER BY finished_at DESC LIMIT 1").fetchone()
        return None if row is None else (str(row[0]), str(row[1]), row[2])

    # -- summaries -------------------------------------------------------------------------------
    def market_facts(self) -> dict[str, Any]:
        """Stored range, listing count, delisted codes and codes whose prices stop > 30 days before the
        last date (the survivorship indicators of a report)."""
        first, last = self.date_range()
        n_codes = self.con.execute("SELECT count(*) FROM stocks").fetchone()[0]
        delisted = self.con.execute("SELECT count(*) FROM stocks WHERE delisted_date IS NOT NULL").fetchone()[0]
        stopped = self.con.execute(
            "SELECT count(*) FROM (SELECT code, max(date) AS m FROM daily_prices GROUP BY code) WHERE m < ?",
            [last - dt.timedelta(days=30)]).fetchone()[0] if last else 0
        return {"first": first, "last": last, "n_codes": int(n_codes), "delisted": int(delisted),
                "stopped": int(stopped)}

    def coverage(self) -> tuple[dt.date | None, dt.date | None, int]:
        """``(first date, last date, distinct codes)`` of ``daily_prices``."""
        row = self.con.execute("SELECT min(date), max(date), count(DISTINCT code) FROM daily_prices").fetchone()
        return (_to_date(row[0]), _to_date(row[1]), int(row[2] or 0)) if row else (None, None, 0)

    def status_summary(self) -> dict[str, Any]:
        """What ``lasps data status`` prints: counts, kinds, indices, bases, runs and field status."""
        q = self.con
        first, last = self.date_range()
        return {
            "codes": int(q.execute("SELECT count(*) FROM stocks").fetchone()[0]),
            "kinds": q.execute("SELECT kind, count(*) AS n FROM stocks GROUP BY kind ORDER BY n DESC").df(),
            "first": first, "last": last,
            "sessions": int(q.execute("SELECT count(DISTINCT date) FROM daily_prices").fetchone()[0]),
            "price_rows": int(q.execute("SELECT count(*) FROM daily_prices").fetchone()[0]),
            "adjustments": int(q.execute("SELECT count(*) FROM adjustments").fetchone()[0]),
            "indices": q.execute("SELECT index_code, count(*) AS n, min(date) AS a, max(date) AS b "
                                 "FROM index_prices GROUP BY 1 ORDER BY 1").df(),
            "flow_rows": int(q.execute("SELECT count(*) FROM investor_flows").fetchone()[0]),
            "bases": q.execute("SELECT price_basis, count(*) AS n FROM stocks GROUP BY 1").df(),
            "runs": q.execute("SELECT source, kind, max(finished_at) AS finished, max(last_date) AS last_day "
                              "FROM source_runs WHERE status = 'ok' GROUP BY 1, 2 ORDER BY finished").df(),
            "fields": q.execute("SELECT field, available, reason FROM field_status ORDER BY field").df(),
        }

    def has_table(self, name: str) -> bool:
        """True when table (or view) ``name`` exists."""
        row = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                               [name]).fetchone()
        return bool(row and row[0])

    # -- research, backtest and pipeline outputs -------------------------------------------------
    def replace_run_rows(self, frames: Mapping[str, pd.DataFrame | None], run_id: str, *,
                         latest_only: Sequence[str] = ()) -> None:
        """Replace the rows of ``run_id`` in each table of ``frames`` (rows without ``run_id``; the column
        is added), in one transaction; tables in ``latest_only`` are emptied first."""
        unknown = [t for t in frames if t not in schema.RUN_TABLES]
        if unknown:
            raise StoreError(f"not a run table: {unknown}", where="replace_run_rows")
        with transaction(self.con) as con:
            for table, frame in frames.items():
                if table in latest_only:
                    con.execute(f"DELETE FROM {table}")
                else:
                    con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
                if frame is None or frame.empty:
                    continue
                staged = frame.copy()
                if "run_id" not in staged.columns:
                    staged.insert(0, "run_id", run_id)
                _insert_frame(con, table, staged)

    def replace_picks(self, day: dt.date, rows: pd.DataFrame) -> None:
        """Replace the ``picks`` rows of ``day`` (columns of :data:`~lasps.data.schema.PICK_COLUMNS`)."""
        with transaction(self.con) as con:
            con.execute("DELETE FROM picks WHERE date = ?", [day])
            _insert_frame(con, "picks", rows.loc[:, list(schema.PICK_COLUMNS)], "_picks")

    def replace_predictions(self, frame: pd.DataFrame, columns: Sequence[str]) -> None:
        """Replace the (model, date) rows of ``frame`` in ``predictions`` (one transaction)."""
        with transaction(self.con) as con:
            for model, date in frame[["model", "date"]].drop_duplicates().itertuples(index=False):
                con.execute("DELETE FROM predictions WHERE model = ? AND date = ?", [model, pd.Timestamp(date).date()])
            staged = frame.assign(date=pd.to_datetime(frame["date"]).dt.date).loc[:, list(columns)]
            _insert_frame(con, "predictions", staged, "_pred")

    def latest_prediction_date(self, model: str | None = None) -> dt.date | None:
        """The newest prediction date (of ``model`` when given)."""
        sql, params = "SELECT max(date) FROM predictions", []
        if model is not None:
            sql, params = sql + " WHERE model = ?", [model]
        row = self.con.execute(sql, params).fetchone()
        return _to_date(row[0]) if row else None

    def prediction_models(self, day: dt.date, model: str | None = None) -> list[str]:
        """Models with predictions on ``day``, newest first (only ``model`` when given)."""
        sql, params = "SELECT model FROM predictions WHERE date = ?", [day]
        if model is not None:
            sql, params = sql + " AND model = ?", [day, model]
        return [r[0] for r in self.con.execute(
            sql + " GROUP BY model ORDER BY max(created_at) DESC, model", params).fetchall()]

    def predictions(self, model: str, day: dt.date, fields: Sequence[str], limit: int | None = None
                    ) -> tuple[list[tuple[Any, ...]], int]:
        """Rows ``(*fields, task, created_at)`` of ``model`` on ``day`` by rank (at most ``limit``), and the
        total count."""
        allowed = set(schema.PREDICTION_COLUMNS)
        bad = [f for f in fields if f not in allowed]
        if bad:
            raise StoreError(f"unknown prediction column(s) {bad}", where="predictions")
        sql = (f"SELECT {', '.join(fields)}, task, created_at FROM predictions WHERE model = ? AND date = ? "
               "ORDER BY rank, code")
        rows = self.con.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), [model, day]).fetchall()
        total = self.con.execute("SELECT count(*) FROM predictions WHERE model = ? AND date = ?",
                                 [model, day]).fetchone()
        return rows, int(total[0]) if total else len(rows)

    def prediction_checkpoint(self, model: str, day: dt.date) -> str | None:
        """The checkpoint path recorded with ``model``'s predictions on ``day`` (None when not recorded)."""
        row = self.con.execute("SELECT any_value(checkpoint) FROM predictions WHERE model = ? AND date = ?",
                               [model, day]).fetchone()
        return str(row[0]) if row and row[0] else None

    def register_parquet_views(self, files: Sequence[Path]) -> list[str]:
        """``CREATE OR REPLACE VIEW <stem> AS SELECT date, code, value FROM read_parquet(file)`` for each
        file whose stem is a plain name; returns the view names (one transaction)."""
        names: list[str] = []
        with transaction(self.con) as con:
            for f in files:
                view = f.stem
                if not view.replace("_", "").isalnum():
                    continue
                path = str(Path(f).resolve()).replace("'", "''")
                con.execute(f'CREATE OR REPLACE VIEW "{view}" AS SELECT date, code, value '
                            f"FROM read_parquet('{path}')")
                names.append(view)
        return names


__all__ = ["StoreQueries"]
