"""What every step of ``lasps daily`` shares: the configuration, the run context and the input checks.

:class:`DailyConfig` (the command's options), :class:`StepContext` (the workspace, the date D, the run
directory ``pipeline/D/``, the step journal, the update source, the alpha pool, warnings and a cache), and
the checks that refuse bad input before anything is written (:func:`check_session_date`,
:func:`check_date_stored`, :func:`stored_dates`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lasps.config import Settings
from lasps.errors import ConfigError, StoreError
from lasps.krx.calendar import KST, is_session, previous_session
from lasps.krx.sessions import latest_completed_session, session_times
from lasps.pipeline.state import StepJournal
from lasps.workspace import Workspace

STEPS: tuple[str, ...] = ("update", "compute", "evaluate", "select", "picks", "report", "orders")
METRICS: tuple[str, ...] = ("ic_ir", "ic_mean", "hit_rate", "q_spread")
OFFLINE_SOURCES: tuple[str, ...] = ("synthetic", "offline", "files", "none")
ONLINE_SOURCES: tuple[str, ...] = ("pykrx", "fdr")
ORDER_BROKERS: tuple[str, ...] = ("paper",)

#: ``progress(step, status, message)``: status is ``start``, ``done``, ``skip`` or ``fail``.
Progress = Callable[[str, str, str], None]


# ------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class DailyConfig:
    """Parameters of ``lasps daily`` (see the module docstring).

    Attributes
    ----------
    date:
        The trading date D (``YYYY-MM-DD``); None = the latest completed session (online source) or the last
        stored date (offline store).
    source:
        ``auto`` (the store's own live source, or offline), ``synthetic``/``offline``/``files`` (no update),
        ``pykrx`` or ``fdr``.
    dry_run:
        Compute and print, write nothing.
    top_k:
        Variants selected (each alpha counts twice: ``x`` and ``x_rev``).
    picks:
        Stocks picked; each variant nominates its top ``picks``.
    orders:
        None, or ``paper``: place paper orders for the picks.
    window:
        Selection window in signal sessions (trailing, outcomes known at D).
    history:
        Sessions loaded for the evaluation (the walk-forward record needs more than ``window``).
    horizon:
        Holding period h of the forward returns (next-open entry).
    metric:
        Selection metric: ``ic_ir``, ``ic_mean``, ``hit_rate`` or ``q_spread``.
    alphas:
        Alpha pool: None = the whole catalogue, or ids/ranges/names ``1-20,44,alpha_201``.
    universe:
        ``default``, ``kospi``, ``kosdaq``, ``topN`` or a code list.
    force:
        Re-run every step even if the journal says it is done.
    capital:
        KRW to allocate with ``--orders`` (default: the paper account's value).
    """

    date: str | None = None
    source: str = "auto"
    dry_run: bool = False
    top_k: int = 10
    picks: int = 5
    orders: str | None = None
    window: int = 252
    history: int = 756
    horizon: int = 5
    metric: str = "ic_ir"
    alphas: str | None = None
    universe: str = "default"
    force: bool = False
    capital: float | None = None

    def validate(self) -> None:
        """Raise :class:`ConfigError` for an out-of-range option."""
        if self.top_k < 1:
            raise ConfigError(f"--top-k must be >= 1, got {self.top_k}", where="--top-k", fix="e.g. --top-k 10")
        if self.picks < 1:
            raise ConfigError(f"--picks must be >= 1, got {self.picks}", where="--picks", fix="e.g. --picks 5")
        if self.window < 20:
            raise ConfigError(f"--window must be >= 20 sessions, got {self.window}", where="--window",
                              fix="e.g. --window 252 (one year)")
        if self.horizon < 1:
            raise ConfigError(f"--horizon must be >= 1 session, got {self.horizon}", where="--horizon")
        if self.history < self.window + self.horizon + 2:
            raise ConfigError(f"--history {self.history} must exceed --window {self.window} + --horizon "
                              f"{self.horizon} + 1", where="--history",
                              fix=f"e.g. --history {3 * self.window} (the walk-forward record needs more)")
        if self.metric not in METRICS:
            raise ConfigError(f"unknown selection metric {self.metric!r}", where="--metric",
                              fix=f"choose one of {', '.join(METRICS)}")
        if self.orders is not None and self.orders not in ORDER_BROKERS:
            raise ConfigError(f"--orders {self.orders!r} is not supported by `lasps daily`", where="--orders",
                              fix="use --orders paper; live orders go through `lasps order` (guarded, confirmed)")
        if self.capital is not None and not (self.capital > 0 and np.isfinite(self.capital)):
            raise ConfigError(f"--capital must be a positive amount of KRW, got {self.capital}", where="--capital")
        src = self.source.strip().lower()
        if src not in ("auto", *OFFLINE_SOURCES, *ONLINE_SOURCES):
            raise ConfigError(f"unknown source {self.source!r}", where="--source",
                              fix=f"choose auto, {', '.join(OFFLINE_SOURCES)} or {', '.join(ONLINE_SOURCES)}")


@dataclass
class DailyResult:
    """What :func:`run_daily` did."""

    date: dt.date
    directory: Path | None
    report_md: Path | None
    report_html: Path | None
    picks: pd.DataFrame
    selection: list[dict[str, Any]]
    steps: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    orders: list[dict[str, Any]] | None = None
    dry_run: bool = False
    seconds: float = 0.0
    markdown: str = ""
    wf_summary: list[dict[str, Any]] = field(default_factory=list)


# ------------------------------------------------------------------------------------ input checks


def check_session_date(day: dt.date, now: dt.datetime | None = None) -> None:
    """Refuse a future date, a day that is not a KRX session, and today before its close."""
    now = (now or dt.datetime.now(KST)).astimezone(KST)
    today = now.date()
    if day > today:
        raise ConfigError(f"--date {day} is in the future (today is {today} in Seoul)", where="--date",
                          fix=f"use a past trading date, e.g. {latest_completed_session(now)}")
    if not is_session(day):
        raise ConfigError(f"--date {day} ({day:%A}) is not a KRX trading day", where="--date",
                          fix=f"the previous trading day is {previous_session(day)}")
    if day == today and now < session_times(day).close:
        raise ConfigError(f"today's session ({day}) has not closed yet ({session_times(day).close:%H:%M} KST)",
                          where="--date", fix=f"run after the close, or use --date {previous_session(day)}")


def stored_dates(ws: Workspace) -> np.ndarray:
    """All stored price dates (ascending ``datetime64[D]``); :class:`StoreError` for a missing/empty store."""
    dates = ws.sessions()
    if len(dates) == 0:
        raise StoreError("the market store holds no prices", where=str(ws.db_path),
                         fix="run `lasps data init --source synthetic` or `lasps data import PATH` first")
    return dates


def resolve_source(ws: Workspace, source: str) -> str | None:
    """The live source to update from, or None for an offline store (see :class:`DailyConfig`)."""
    src = source.strip().lower()
    if src in OFFLINE_SOURCES:
        return None
    if src in ONLINE_SOURCES:
        return src
    with ws.store() as store:
        last = store.latest_ok_source() or ""
    return last if last in ONLINE_SOURCES else None


def store_source_label(ws: Workspace) -> str:
    """``synthetic (400 × 4 y, seed 7)``-style description of where the stored data came from."""
    try:
        with ws.store() as store:
            return store.source_label()
    except StoreError:
        return "?"


def check_date_stored(stored: np.ndarray, day: dt.date, *, online: bool) -> None:
    """Raise :class:`StoreError` when the trading day ``day`` has no stored prices (``stored``: all dates)."""
    d = np.datetime64(day, "D")
    i = int(np.searchsorted(stored, d))
    if i < len(stored) and stored[i] == d:
        return
    first, last = stored[0], stored[-1]
    if d > last:
        fix = ("the source has not published it yet; run again later" if online
               else "run `lasps data update` (or `lasps daily --source pykrx`) to fetch it")
        raise StoreError(f"no prices stored for {day}: the store ends on {last}", where="--date",
                         fix=f"{fix}, or choose a date between {first} and {last}")
    if d < first:
        raise StoreError(f"no prices stored for {day}: the store starts on {first}", where="--date",
                         fix=f"choose a date between {first} and {last}")
    raise StoreError(f"no prices stored for the trading day {day} (a gap in the store)", where="--date",
                     fix="fetch it with `lasps data update --start YYYY-MM-DD`, or choose another date")


# ------------------------------------------------------------------------------------------ context


@dataclass
class StepContext:
    """One run of the pipeline, handed to every step (:mod:`lasps.pipeline.steps`)."""

    ws: Workspace
    config: DailyConfig
    settings: Settings
    date: dt.date
    directory: Path
    journal: StepJournal
    source_name: str | None
    source_obj: Any
    progress: Progress | None
    clock: Any
    now: dt.datetime | None
    pool: list[str]
    catalogue: Any
    warnings: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.ws.home

    def file(self, name: str) -> Path:
        """``pipeline/D/<name>``."""
        return self.directory / name

    def stored(self) -> np.ndarray:
        """The stored sessions (cached until the update step changes them)."""
        if "stored" not in self.cache:
            self.cache["stored"] = stored_dates(self.ws)
        return self.cache["stored"]

    def tick(self, step: str) -> Callable[[str], None]:
        """A per-item progress callback for ``step`` (a no-op without a display)."""
        def tick(name: str) -> None:
            if self.progress is not None:
                self.progress(step, "tick", name)
        return tick


__all__ = ["METRICS", "OFFLINE_SOURCES", "ONLINE_SOURCES", "ORDER_BROKERS", "STEPS", "DailyConfig", "DailyResult",
           "Progress", "StepContext", "check_date_stored", "check_session_date", "resolve_source",
           "store_source_label", "stored_dates"]
