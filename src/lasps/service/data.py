"""What the service reads: files under ``$LASPS_HOME`` (never holding a DuckDB lock for long).

The daily pipeline, the research commands and the backtester write their results as files, atomically
(temporary file + ``os.replace``), so every read here sees a complete version of a file even while
``lasps daily`` is writing. The DuckDB store is only *probed* for the health check — a short-lived
read-only connection, retried a few times and cached for a second: DuckDB allows one writing
process **or** any number of readers, so a writer (``lasps daily``, ``lasps data update``) makes the store
report ``busy`` instead of making the service wait or fail.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from lasps.data.store import StoreProvider, store_provider
from lasps.errors import StoreError

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
STORE_CACHE_S = 1.0


class StoreProbe:
    """Cached, non-blocking facts about the DuckDB store (see the module docstring)."""

    def __init__(self, home: StoreProvider | Path, ttl_s: float = STORE_CACHE_S) -> None:
        self._stores = store_provider(home)
        self.home = self._stores.home
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._at = -math.inf
        self._value: dict[str, Any] = {}

    def _probe(self) -> dict[str, Any]:
        path = self.home / "lasps.duckdb"
        if not path.is_file():
            return {"status": "missing", "path": str(path),
                    "fix": "create one with `lasps data init --source synthetic` or `lasps demo`"}
        last_error = ""
        for _ in range(3):
            try:
                with self._stores.store() as store:
                    first, last, codes = store.coverage()
                return {"status": "ok" if last is not None else "empty", "path": str(path),
                        "first_date": str(first) if first else None, "last_date": str(last) if last else None,
                        "codes": int(codes or 0)}
            except StoreError as exc:
                last_error = exc.what
                if "cannot open" not in exc.what:
                    return {"status": "error", "path": str(path), "error": exc.what}
                time.sleep(0.05)
        return {"status": "busy", "path": str(path),
                "note": "another process is writing the store (DuckDB allows one writer or many readers); "
                        "file-based endpoints keep answering", "error": last_error[:200]}

    def get(self) -> dict[str, Any]:
        with self._lock:
            now = time.monotonic()
            if now - self._at > self.ttl_s or self._value.get("status") == "busy":
                self._value = self._probe()
                self._at = now
            return dict(self._value)


def read_csv(path: Path, **kw: Any) -> pd.DataFrame | None:
    """A CSV as a frame, or None when missing/unreadable."""
    try:
        return pd.read_csv(path, **kw)
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None


def _backtests(home: StoreProvider | Path) -> Path:
    """``backtests/`` under the home of ``home`` (a workspace or a home directory)."""
    return Path(store_provider(home).home) / "backtests"


def backtest_runs(home: StoreProvider | Path) -> list[dict[str, Any]]:
    """One entry per stored backtest run (``backtests/<run_id>/summary.json``), newest first."""
    root = _backtests(home)
    if not root.is_dir():
        return []
    runs = []
    for d in root.iterdir():
        s = d / "summary.json"
        if not d.is_dir() or d.name.startswith(".") or not s.is_file():
            continue
        try:
            doc = json.loads(s.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        p = doc.get("parameters") or {}
        runs.append({"run_id": doc.get("run_id", d.name), "created_at": doc.get("created_at"),
                     "strategy": doc.get("strategy"), "label": p.get("label"), "start": p.get("start"),
                     "end": p.get("end"), "variants": p.get("variants", []),
                     **{k: doc.get(k) for k in ("total_return", "annual_return", "sharpe", "max_drawdown",
                                                "excess_return", "benchmark_return", "final_value")}})
    runs.sort(key=lambda r: (str(r.get("created_at") or ""), r["run_id"]), reverse=True)
    return runs


def backtest_dir(home: StoreProvider | Path, run_id: str) -> Path | None:
    """The run directory of ``run_id`` if it exists and the id is a plain name (no path tricks)."""
    if not RUN_ID_RE.match(run_id) or ".." in run_id:
        return None
    d = _backtests(home) / run_id
    return d if (d / "summary.json").is_file() else None


def latest_backtest(home: StoreProvider | Path) -> str | None:
    """The run id ``backtests/latest`` names, when that run exists."""
    p = _backtests(home) / "latest"
    try:
        text = p.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if backtest_dir(home, text) else None


__all__ = ["RUN_ID_RE", "StoreProbe", "backtest_dir", "backtest_runs", "latest_backtest", "read_csv"]
