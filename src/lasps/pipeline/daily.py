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

Each step logs (to the ``lasps.pipeline`` logger and ``pipeline/D/daily.log``), records itself in the step
journal ``pipeline/D/state.json`` (lasps.pipeline.state), writes its outputs atomically
(lasps.pipeline.outputs) and is idempotent: re-running the command skips what is done and resumes after an
interruption. ``--dry-run`` writes nothing at all (no update, no alpha files, no journal, no report, no
orders): alphas are computed in memory and the picks are printed.

Bad input raises :class:`~lasps.errors.LaspsError` (exit code 2 on the CLI): an unparsable, future or
non-trading date, a date with no stored prices, an empty store, too little history.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lasps.config import Settings, ensure_home, get_settings
from lasps.data.calendar import KST, is_session, latest_completed_session, previous_session, session_times
from lasps.errors import ConfigError, LaspsError, StoreError
from lasps.pipeline import outputs as out
from lasps.pipeline.state import RunLock, StepJournal, atomic_write_text, write_json

log = logging.getLogger("lasps.pipeline")

STEPS: tuple[str, ...] = ("update", "compute", "evaluate", "select", "picks", "report", "orders")
METRICS: tuple[str, ...] = ("ic_ir", "ic_mean", "hit_rate", "q_spread")
OFFLINE_SOURCES: tuple[str, ...] = ("synthetic", "offline", "files", "none")
ONLINE_SOURCES: tuple[str, ...] = ("pykrx", "fdr")
ORDER_BROKERS: tuple[str, ...] = ("paper",)
CRASH_ENV = "LASPS_TEST_DAILY_CRASH_AFTER"  # test hook: SIGKILL the process after this step is journaled

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


def parse_date(value: str | dt.date | None) -> dt.date | None:
    """``YYYY-MM-DD`` -> date; :class:`ConfigError` otherwise."""
    if value is None or isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"cannot parse --date {value!r}", where="--date",
                          fix="use YYYY-MM-DD, e.g. 2026-02-25") from exc


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


def stored_dates(home: Path) -> np.ndarray:
    """All stored price dates (ascending ``datetime64[D]``); :class:`StoreError` for a missing/empty store."""
    from lasps.data.store import MarketStore

    with MarketStore(home, read_only=True) as store:
        res = store.con.execute("SELECT DISTINCT date FROM daily_prices ORDER BY date").fetchnumpy()["date"]
    dates = np.asarray(res).astype("datetime64[D]")
    if len(dates) == 0:
        raise StoreError("the market store holds no prices", where=str(Path(home) / "lasps.duckdb"),
                         fix="run `lasps data init --source synthetic` or `lasps data import PATH` first")
    return dates


def resolve_source(home: Path, source: str) -> str | None:
    """The live source to update from, or None for an offline store (see :class:`DailyConfig`)."""
    from lasps.data.store import MarketStore

    src = source.strip().lower()
    if src in OFFLINE_SOURCES:
        return None
    if src in ONLINE_SOURCES:
        return src
    with MarketStore(home, read_only=True) as store:
        row = store.con.execute("SELECT source FROM source_runs WHERE status = 'ok' "
                                "ORDER BY finished_at DESC LIMIT 1").fetchone()
    last = str(row[0]) if row else ""
    return last if last in ONLINE_SOURCES else None


def store_source_label(home: Path) -> str:
    """``synthetic (400 × 4 y, seed 7)``-style description of where the stored data came from."""
    from lasps.data.store import MarketStore

    try:
        with MarketStore(home, read_only=True) as store:
            rows = store.con.execute("SELECT source, kind, detail FROM source_runs WHERE status = 'ok' "
                                     "ORDER BY finished_at").fetchall()
    except StoreError:
        return "?"
    if not rows:
        return "?"
    sources = list(dict.fromkeys(r[0] for r in rows))
    label = ", ".join(sources)
    for source, kind, detail in rows:
        if source == "synthetic" and kind == "init" and detail:
            try:
                d = json.loads(detail)
                label = label.replace("synthetic", f"synthetic ({d['stocks']} listings × {d['years']:g} y, "
                                                   f"seed {d['seed']})", 1)
            except (ValueError, KeyError, TypeError):
                pass
    return label


def _with_store_retry(fn: Callable[[], Any], timeout_s: float = 15.0) -> Any:
    """Run a short DuckDB write; retry while another process (e.g. a reader) holds the file lock."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return fn()
        except StoreError as exc:
            if "cannot open" not in exc.what or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ------------------------------------------------------------------------------------------ context


@dataclass
class _Ctx:
    home: Path
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

    def file(self, name: str) -> Path:
        return self.directory / name

    def stored(self) -> np.ndarray:
        if "stored" not in self.cache:
            self.cache["stored"] = stored_dates(self.home)
        return self.cache["stored"]


_OUTPUTS: dict[str, tuple[str, ...]] = {
    "evaluate": ("evaluation.json", "rank_window.csv", "ic_daily.parquet", "wf_summary.csv", "wf_periods.csv",
                 "wf_variants.csv", "correlation.csv", "signals.parquet"),
    "select": ("selection.json",),
    "picks": ("picks.csv", "picks.json"),
    "orders": ("orders.json",),
}


def _outputs_exist(ctx: _Ctx, step: str) -> bool:
    if step == "report":
        if ctx.config.dry_run:
            return True
        md, html = out.report_paths(ctx.home, ctx.date)
        return md.is_file() and html.is_file()
    return all(ctx.file(n).is_file() for n in _OUTPUTS.get(step, ()))


# -------------------------------------------------------------------------------------------- steps


def _step_update(ctx: _Ctx) -> tuple[dict[str, Any], bool]:
    if ctx.source_name is None:
        label = store_source_label(ctx.home)
        log.info("update: offline store (%s): nothing to fetch", label)
        return {"source": label, "fetched": 0, "note": "offline store: nothing to fetch"}, True
    if ctx.config.dry_run:
        log.info("update: dry run: would fetch from %s up to %s", ctx.source_name, ctx.date)
        return {"source": ctx.source_name, "fetched": 0, "note": "dry run: nothing fetched"}, True
    from lasps.data.update import update_store

    rep = _with_store_retry(lambda: update_store(ctx.home, ctx.source_name, ctx.settings, until=ctx.date,
                                                 source=ctx.source_obj, now=ctx.now))
    ctx.cache.pop("stored", None)
    log.info("update: %s", rep.summary())
    for note in rep.notes:
        log.info("update: %s", note)
    return {"source": ctx.source_name, "fetched": len(rep.written), "skipped": len(rep.skipped),
            "price_rows": rep.price_rows, "summary": rep.summary(), "notes": rep.notes, "line": rep.summary()}, False


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


def _step_compute(ctx: _Ctx) -> tuple[dict[str, Any], bool]:
    if ctx.config.dry_run:
        log.info("compute: dry run: alphas are computed in memory by the evaluation, nothing is written")
        return {"note": "dry run", "unavailable": {}, "in_memory": list(ctx.pool),
                "in_memory_reason": "dry run: alphas computed in memory, nothing stored"}, True
    if ctx.config.universe != "default":  # the store keeps one file per alpha, for the default universe
        log.info("compute: universe %s: alphas are computed in memory (the alpha store holds the default "
                 "universe, which cross-sectional alphas depend on)", ctx.config.universe)
        return {"note": f"universe {ctx.config.universe}: computed in memory", "unavailable": {},
                "in_memory": list(ctx.pool),
                "in_memory_reason": f"universe {ctx.config.universe}: the alpha store holds the default universe"}, True
    from lasps.pipeline.alphas import compute_alphas

    def tick(name: str) -> None:
        if ctx.progress is not None:
            ctx.progress("compute", "tick", name)

    rep = compute_alphas(ctx.home, [ctx.catalogue[n] for n in ctx.pool], ctx.date, catalogue=ctx.catalogue,
                         progress=tick)
    log.info("compute: %s (%.1f s)", rep.line(), rep.seconds)
    reasons: dict[str, list[str]] = {}
    for name, why in rep.recomputed.items():
        reasons.setdefault(why, []).append(name)
    for why, names in reasons.items():
        log.info("compute: %d recomputed in full (%s%s): %s", len(names), ", ".join(names[:4]),
                 " …" if len(names) > 4 else "", why)
    return rep.as_dict() | {"line": rep.line()}, False


def _eval_panel_start(ctx: _Ctx) -> np.datetime64:
    stored = ctx.stored()
    i = int(np.searchsorted(stored, np.datetime64(ctx.date, "D")))
    return stored[max(0, i - ctx.config.history + 1)]


def _stock_meta(home: Path, codes: np.ndarray) -> pd.DataFrame:
    from lasps.data.store import MarketStore

    with MarketStore(home, read_only=True) as store:
        df = store.query_df("SELECT code, name, market, sector_name, sector_code FROM stocks")
    df["code"] = df["code"].astype(str)
    df = df.set_index("code").reindex([str(c) for c in codes])
    df["sector"] = df["sector_name"].where(df["sector_name"].notna(), df["sector_code"])
    return df


def _alpha_values(ctx: _Ctx, panel: Any, names: Sequence[str], on_the_fly: set[str],
                  signals: dict[str, np.ndarray], unavailable: dict[str, str]) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, (T, N))`` aligned to ``panel``: stored values, or computed on the fly from a panel that
    starts each alpha's warm-up earlier and ends at D; keep each alpha's row at D in ``signals``."""
    from lasps.alpha.engine import alpha_lookback, compile_alphas
    from lasps.alpha.store import read_alpha
    from lasps.data.panel_loader import load_panel

    for name in names:
        if name in on_the_fly:
            continue
        arr = read_alpha(ctx.home, name, panel)
        signals[name] = arr[-1].copy()
        yield name, arr
    fly = [n for n in names if n in on_the_fly]
    if not fly:
        return
    stored = ctx.stored()
    i0 = int(np.searchsorted(stored, panel.dates[0]))
    warm = max(alpha_lookback(ctx.catalogue[n]) for n in fly)
    wpanel = load_panel(start=str(stored[max(0, i0 - warm)]), end=ctx.date, universe=ctx.config.universe,
                        home=ctx.home)
    offset = len(wpanel.dates) - len(panel.dates)
    if offset < 0 or not np.array_equal(wpanel.dates[offset:], panel.dates) \
            or not np.array_equal(wpanel.codes, panel.codes):  # pragma: no cover - same store, same filter
        raise LaspsError("the warm-up panel does not line up with the evaluation panel")
    program = compile_alphas(fly, wpanel, catalogue=ctx.catalogue)
    unavailable.update(program.unavailable)
    for name, arr in program.run(wpanel):
        arr = np.ascontiguousarray(arr[offset:])
        signals[name] = arr[-1].copy()
        yield name, arr


def _step_evaluate(ctx: _Ctx) -> tuple[dict[str, Any], bool]:
    from lasps.alpha.store import alpha_path
    from lasps.data.panel_loader import load_panel
    from lasps.research.correlation import alpha_correlation
    from lasps.research.decay import ICDecay, decay_rows
    from lasps.research.evaluate import EvalConfig, evaluate_arrays
    from lasps.research.forward import panel_forward_returns
    from lasps.research.ranking import variant_metrics
    from lasps.research.walkforward import WalkForwardConfig, walk_forward

    cfg = ctx.config
    t0 = time.perf_counter()
    panel = load_panel(start=str(_eval_panel_start(ctx)), end=ctx.date, universe=cfg.universe, home=ctx.home)
    T, N = panel.shape
    lag = cfg.horizon + 1
    wcfg = WalkForwardConfig(top=cfg.top_k, lookback=cfg.window, metric=cfg.metric)
    need = lag + wcfg.min_known() + 1
    if need > T:
        raise ConfigError(
            f"not enough history before {ctx.date}: {T} stored sessions up to it, the selection needs at least "
            f"{need} (window {cfg.window} → {wcfg.min_known()} known IC days, plus {lag} sessions until a "
            f"{cfg.horizon}-day outcome is known)", where="--date",
            fix=f"choose a later date, load more history, or use a shorter --window (stored from {ctx.stored()[0]})")
    compute = ctx.journal.summary("compute")
    unavailable: dict[str, str] = dict(compute.get("unavailable") or {})
    names = [n for n in ctx.pool if n not in unavailable]
    adjusted_later = set(compute.get("as_of") or [])  # stored values adjusted with a later split
    on_the_fly = adjusted_later | set(compute.get("in_memory") or []) | {
        n for n in names if not alpha_path(ctx.home, n).is_file()}
    signals: dict[str, np.ndarray] = {}
    ev_cfg = EvalConfig(horizon=cfg.horizon, entry="open")
    fwd = panel_forward_returns(panel, cfg.horizon, "open")

    def tick(name: str) -> None:
        if ctx.progress is not None:
            ctx.progress("evaluate", "tick", name)

    decay = ICDecay(panel, decay_rows(T, cfg.window))  # IC by horizon 1..20 (the report's IC-decay chart)
    ic_decay: dict[str, list[float]] = {}
    values = decay.tap(_alpha_values(ctx, panel, names, on_the_fly, signals, unavailable), ic_decay)
    ev = evaluate_arrays(values, fwd,
                         panel.universe_mask, panel.dates, panel.codes, ev_cfg, unavailable=unavailable,
                         progress=tick)
    ev.unavailable.update(unavailable)
    if not ev.alphas:
        raise LaspsError("none of the requested alphas can be computed from the stored data",
                         where="--alphas", fix="see `lasps alpha list` for what the stored data can produce")
    # the selection window: the last `window` signal rows whose outcome is known at the close of D
    hi = T - 1 - lag
    lo = max(0, hi - cfg.window + 1)
    wmask = np.zeros(T, dtype=bool)
    wmask[lo:hi + 1] = True
    rank_window = pd.DataFrame.from_records(
        [{"variant": v, **variant_metrics(ev, i, wmask)} for i, v in enumerate(ev.variants)])
    wf = walk_forward(ev, wcfg)
    # walk-forward record per variant: how often chosen, and the IC it delivered in the periods after
    rec: dict[str, list[float]] = {}
    sel_rows = [s.row for s in wf.selections]
    for k, s in enumerate(wf.selections):
        end = sel_rows[k + 1] if k + 1 < len(sel_rows) else T
        for v in s.variants:
            x = ev.ic[ev.index(v), s.row:end]
            r = rec.setdefault(v, [0.0, 0.0, 0.0])
            r[0] += 1
            r[1] += float(np.nansum(x))
            r[2] += float(np.isfinite(x).sum())
    wf_variants = pd.DataFrame([{"variant": v, "times_chosen": int(r[0]),
                                 "oos_ic": r[1] / r[2] if r[2] else np.nan, "oos_days": int(r[2])}
                                for v, r in rec.items()], columns=["variant", "times_chosen", "oos_ic", "oos_days"])
    periods = []
    for name in ("walk_forward", "in_sample"):
        a = wf.approaches[name]
        k = wf.known_row[a.rows]
        known = [str(panel.dates[j]) if j < T else "" for j in k]
        periods.append(pd.DataFrame({"approach": name, "date": [str(panel.dates[r]) for r in a.rows],
                                     "known_date": known, "lo": a.lo, "ls": a.ls, "market": a.market}))
    wf_periods = pd.concat(periods, ignore_index=True)
    corr = alpha_correlation(ev)
    corr_frame = pd.DataFrame(corr.matrix, index=list(corr.names), columns=list(corr.names))
    overfit: dict[str, Any] | None = None
    try:
        from lasps.research.overfit import overfit_report

        rep = overfit_report(ev, "ls")
        overfit = {"chosen": rep.chosen, "sharpe_ann": rep.chosen_sharpe_ann, "dsr": rep.dsr.dsr,
                   "n_trials": rep.trials.n_trials if rep.trials else rep.n_tried,
                   "n_effective": rep.trials.n_effective if rep.trials else None, "n_variants": rep.n_tried,
                   "pbo": rep.pbo.pbo if rep.pbo is not None else None, "verdict": rep.verdict,
                   "notes": list(rep.notes)}
    except LaspsError as exc:  # too little history for the statistics: say so, do not fail the day
        overfit = {"error": exc.what}
    meta = _stock_meta(ctx.home, panel.codes)
    last_close = panel.close[-1]
    universe_today = panel.universe_mask[-1] & np.isfinite(last_close)
    sig = pd.DataFrame({"code": [str(c) for c in panel.codes], "name": meta["name"].fillna("").to_numpy(),
                        "market": meta["market"].fillna("").to_numpy(), "sector": meta["sector"].fillna("").to_numpy(),
                        "close": last_close, "in_universe": universe_today})
    sig = pd.concat([sig, pd.DataFrame({n: signals[n] for n in ev.alphas})], axis=1)

    # files (atomic): the step's outputs
    def frame_to(path: Path, frame: pd.DataFrame, fmt: str = "csv") -> None:
        if fmt == "csv":
            atomic_write_text(path, frame.to_csv(index=False))
        else:
            tmp = path.with_name(f".{path.name}.tmp")
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, path)

    from lasps.research.io import ic_daily_frame

    frame_to(ctx.file("rank_window.csv"), rank_window)
    frame_to(ctx.file("ic_daily.parquet"), ic_daily_frame(ev), "parquet")
    frame_to(ctx.file("wf_summary.csv"), wf.summary)
    frame_to(ctx.file("wf_periods.csv"), wf_periods)
    frame_to(ctx.file("wf_variants.csv"), wf_variants)
    atomic_write_text(ctx.file("correlation.csv"), corr_frame.to_csv())
    frame_to(ctx.file("signals.parquet"), sig, "parquet")
    summary = {
        "panel_first": str(panel.dates[0]), "panel_last": str(panel.dates[-1]), "sessions": T, "codes": N,
        "universe_today": int(universe_today.sum()), "window_first": str(panel.dates[lo]),
        "window_last": str(panel.dates[hi]), "window_rows": int(hi - lo + 1), "horizon": cfg.horizon,
        "entry": "open", "lag": lag, "metric": cfg.metric, "top_k": cfg.top_k, "min_known": wcfg.min_known(),
        "n_alphas": len(ev.alphas), "n_variants": ev.n_variants, "unavailable": dict(ev.unavailable),
        "on_the_fly": sorted(on_the_fly & set(ev.alphas)), "adjusted_later": sorted(adjusted_later & set(ev.alphas)),
        "in_memory_reason": compute.get("in_memory_reason"), "wf_notes": list(wf.notes), "overfit": overfit,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    summary |= _selectability_summary(panel)
    summary["ic_decay"] = {"horizons": decay.horizons.tolist(), "rows": len(decay.rows),
                           "first": str(panel.dates[decay.rows[0]]) if len(decay.rows) else None,
                           "last": str(panel.dates[decay.rows[-1]]) if len(decay.rows) else None,
                           "ic": ic_decay}
    if not cfg.dry_run:
        summary["rank_run_id"] = _write_research(ctx, ev)
    write_json(ctx.file("evaluation.json"), summary)
    log.info("evaluate: %d alphas (%d variants) over %s..%s (%d sessions × %d codes); selection window %s..%s "
             "(%d signal days); %.1f s", len(ev.alphas), ev.n_variants, panel.dates[0], panel.dates[-1], T, N,
             panel.dates[lo], panel.dates[hi], hi - lo + 1, time.perf_counter() - t0)
    line = (f"{len(ev.alphas)} alphas × 2 directions over {T} sessions × {N} codes; selection window "
            f"{panel.dates[lo]}..{panel.dates[hi]}")
    return {k: summary[k] for k in ("n_alphas", "n_variants", "sessions", "codes", "window_first", "window_last",
                                    "universe_today", "seconds")} | {"unavailable": dict(ev.unavailable),
                                                                     "line": line}, False


def _selectability_summary(panel: Any) -> dict[str, Any]:
    """Suspect jumps in the evaluation panel and what halts/quarantine kept out on the date (DESIGN 2.3-4)."""
    from lasps.data.suspect import selectability_on, suspect_summary

    return {"suspect_jumps": suspect_summary(panel), "selectability": selectability_on(panel, -1)}


def _write_research(ctx: _Ctx, ev: Any) -> str:
    """``research/rank_latest.csv`` + ``ic_daily_latest.parquet`` and the eval_* DuckDB rows (short write)."""
    from lasps.research import io as rio
    from lasps.research.ranking import rank_table

    table = rank_table(ev)
    run_id = rio.new_run_id()
    rio.write_frame(ctx.home, "rank", table.frame, run_id)
    rio.write_frame(ctx.home, "ic_daily", rio.ic_daily_frame(ev), run_id, fmt="parquet")
    runs = pd.DataFrame([{
        "created_at": pd.Timestamp.now(), "command": "daily", "horizon": ev.config.horizon,
        "entry": ev.config.entry, "quantiles": ev.config.quantiles, "n_alphas": len(ev.alphas),
        "n_variants": ev.n_variants, "first_date": ev.dates[0], "last_date": ev.dates[-1],
        "split_note": ev.splits.note, "params": json.dumps({"date": str(ctx.date), "history": ctx.config.history}),
    }])
    _with_store_retry(lambda: rio.write_tables(ctx.home, {"eval_runs": runs, "eval_results": table.frame}, run_id))
    return run_id


def _step_select(ctx: _Ctx) -> tuple[dict[str, Any], bool]:
    cfg = ctx.config
    ev_meta = out.read_json(ctx.file("evaluation.json")) or {}
    rank = pd.read_csv(ctx.file("rank_window.csv"))
    wfv = pd.read_csv(ctx.file("wf_variants.csv")).set_index("variant")
    min_known = int(ev_meta.get("min_known") or 2)
    score = pd.to_numeric(rank[cfg.metric], errors="coerce")
    ok = np.isfinite(score.to_numpy()) & (rank["n_days"].to_numpy() >= min_known)
    eligible = rank.loc[ok].assign(_score=score[ok])
    chosen = eligible.sort_values("_score", ascending=False, kind="mergesort").head(cfg.top_k)
    if chosen.empty:
        raise LaspsError(
            f"no variant has {min_known}+ known daily ICs in the selection window "
            f"{ev_meta.get('window_first')}..{ev_meta.get('window_last')}", where="--window",
            fix="choose a later --date or a shorter --window (codes enter the universe after "
                "`universe_min_history` sessions)")
    rows = []
    for i, (_, r) in enumerate(chosen.iterrows(), start=1):
        v = str(r["variant"])
        alpha = v[:-4] if v.endswith("_rev") else v
        spec = ctx.catalogue.get(alpha)
        w = wfv.loc[v] if v in wfv.index else None
        rows.append({
            "rank": i, "variant": v, "alpha": alpha, "direction": -1 if v.endswith("_rev") else 1,
            "score": float(r["_score"]),
            "metrics": {k: (None if pd.isna(r[k]) else float(r[k])) for k in
                        ("n_days", "coverage", "ic_mean", "ic_std", "ic_ir", "ic_t_nw", "hit_rate", "q_spread",
                         "ls_return", "lo_return", "turnover")},
            "times_chosen": int(w["times_chosen"]) if w is not None else 0,
            "oos_ic": (None if w is None or pd.isna(w["oos_ic"]) else float(w["oos_ic"])),
            "oos_days": int(w["oos_days"]) if w is not None else 0,
            "description": spec.description if spec is not None else "",
            "formula": spec.formula if spec is not None else "",
        })
    doc = {"date": ctx.date.isoformat(), "metric": cfg.metric, "window": [ev_meta.get("window_first"),
                                                                         ev_meta.get("window_last")],
           "min_known": min_known, "n_variants": len(rank), "n_eligible": int(ok.sum()), "variants": rows}
    write_json(ctx.file("selection.json"), doc)
    if len(rows) < cfg.top_k:
        ctx.warnings.append(f"only {len(rows)} of the requested {cfg.top_k} variants had enough known ICs")
    log.info("select: top %d of %d variants by trailing %s: %s", len(rows), len(rank), cfg.metric,
             ", ".join(r["variant"] for r in rows))
    return {"variants": [r["variant"] for r in rows], "n_eligible": int(ok.sum()),
            "line": f"top {len(rows)} of {len(rank)} variants by trailing {cfg.metric}"}, False


def vote(signals: pd.DataFrame, variants: Sequence[str], n_picks: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Voting picks at one date (the work log's strategy, :func:`lasps.backtest.strategies.voting`).

    Parameters
    ----------
    signals:
        One row per code: ``code, in_universe`` and one column per alpha (values at the date).
    variants:
        Selected variants (``alpha_012``, ``alpha_046_rev`` …).
    n_picks:
        Each variant nominates its top ``n_picks`` codes; the ``n_picks`` codes with the most votes win,
        ties broken by the summed percentile rank over all variants.

    Returns the picks (``rank, code, votes, rank_sum, score, nominated_by``) and the contributions
    ``{code: {variant: [percentile rank, nominated]}}``.
    """
    from lasps.backtest.strategies import pct_rank_rows, topk_rows, variant_scores, voting

    alphas = {c: signals[c].to_numpy(dtype=np.float64)[None, :] for c in signals.columns
              if c not in ("code", "name", "market", "sector", "close", "in_universe")}
    universe = signals["in_universe"].to_numpy(dtype=bool)[None, :]
    rows = np.array([0], dtype=np.int64)
    codes = signals["code"].astype(str).to_numpy()
    targets = voting(alphas, list(variants), universe, rows, n_picks)
    chosen = [int(j) for j in targets.codes[0] if j >= 0]
    votes = np.zeros(len(codes))
    ranksum = np.zeros(len(codes))
    nominated: dict[int, list[str]] = {}
    pct: dict[str, np.ndarray] = {}
    for v in variants:
        x = variant_scores(alphas, v, rows, universe)
        top = topk_rows(x, n_picks)[0]
        for j in top[top >= 0]:
            votes[j] += 1
            nominated.setdefault(int(j), []).append(v)
        p = pct_rank_rows(x)[0]
        pct[v] = p
        ranksum += np.nan_to_num(p, nan=0.0)
    recs = []
    contributions: dict[str, Any] = {}
    for i, j in enumerate(chosen, start=1):
        recs.append({"rank": i, "code": codes[j], "votes": int(votes[j]), "rank_sum": float(ranksum[j]),
                     "score": float(votes[j] * (len(variants) + 1) + ranksum[j]),
                     "nominated_by": ",".join(nominated.get(j, []))})
        contributions[codes[j]] = {v: [None if not np.isfinite(pct[v][j]) else float(pct[v][j]),
                                       v in nominated.get(j, [])] for v in variants}
    frame = pd.DataFrame(recs, columns=["rank", "code", "votes", "rank_sum", "score", "nominated_by"])
    return frame, contributions


def _step_picks(ctx: _Ctx) -> tuple[dict[str, Any], bool]:
    cfg = ctx.config
    sel = out.read_json(ctx.file("selection.json")) or {}
    variants = [r["variant"] for r in sel.get("variants", [])]
    signals = pd.read_parquet(ctx.file("signals.parquet"))
    picks, contributions = vote(signals, variants, cfg.picks)
    meta = signals.set_index("code")[["name", "market", "sector", "close"]]
    picks = picks.merge(meta, left_on="code", right_index=True, how="left")
    picks = picks[["rank", "code", "name", "market", "sector", "close", "votes", "rank_sum", "score", "nominated_by"]]
    if len(picks) < cfg.picks:
        ctx.warnings.append(f"only {len(picks)} codes were nominated (asked for {cfg.picks})")
    universe = int(signals["in_universe"].sum())
    doc = {"date": ctx.date.isoformat(), "variants": variants, "n_picks": cfg.picks, "universe": universe,
           "picks": [dict(r) | {"nominated_by": [v for v in str(r["nominated_by"]).split(",") if v]}
                     for r in picks.to_dict(orient="records")],
           "contributions": contributions}
    atomic_write_text(ctx.file("picks.csv"), picks.to_csv(index=False))
    write_json(ctx.file("picks.json"), doc)
    if not cfg.dry_run:
        _with_store_retry(lambda: _write_picks_table(ctx.home, ctx.date, picks))
        current = out.latest_date(ctx.home)
        if current is None or current <= ctx.date.isoformat():
            atomic_write_text(out.pipeline_root(ctx.home) / out.LATEST, ctx.date.isoformat() + "\n")
    log.info("picks: %s", ", ".join(f"{r.code} {r.name} ({r.votes} votes)" for r in picks.itertuples()))
    return {"picks": picks["code"].tolist(), "universe": universe,
            "line": f"{len(picks)} picks from {universe} codes: {', '.join(picks['code'])}"}, False


PICKS_DDL = """CREATE TABLE IF NOT EXISTS picks (
    date DATE, rank INTEGER, code VARCHAR, name VARCHAR, votes INTEGER, rank_sum DOUBLE, score DOUBLE,
    close DOUBLE, nominated_by VARCHAR, created_at TIMESTAMP, PRIMARY KEY (date, rank))"""


def _write_picks_table(home: Path, day: dt.date, picks: pd.DataFrame) -> None:
    """Replace the ``picks`` rows of ``day`` in the market store (one short transaction)."""
    from lasps.data.store import MarketStore

    rows = picks[["rank", "code", "name", "votes", "rank_sum", "score", "close", "nominated_by"]].copy()
    rows.insert(0, "date", pd.Timestamp(day))
    rows["created_at"] = pd.Timestamp.now()
    with MarketStore(home) as store, store.transaction() as con:
        con.execute(PICKS_DDL)
        con.execute("DELETE FROM picks WHERE date = ?", [day])
        con.register("_picks", rows)
        try:
            con.execute("INSERT INTO picks SELECT date, rank, code, name, votes, rank_sum, score, close, "
                        "nominated_by, created_at FROM _picks")
        finally:
            con.unregister("_picks")


def _step_report(ctx: _Ctx) -> tuple[dict[str, Any], bool]:
    from lasps.pipeline.assemble import build_report
    from lasps.report.html import render_html
    from lasps.report.markdown import render_markdown

    orders = out.read_json(ctx.file("orders.json"))
    report = build_report(ctx.home, ctx.date, ctx.directory, ctx.config, ctx.catalogue,
                          orders=orders.get("orders") if isinstance(orders, dict) else None,
                          extra_warnings=ctx.warnings)
    md = render_markdown(report)
    html = render_html(report)
    ctx.cache["markdown"] = md
    ctx.cache["report"] = report
    if ctx.config.dry_run:
        return {"note": "dry run: report not written"}, True
    md_path, html_path = out.report_paths(ctx.home, ctx.date)
    atomic_write_text(md_path, md)
    atomic_write_text(html_path, html)
    log.info("report: %s, %s", md_path, html_path)
    return {"markdown": str(md_path), "html": str(html_path), "warnings": len(report.warnings),
            "line": f"{md_path.name} and .html"}, False


def orders_clock(day: dt.date, now: dt.datetime | None = None) -> Any:
    """The clock paper orders for picks made at the close of ``day`` are placed with.

    ``LASPS_CLOCK`` when set. Otherwise the orders belong to the next session: before its opening auction
    they are queued at 08:31 KST of that session (the paper broker keeps them open until the session's
    bar is stored); during its order hours the real time is used; after it they are stale and refused.
    """
    from lasps.broker.clock import CLOCK_ENV, FixedClock, SystemClock, clock_from_env

    if os.environ.get(CLOCK_ENV, "").strip():
        return clock_from_env(live=False, broker="paper")
    now = (now or dt.datetime.now(KST)).astimezone(KST)
    nxt = pd.Timestamp(day) + pd.Timedelta(days=1)
    from lasps.data.calendar import sessions

    upcoming = sessions(nxt, nxt + pd.Timedelta(days=20))
    if len(upcoming) == 0:  # pragma: no cover - the calendar always has a next session
        raise LaspsError(f"no trading session after {day} in the calendar")
    st = session_times(pd.Timestamp(upcoming[0]).date())
    if now < st.pre_open:
        return FixedClock(st.pre_open + dt.timedelta(minutes=1))
    if now < st.closing_auction:
        return SystemClock()
    raise LaspsError(
        f"the picks of {day} were for the session of {st.date}, which is over (now {now:%Y-%m-%d %H:%M} KST)",
        where="--orders", fix=f"run `lasps daily` for a recent date, or replay with LASPS_CLOCK="
                              f"{st.pre_open + dt.timedelta(minutes=1):%Y-%m-%dT%H:%M:%S%z} (paper only)")


def _step_orders(ctx: _Ctx) -> tuple[dict[str, Any], bool]:
    cfg = ctx.config
    if cfg.orders is None:
        return {"note": "no --orders"}, True
    from lasps.broker import open_manager, orders_from_picks
    from lasps.broker.base import OrderRejected, OrderRequest, Side

    picks = pd.read_csv(ctx.file("picks.csv"), dtype={"code": str})
    weights = [(str(c), 1.0 / cfg.picks) for c in picks["code"]]
    ref = {str(c): float(p) for c, p in zip(picks["code"], picks["close"], strict=True)}
    if cfg.dry_run:
        from lasps.broker.settings import get_broker_settings

        capital = cfg.capital or get_broker_settings(home=ctx.home).paper_cash
        reqs = orders_from_picks(weights, float(capital), None, ref)
        planned = [{"code": r.code, "side": r.side.value, "qty": r.qty, "price": r.price, "state": "planned"}
                   for r in reqs]
        write_json(ctx.file("orders.json"), {"date": ctx.date.isoformat(), "dry_run": True, "orders": planned})
        return {"planned": len(planned), "note": "dry run: nothing placed"}, True
    clock = ctx.clock or orders_clock(ctx.date, ctx.now)
    plan_path = ctx.file("orders_plan.json")
    results: list[dict[str, Any]] = []
    with open_manager("paper", home=ctx.home, clock=clock) as desk:
        plan = out.read_json(plan_path)
        codes = [c for c, _ in weights]
        revision = 0
        if plan and plan.get("picks") != codes:  # the picks changed since the plan: plan again, new ids
            revision, plan = int(plan.get("revision") or 0) + 1, None
        if not plan:  # plan once; a resumed run re-places the same client ids (the journal deduplicates)
            positions = desk.positions()
            prices = dict(ref)
            signals = pd.read_parquet(ctx.file("signals.parquet"), columns=["code", "close"])
            last = dict(zip(signals["code"].astype(str), signals["close"], strict=True))
            for p in positions:
                if p.code not in prices and np.isfinite(last.get(p.code, np.nan)):
                    prices[p.code] = float(last[p.code])
            value = desk.cash() + sum(p.qty * prices.get(p.code, p.avg_price) for p in positions)
            capital = float(cfg.capital or value)
            reqs = orders_from_picks(weights, capital, desk.broker, prices)
            tag = ctx.date.strftime("%Y%m%d") + (f"r{revision}" if revision else "")
            plan = {"date": ctx.date.isoformat(), "capital": capital, "clock": clock.now().isoformat(),
                    "picks": codes, "revision": revision,
                    "orders": [{"code": r.code, "side": r.side.value, "qty": r.qty, "price": r.price,
                                "client_order_id": f"D{tag}-{r.side.value}-{r.code}"} for r in reqs]}
            write_json(plan_path, plan)
        for o in plan["orders"]:
            req = OrderRequest(o["code"], Side(o["side"]), int(o["qty"]), o["price"], o["client_order_id"])
            try:
                order = desk.place(req)
                results.append(order.as_dict())
            except OrderRejected as exc:
                d = exc.order.as_dict() if exc.order is not None else dict(o)
                d["reason"] = exc.what
                results.append(d)
    states: dict[str, int] = {}
    for r in results:
        states[str(r.get("state"))] = states.get(str(r.get("state")), 0) + 1
    write_json(ctx.file("orders.json"), {"date": ctx.date.isoformat(), "capital": plan["capital"],
                                         "clock": plan["clock"], "orders": results})
    log.info("orders: %d paper order(s) at %s: %s", len(results), plan["clock"],
             ", ".join(f"{k} {v}" for k, v in states.items()) or "none")
    _step_report(ctx)  # the report lists the orders placed
    return {"orders": len(results), "states": states, "clock": plan["clock"],
            "line": f"{len(results)} paper order(s) at {plan['clock']}"}, False


_STEP_FUNCS: dict[str, Callable[[_Ctx], tuple[dict[str, Any], bool]]] = {
    "update": _step_update, "compute": _step_compute, "evaluate": _step_evaluate, "select": _step_select,
    "picks": _step_picks, "report": _step_report, "orders": _step_orders,
}


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


# --------------------------------------------------------------------------------------------- main


def _pool(cfg: DailyConfig, catalogue: Any) -> list[str]:
    if cfg.alphas is None or cfg.alphas.strip() in ("", "all"):
        return [n for n in catalogue]
    from lasps.research.io import parse_alpha_keys

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


def _target_date(home: Path, requested: dt.date | None, source_name: str | None, now: dt.datetime | None) -> dt.date:
    """D: the requested date, else the latest completed session (online) or the last stored date."""
    if requested is not None:
        return requested
    if source_name is not None:
        return latest_completed_session(now)
    return pd.Timestamp(stored_dates(home)[-1]).date()


def run_daily(home: Path | str, config: DailyConfig | None = None, *, settings: Settings | None = None,
              source: Any = None, clock: Any = None, now: dt.datetime | None = None,
              progress: Progress | None = None) -> DailyResult:
    """Run (or resume) the daily pipeline for one date (see the module docstring).

    Parameters
    ----------
    home:
        ``$LASPS_HOME``.
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
    from lasps.alpha.catalogue import get_catalogue

    t_start = time.perf_counter()
    cfg = config or DailyConfig()
    cfg.validate()
    home = Path(home)
    settings = settings or get_settings(home=home)
    requested = parse_date(cfg.date)
    if requested is not None:
        check_session_date(requested, now)
    first_dates = stored_dates(home)  # raises for a missing or empty store
    source_name = resolve_source(home, cfg.source)
    if source is not None:  # an injected source instance (tests, notebooks) is always used
        source_name = str(getattr(source, "name", "custom"))
    day = _target_date(home, requested, source_name, now)
    if source_name is None:  # offline: the date must already be stored; refuse before writing anything
        check_date_stored(first_dates, day, online=False)
    catalogue = get_catalogue(home)
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
            ctx = _Ctx(home, cfg, settings, day, directory, journal, source_name, source, progress, clock, now, pool,
                       catalogue)
            _run_steps(ctx)
            result = _result(ctx, time.perf_counter() - t_start)
    finally:
        log.removeHandler(handler)
        handler.close()
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return result


def _run_steps(ctx: _Ctx) -> None:
    """Run every step that is not done yet, journaling each (see the module docstring)."""
    journal, progress = ctx.journal, ctx.progress
    for step in STEPS:
        if step == "compute":
            check_date_stored(ctx.stored(), ctx.date, online=ctx.source_name is not None)
        if journal.steps[step].status == "skipped" or (journal.is_done(step) and _outputs_exist(ctx, step)):
            log.info("%s: done earlier (%s), skipped", step, journal.steps[step].finished)
            if progress is not None:
                progress(step, "skip", "done earlier")
            continue
        if progress is not None:
            progress(step, "start", "")
        journal.start(step)
        t0 = time.perf_counter()
        try:
            summary, skipped = _STEP_FUNCS[step](ctx)
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
        if os.environ.get(CRASH_ENV) == step:  # test hook: die like a killed process
            os.kill(os.getpid(), signal.SIGKILL)


def _result(ctx: _Ctx, seconds: float) -> DailyResult:
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


__all__ = ["CRASH_ENV", "METRICS", "STEPS", "DailyConfig", "DailyResult", "check_date_stored", "check_session_date",
           "orders_clock",
           "parse_date", "resolve_source", "run_daily", "stored_dates", "vote"]
