"""Backtest outputs: files under ``$LASPS_HOME/backtests/<run_id>/`` and DuckDB tables (DESIGN §5).

Per run:

* ``summary.json`` — ``run_id``, ``created_at``, ``strategy``, ``parameters`` (variants, top, rebalance,
  dates, capital, costs, universe, …) and the metrics (:data:`~lasps.backtest.metrics.METRIC_KEYS` plus
  ``benchmark_return``, ``final_value``, ``days``, ``n_trades``), ``benchmark`` (KOSPI's metrics over
  the same sessions), ``blocked`` order counts and ``notes``;
  undefined metrics are ``null``;
* ``daily.csv`` — ``date, cash, positions_value, total_value, benchmark`` (KRW);
* ``trades.csv`` — ``date, code, side, qty, price, fee, tax, reason``.

``backtests/latest`` is a **text file** holding the newest run id (one line) — not a symlink, which
needs extra privileges on Windows. Read it with :func:`latest_run_id`.

Atomicity: the three files are written into a hidden temporary directory, the DuckDB rows are written
in one transaction, and only then is the directory renamed to ``<run_id>`` and ``latest`` replaced
(:mod:`lasps.files`: temp file, fsync, rename). An interrupted run leaves no half-written run directory and no DuckDB
rows without files (a stale ``.tmp-*`` directory may remain and is ignored).

DuckDB (``lasps.duckdb`` via :class:`lasps.data.store.MarketStore`, one writer at a time; a locked
database is retried for a few seconds): ``backtest_runs`` (one row per run, metrics as columns,
parameters as JSON), ``backtest_daily`` (``run_id, date, …``) and ``trades`` (``run_id, seq, …``).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from lasps.backtest.metrics import METRIC_KEYS
from lasps.backtest.simulator import SimResult
from lasps.data.store import MarketStore
from lasps.errors import StoreError
from lasps.files import atomic_write_text, json_dumps, json_safe, publish_dir, staging_dir

LATEST = "latest"
DAILY_COLUMNS = ("date", "cash", "positions_value", "total_value", "benchmark")
TRADE_COLUMNS = ("date", "code", "side", "qty", "price", "fee", "tax", "reason")

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS backtest_runs (
        run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, strategy VARCHAR, variants VARCHAR,
        start_date DATE, end_date DATE, parameters VARCHAR,
        total_return DOUBLE, annual_return DOUBLE, volatility DOUBLE, sharpe DOUBLE, max_drawdown DOUBLE,
        win_rate DOUBLE, profit_factor DOUBLE, turnover DOUBLE, fees DOUBLE, taxes DOUBLE,
        excess_return DOUBLE, benchmark_return DOUBLE, final_value DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS backtest_daily (
        run_id VARCHAR, date DATE, cash DOUBLE, positions_value DOUBLE, total_value DOUBLE,
        benchmark DOUBLE, PRIMARY KEY (run_id, date))""",
    """CREATE TABLE IF NOT EXISTS trades (
        run_id VARCHAR, seq INTEGER, date DATE, code VARCHAR, side VARCHAR, qty BIGINT, price DOUBLE,
        fee DOUBLE, tax DOUBLE, reason VARCHAR, PRIMARY KEY (run_id, seq))""",
)


def backtests_dir(home: Path | str) -> Path:
    """``$LASPS_HOME/backtests``."""
    return Path(home) / "backtests"


def new_run_id(strategy: str, now: dt.datetime | None = None) -> str:
    """``YYYYMMDD-HHMMSS-<strategy>-<6 hex>`` (sortable by time, unique)."""
    now = now or dt.datetime.now()
    return f"{now:%Y%m%d-%H%M%S}-{strategy}-{uuid.uuid4().hex[:6]}"


def new_group_id(kind: str, now: dt.datetime | None = None) -> str:
    """``<kind>-YYYYMMDD-HHMMSS-<6 hex>``: the directory of a ``compare`` / ``oos`` group of runs."""
    now = now or dt.datetime.now()
    return f"{kind}-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def summary_record(run_id: str, strategy: str, parameters: dict[str, Any], metrics: dict[str, Any],
                   result: SimResult, notes: list[str] | None = None,
                   benchmark: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``summary.json`` object (``benchmark``: KOSPI's own metrics over the same sessions)."""
    rec: dict[str, Any] = {"run_id": run_id, "created_at": dt.datetime.now().isoformat(timespec="seconds"),
                           "strategy": strategy, "parameters": parameters}
    rec.update({k: metrics.get(k) for k in METRIC_KEYS})
    for k in ("benchmark_return", "final_value", "days", "periods", "n_trades"):
        rec[k] = metrics.get(k)
    rec["blocked"] = dict(result.blocked)
    if benchmark is not None:
        rec["benchmark"] = dict(benchmark)
    rec["notes"] = list(notes or [])
    return json_safe(rec)


def _write_db(home: Path, summary: dict[str, Any], daily: pd.DataFrame, trades: pd.DataFrame,
              timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            store = MarketStore(home)
            break
        except StoreError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)
    run_id = summary["run_id"]
    params = summary["parameters"]
    row = pd.DataFrame([{
        "run_id": run_id, "created_at": pd.Timestamp(summary["created_at"]), "strategy": summary["strategy"],
        "variants": ",".join(params.get("variants", [])),
        "start_date": pd.Timestamp(daily["date"].iloc[0]) if len(daily) else pd.NaT,
        "end_date": pd.Timestamp(daily["date"].iloc[-1]) if len(daily) else pd.NaT,
        "parameters": json_dumps(params, indent=None, sort_keys=True),
        **{k: summary.get(k) for k in (*METRIC_KEYS, "benchmark_return", "final_value")},
    }])
    d = daily.copy()
    d.insert(0, "run_id", run_id)
    d["date"] = pd.to_datetime(d["date"])
    t = trades.copy()
    t.insert(0, "seq", range(len(t)))
    t.insert(0, "run_id", run_id)
    t["date"] = pd.to_datetime(t["date"])
    with store, store.transaction() as con:
        for stmt in DDL:
            con.execute(stmt)
        for table, frame in (("backtest_runs", row), ("backtest_daily", d), ("trades", t)):
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            if len(frame):
                con.register("_bt", frame)
                try:
                    cols = ", ".join(frame.columns)
                    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _bt")
                finally:
                    con.unregister("_bt")


def write_run(home: Path | str, summary: dict[str, Any], result: SimResult, *, db: bool = True) -> Path:
    """Write one run's files (and DuckDB rows) atomically; point ``latest`` at it; return its directory."""
    root = backtests_dir(home)
    root.mkdir(parents=True, exist_ok=True)
    run_id = summary["run_id"]
    final = root / run_id
    with staging_dir(final) as tmp:
        daily = result.daily_frame()
        trades = result.trades.loc[:, list(TRADE_COLUMNS)]
        (tmp / "summary.json").write_text(json_dumps(summary) + "\n", encoding="utf-8")
        daily.to_csv(tmp / "daily.csv", index=False, float_format="%.6f")
        trades.to_csv(tmp / "trades.csv", index=False, float_format="%.6f")
        if db:
            _write_db(Path(home), summary, daily, trades)
        publish_dir(tmp, final)
    atomic_write_text(root / LATEST, run_id + "\n")
    return final


def latest_run_id(home: Path | str) -> str | None:
    """The run id in ``backtests/latest`` (None when no run was written)."""
    path = backtests_dir(home) / LATEST
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    return text or None


__all__ = ["DAILY_COLUMNS", "DDL", "LATEST", "TRADE_COLUMNS", "atomic_write_text", "backtests_dir",
           "latest_run_id", "new_group_id", "new_run_id", "summary_record", "write_run"]
