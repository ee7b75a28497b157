"""Where the daily pipeline keeps its outputs, and how to read them back (the service reads these).

Layout under ``$LASPS_HOME``::

    pipeline/YYYY-MM-DD/
        state.json          step journal (lasps.pipeline.state)
        daily.log           the log of every run for that date
        evaluation.json     what was evaluated: panel span, selection window, counts, notes, overfitting
        rank_window.csv     every variant's metrics on the selection window (the in-sample figures)
        ic_daily.parquet    date, variant, ic  (signal date; known h + 1 sessions later)
        wf_summary.csv      walk-forward vs in-sample summary (lasps.research.walkforward)
        wf_periods.csv      approach, date, known_date, lo, ls, market  (one row per h-day period)
        wf_variants.csv     variant, times_chosen, oos_ic, oos_days (the walk-forward record per variant)
        correlation.csv     alpha x alpha mean daily rank correlation
        signals.parquet     one row per code on D: name, market, sector, close, in_universe, one column per alpha
        selection.json      the chosen variants with their scores and metrics
        picks.csv           rank, code, name, market, sector, close, votes, rank_sum, score, nominated_by
        picks.json          the picks with per-variant contributions (what the API serves)
        orders_plan.json    the paper orders planned (written before any is placed)
        orders.json         the orders placed and their outcome
    pipeline/latest         text file: the newest date whose picks are complete
    reports/YYYY-MM-DD_alpha.md, reports/YYYY-MM-DD_alpha.html

Every file is written atomically (temporary file + ``os.replace``), so a reader — the service, while a
``lasps daily`` is running — sees either the previous or the new version of a file, never half of one.
Nothing here needs the DuckDB store.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

PIPELINE_DIR = "pipeline"
REPORTS_DIR = "reports"
LATEST = "latest"
REPORT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})_alpha\.(md|html)$")


def pipeline_root(home: Path | str) -> Path:
    """``$LASPS_HOME/pipeline``."""
    return Path(home) / PIPELINE_DIR


def run_dir(home: Path | str, date: dt.date | str) -> Path:
    """``$LASPS_HOME/pipeline/YYYY-MM-DD``."""
    day = date if isinstance(date, str) else date.isoformat()
    return pipeline_root(home) / day


def reports_dir(home: Path | str) -> Path:
    """``$LASPS_HOME/reports``."""
    return Path(home) / REPORTS_DIR


def report_paths(home: Path | str, date: dt.date | str) -> tuple[Path, Path]:
    """``(markdown, html)`` report paths of ``date``."""
    day = date if isinstance(date, str) else date.isoformat()
    d = reports_dir(home)
    return d / f"{day}_alpha.md", d / f"{day}_alpha.html"


def latest_date(home: Path | str) -> str | None:
    """The date in ``pipeline/latest`` (the newest run whose picks are complete), or None."""
    path = pipeline_root(home) / LATEST
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None


def run_dates(home: Path | str) -> list[str]:
    """Dates with a pipeline directory, newest first."""
    root = pipeline_root(home)
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name)),
                  reverse=True)


def read_json(path: Path) -> Any | None:
    """Parsed JSON of ``path``, or None when missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_picks(home: Path | str, date: str | None = None) -> dict[str, Any] | None:
    """``picks.json`` of ``date`` (default: the latest), or None."""
    day = date or latest_date(home)
    if day is None:
        return None
    return read_json(run_dir(home, day) / "picks.json")


def read_state(home: Path | str, date: str) -> dict[str, Any] | None:
    """``state.json`` of ``date``, or None."""
    return read_json(run_dir(home, date) / "state.json")


def wealth(periods: Any, approach: str, column: str) -> tuple[Any, Any]:
    """Growth of 1 of one approach's period returns in a ``wf_periods.csv`` frame, dated by ``known_date``
    (when each period's return is known). Returns ``(dates datetime64[D], wealth)``; missing returns count 0."""
    import numpy as np
    import pandas as pd

    known = periods["known_date"].astype(str)
    sub = periods[(periods["approach"] == approach) & periods["known_date"].notna() & (known != "")
                  & (known != "nan")]
    r = pd.to_numeric(sub[column], errors="coerce").fillna(0.0).to_numpy()
    dates = pd.to_datetime(sub["known_date"]).to_numpy().astype("datetime64[D]")
    return dates, np.cumprod(1.0 + r)


def read_wf_periods(home: Path | str, date: str) -> Any | None:
    """``wf_periods.csv`` of ``date`` as a frame, or None."""
    import pandas as pd

    path = run_dir(home, date) / "wf_periods.csv"
    try:
        return pd.read_csv(path, dtype={"known_date": str})
    except (OSError, ValueError):
        return None


def list_reports(home: Path | str) -> list[dict[str, Any]]:
    """One entry per report date, newest first: ``{date, md, html}`` (file names, or None)."""
    d = reports_dir(home)
    if not d.is_dir():
        return []
    by_date: dict[str, dict[str, Any]] = {}
    for p in d.iterdir():
        m = REPORT_RE.match(p.name)
        if m and p.is_file():
            entry = by_date.setdefault(m.group(1), {"date": m.group(1), "md": None, "html": None})
            entry[m.group(2)] = p.name
    return [by_date[k] for k in sorted(by_date, reverse=True)]


__all__ = ["LATEST", "PIPELINE_DIR", "REPORTS_DIR", "REPORT_RE", "latest_date", "list_reports", "pipeline_root",
           "read_json", "read_picks", "read_state", "read_wf_periods", "report_paths", "reports_dir", "run_dates",
           "run_dir", "wealth"]
