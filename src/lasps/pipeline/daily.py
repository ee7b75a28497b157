"""``lasps daily``: update data → compute alphas → evaluate → select → vote picks → report → (paper orders).

The work log's ``daily_alpha.py`` (2026-02-25) as a resumable pipeline, honest by construction::

    update    fetch the sessions up to D from a live source (skipped for offline stores: synthetic, files)
    compute   bring every stored alpha up to D incrementally (lasps.pipeline.alphas: only the new sessions,
              with each alpha's warm-up history; full recomputation after a split)
    evaluate  daily rank IC etc. of every alpha in both directions over the loaded history (``history``
              sessions up to D); the selection window's metrics; the walk-forward record of the
              selection rule; alpha correlations; overfitting statistics
    select    the top-K variants by the window metric (default IC_IR) over the last ``window`` signal days
              whose outcome is known at the close of D — nothing after D is read
    picks     each selected variant nominates its top ``picks`` codes at D; most votes win, ties by the
              summed percentile rank (lasps.backtest.strategies.voting)
    report    reports/D_alpha.md and .html (lasps.report)
    orders    ``--orders paper``: orders that move the paper account to equal weights in the picks,
              through the guard and the journal (lasps.broker)

This module is the runner; the steps live in :mod:`lasps.pipeline.steps` (one module each), their shared
context and input checks in :mod:`lasps.pipeline.context`. Each step logs (to the ``lasps.pipeline`` logger
and ``pipeline/D/daily.log``), records itself in the step journal ``pipeline/D/state.json``
(lasps.pipeline.state), writes its outputs atomically (lasps.pipeline.outputs) and is idempotent:
re-running the command skips what is done and resumes after an interruption. ``--dry-run`` writes nothing
at all (no update, no alpha files, no journal, no report, no orders): alphas are computed in memory and
the picks are printed.

Bad input raises :class:`~lasps.errors.LaspsError` (exit code 2 on the CLI): an unparsable, future or
non-trading date, a date with no stored prices, an empty store, too little history.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from lasps.config import Settings, ensure_home
from lasps.dates import parse_optional_date
from lasps.errors import ConfigError, LaspsError
from lasps.krx.sessions import latest_completed_session
from lasps.pipeline import outputs as out
from lasps.pipeline.context import (
    METRICS,
    STEPS,
    DailyConfig,
    DailyResult,
    Progress,
    StepContext,
    check_date_stored,
    check_session_date,
    resolve_source,
    stored_dates,
)
from lasps.pipeline.state import RunLock, StepJournal
from lasps.pipeline.steps import STEP_FUNCS, outputs_exist
from lasps.pipeline.steps.orders import orders_clock
from lasps.pipeline.steps.picks import vote
from lasps.research.io import parse_alpha_keys
from lasps.workspace import Workspace, as_workspace

log = logging.getLogger("lasps.pipeline")

def _step_params(cfg: DailyConfig, pool: list[str]) -> dict[str, dict[str, Any]]:
    return {
        "update": {"source": cfg.source},
        "compute": {"universe": cfg.universe, "pool": pool},
        "evaluate": {"universe": cfg.universe, "pool": pool, "history": cfg.history, "window": cfg.window,
                     "horizon": cfg.horizon, "metric": cfg.metric, "top_k": cfg.top_k},
        "select": {"top_k": cfg.top_k, "metric": cfg.metric},
        "picks": {"picks": cfg.picks},
        "report": {},
        "orders": {"orders": cfg.orders, "capital": cfg.capital},
    }


def _pool(cfg: DailyConfig, catalogue: Any) -> list[str]:
    if cfg.alphas is None or cfg.alphas.strip() in ("", "all"):
        return [n for n in catalogue]

    out_names: list[str] = []
    for key in parse_alpha_keys(cfg.alphas):
        try:
            name = catalogue.resolve(int(key) if key.isdigit() else key).name
        except LaspsError as exc:
            raise ConfigError(f"unknown alpha {key!r} in --alphas", where="--alphas",
                              fix="see `lasps alpha list` for ids and names") from exc
        if name not in out_names:
            out_names.append(name)
    return out_names


def _target_date(ws: Workspace, requested: dt.date | None, source_name: str | None, now: dt.datetime | None) -> dt.date:
    """D: the requested date, else the latest completed session (online) or the last stored date."""
    if requested is not None:
        return requested
    if source_name is not None:
        return latest_completed_session(now)
    return pd.Timestamp(stored_dates(ws)[-1]).date()


def run_daily(home: Workspace | Path | str, config: DailyConfig | None = None, *, settings: Settings | None = None,
              source: Any = None, clock: Any = None, now: dt.datetime | None = None,
              progress: Progress | None = None) -> DailyResult:
    """Run (or resume) the daily pipeline for one date (see the module docstring).

    Parameters
    ----------
    home:
        The :class:`~lasps.workspace.Workspace` (or its home directory).
    config:
        :class:`DailyConfig`.
    settings:
        Settings for the data update (credentials, pacing); default from the environment.
    source:
        A ready :class:`~lasps.data.sources.base.Source` for the update (tests inject a fake one).
    clock:
        Clock for ``--orders paper`` (default :func:`orders_clock`).
    now:
        Reference time for date checks and the update (default: now in Seoul).
    progress:
        ``progress(step, status, message)`` for a live display.
    """
    t_start = time.perf_counter()
    cfg = config or DailyConfig()
    cfg.validate()
    ws = as_workspace(home) if settings is None or isinstance(home, Workspace) else Workspace(Path(home), settings)
    home = ws.home
    settings = settings or ws.settings
    requested = parse_optional_date(cfg.date, option="--date")
    if requested is not None:
        check_session_date(requested, now)
    first_dates = stored_dates(ws)  # raises for a missing or empty store
    source_name = resolve_source(ws, cfg.source)
    if source is not None:  # an injected source instance (tests, notebooks) is always used
        source_name = str(getattr(source, "name", "custom"))
    day = _target_date(ws, requested, source_name, now)
    if source_name is None:  # offline: the date must already be stored; refuse before writing anything
        check_date_stored(first_dates, day, online=False)
    catalogue = ws.catalogue
    pool = _pool(cfg, catalogue)
    if not cfg.dry_run:
        ensure_home(home)
    tmp_dir: Path | None = None
    if cfg.dry_run:
        tmp_dir = Path(tempfile.mkdtemp(prefix="lasps-daily-dry-"))
        directory = tmp_dir / day.isoformat()
    else:
        directory = out.run_dir(home, day)
    directory.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(directory / "daily.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.setLevel(logging.INFO)
    log.addHandler(handler)
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    lock = RunLock(directory)
    try:
        with lock.hold():
            journal = StepJournal(directory, STEPS)
            journal.runs += 1
            if cfg.force:
                journal.reset_from(STEPS[0])
            for step, params in _step_params(cfg, pool).items():
                if journal.check_params(step, params):
                    log.info("%s: parameters changed since the last run: re-running it and every later step", step)
            journal.extra = {"date": day.isoformat(), "home": str(home), "dry_run": cfg.dry_run}
            journal.save()
            log.info("lasps daily %s (run %d%s) in %s", day, journal.runs, ", dry run" if cfg.dry_run else "", home)
            ctx = StepContext(ws, cfg, settings, day, directory, journal, source_name, source, progress, clock, now,
                              pool, catalogue)
            _run_steps(ctx)
            result = _result(ctx, time.perf_counter() - t_start)
    finally:
        log.removeHandler(handler)
        handler.close()
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return result


def _run_steps(ctx: StepContext) -> None:
    """Run every step that is not done yet, journaling each (see the module docstring)."""
    journal, progress = ctx.journal, ctx.progress
    for step in STEPS:
        if step == "compute":
            check_date_stored(ctx.stored(), ctx.date, online=ctx.source_name is not None)
        if journal.steps[step].status == "skipped" or (journal.is_done(step) and outputs_exist(ctx, step)):
            log.info("%s: done earlier (%s), skipped", step, journal.steps[step].finished)
            if progress is not None:
                progress(step, "skip", "done earlier")
            continue
        if progress is not None:
            progress(step, "start", "")
        journal.start(step)
        t0 = time.perf_counter()
        try:
            summary, skipped = STEP_FUNCS[step](ctx)
        except BaseException as exc:
            what = exc.what if isinstance(exc, LaspsError) else f"{type(exc).__name__}: {exc}"
            journal.fail(step, what, time.perf_counter() - t0)
            log.error("%s failed: %s", step, what)
            if progress is not None:
                progress(step, "fail", what)
            raise
        journal.finish(step, summary, time.perf_counter() - t0, skipped=skipped)
        if progress is not None:
            progress(step, "skip" if skipped else "done", summary.get("line") or summary.get("note") or "")


def _result(ctx: StepContext, seconds: float) -> DailyResult:
    picks = pd.read_csv(ctx.file("picks.csv"), dtype={"code": str})
    sel = out.read_json(ctx.file("selection.json")) or {}
    orders = out.read_json(ctx.file("orders.json"))
    md_path, html_path = out.report_paths(ctx.home, ctx.date)
    report = ctx.cache.get("report")
    warnings = list(report.warnings) if report is not None else list(ctx.warnings)
    if report is None and md_path.is_file():
        markdown = md_path.read_text(encoding="utf-8")
    else:
        markdown = ctx.cache.get("markdown", "")
    wf = pd.read_csv(ctx.file("wf_summary.csv")).to_dict(orient="records") if ctx.file("wf_summary.csv").is_file() \
        else []
    return DailyResult(
        date=ctx.date, directory=None if ctx.config.dry_run else ctx.directory,
        report_md=None if ctx.config.dry_run else md_path, report_html=None if ctx.config.dry_run else html_path,
        picks=picks, selection=list(sel.get("variants", [])),
        steps={k: v.as_dict() for k, v in ctx.journal.steps.items()}, warnings=warnings,
        orders=orders.get("orders") if isinstance(orders, dict) else None, dry_run=ctx.config.dry_run,
        seconds=seconds, markdown=markdown, wf_summary=wf)


__all__ = ["METRICS", "STEPS", "DailyConfig", "DailyResult", "check_date_stored", "check_session_date",
           "orders_clock", "resolve_source", "run_daily", "stored_dates", "vote"]
