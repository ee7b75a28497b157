"""Step ``evaluate``: every alpha in both directions over the loaded history, the selection window's
metrics, the walk-forward record of the selection rule, alpha correlations and overfitting statistics.

Timing (:class:`~lasps.research.timing.Timing`): next-open entry, ``horizon`` sessions; the selection
window is the trailing window of D (:func:`~lasps.research.selection.trailing_window`): the last
``window`` signal rows whose outcome is known at the close of D. The research files and ``eval_*`` rows are
written by :func:`lasps.research.results.write_evaluation`, the writer ``lasps eval`` uses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lasps.alpha.engine import alpha_lookback, tune_allocator
from lasps.data.suspect import selectability_on, suspect_summary
from lasps.errors import ConfigError, LaspsError
from lasps.files import atomic_write, atomic_write_text, write_json
from lasps.pipeline.context import StepContext
from lasps.research.alpha_values import stored_or_computed
from lasps.research.correlation import alpha_correlation
from lasps.research.decay import ICDecay, decay_rows
from lasps.research.evaluate import EvalConfig, evaluate_arrays
from lasps.research.forward import panel_forward_returns
from lasps.research.io import ic_daily_frame
from lasps.research.ranking import variant_metrics
from lasps.research.selection import trailing_window
from lasps.research.timing import Timing
from lasps.research.walkforward import WalkForwardConfig, walk_forward

log = logging.getLogger("lasps.pipeline")


def _write_frame(path: Path, frame: pd.DataFrame, fmt: str = "csv") -> None:
    """Write a step output atomically (CSV without the index, or Parquet)."""
    if fmt == "csv":
        atomic_write_text(path, frame.to_csv(index=False))
    else:
        atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _eval_panel_start(ctx: StepContext) -> np.datetime64:
    stored = ctx.stored()
    i = int(np.searchsorted(stored, np.datetime64(ctx.date, "D")))
    return stored[max(0, i - ctx.config.history + 1)]


def _stock_meta(ctx: StepContext, codes: np.ndarray) -> pd.DataFrame:
    with ctx.ws.store() as store:
        df = store.stock_table(("code", "name", "market", "sector_name", "sector_code"))
    df["code"] = df["code"].astype(str)
    df = df.set_index("code").reindex([str(c) for c in codes])
    df["sector"] = df["sector_name"].where(df["sector_name"].notna(), df["sector_code"])
    return df


def _alpha_values(ctx: StepContext, panel: Any, names: Sequence[str], on_the_fly: set[str],
                  signals: dict[str, np.ndarray], unavailable: dict[str, str]) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, (T, N))`` aligned to ``panel`` (:func:`lasps.research.alpha_values.stored_or_computed`):
    stored values, or computed on the fly from a panel that starts each alpha's warm-up earlier and ends at
    D; keep each alpha's row at D in ``signals``."""
    fly = [n for n in names if n in on_the_fly]
    wpanel = None
    if fly:
        stored = ctx.stored()
        i0 = int(np.searchsorted(stored, panel.dates[0]))
        warm = max(alpha_lookback(ctx.catalogue[n]) for n in fly)
        wpanel = ctx.ws.panel(start=str(stored[max(0, i0 - warm)]), end=ctx.date, universe=ctx.config.universe)

    def keep(name: str, arr: np.ndarray) -> None:
        signals[name] = arr[-1].copy()

    yield from stored_or_computed(panel, names, on_the_fly, home=ctx.home, catalogue=ctx.catalogue,
                                  unavailable=unavailable, compute_panel=wpanel, on_value=keep)


def _selectability_summary(panel: Any) -> dict[str, Any]:
    """Suspect jumps in the evaluation panel and what halts/quarantine kept out on the date (DESIGN 2.3-4)."""
    return {"suspect_jumps": suspect_summary(panel), "selectability": selectability_on(panel, -1)}


def run(ctx: StepContext) -> tuple[dict[str, Any], bool]:
    from lasps.alpha.store import alpha_path

    cfg = ctx.config
    t0 = time.perf_counter()
    panel = ctx.ws.panel(start=str(_eval_panel_start(ctx)), end=ctx.date, universe=cfg.universe)
    T, N = panel.shape
    timing = Timing("open", cfg.horizon)
    lag = timing.lag
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
    ev_cfg = EvalConfig(horizon=timing.horizon, entry=timing.entry)
    fwd = panel_forward_returns(panel, timing.horizon, timing.entry)
    decay = ICDecay(panel, decay_rows(T, cfg.window))  # IC by horizon 1..20 (the report's IC-decay chart)
    ic_decay: dict[str, list[float]] = {}
    values = decay.tap(_alpha_values(ctx, panel, names, on_the_fly, signals, unavailable), ic_decay)
    tune_allocator()  # per-alpha (T, N) buffers from the heap, not fresh mmap pages
    ev = evaluate_arrays(values, fwd,
                         panel.universe_mask, panel.dates, panel.codes, ev_cfg, unavailable=unavailable,
                         progress=ctx.tick("evaluate"))
    ev.unavailable.update(unavailable)
    if not ev.alphas:
        raise LaspsError("none of the requested alphas can be computed from the stored data",
                         where="--alphas", fix="see `lasps alpha list` for what the stored data can produce")
    # the selection window: the last `window` signal rows whose outcome is known at the close of D
    lo_, hi_ = trailing_window(T - 1, lag, cfg.window)
    lo, hi = int(lo_), int(hi_)
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
    meta = _stock_meta(ctx, panel.codes)
    last_close = panel.close[-1]
    universe_today = panel.universe_mask[-1] & np.isfinite(last_close)
    sig = pd.DataFrame({"code": [str(c) for c in panel.codes], "name": meta["name"].fillna("").to_numpy(),
                        "market": meta["market"].fillna("").to_numpy(), "sector": meta["sector"].fillna("").to_numpy(),
                        "close": last_close, "in_universe": universe_today})
    sig = pd.concat([sig, pd.DataFrame({n: signals[n] for n in ev.alphas})], axis=1)

    # files (atomic): the step's outputs

    _write_frame(ctx.file("rank_window.csv"), rank_window)
    _write_frame(ctx.file("ic_daily.parquet"), ic_daily_frame(ev), "parquet")
    _write_frame(ctx.file("wf_summary.csv"), wf.summary)
    _write_frame(ctx.file("wf_periods.csv"), wf_periods)
    _write_frame(ctx.file("wf_variants.csv"), wf_variants)
    atomic_write_text(ctx.file("correlation.csv"), corr_frame.to_csv())
    _write_frame(ctx.file("signals.parquet"), sig, "parquet")
    summary = {
        "panel_first": str(panel.dates[0]), "panel_last": str(panel.dates[-1]), "sessions": T, "codes": N,
        "universe_today": int(universe_today.sum()), "window_first": str(panel.dates[lo]),
        "window_last": str(panel.dates[hi]), "window_rows": int(hi - lo + 1), "horizon": cfg.horizon,
        "entry": timing.entry, "lag": lag, "metric": cfg.metric, "top_k": cfg.top_k, "min_known": wcfg.min_known(),
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
    if not cfg.dry_run:  # research/rank_latest.csv … and eval_* rows: the writer `lasps eval` uses
        from lasps.research.results import write_evaluation

        summary["rank_run_id"] = write_evaluation(ctx.ws, ev, command="daily",
                                                  params={"date": str(ctx.date), "history": cfg.history}).run_id
    write_json(ctx.file("evaluation.json"), summary)
    log.info("evaluate: %d alphas (%d variants) over %s..%s (%d sessions × %d codes); selection window %s..%s "
             "(%d signal days); %.1f s", len(ev.alphas), ev.n_variants, panel.dates[0], panel.dates[-1], T, N,
             panel.dates[lo], panel.dates[hi], hi - lo + 1, time.perf_counter() - t0)
    line = (f"{len(ev.alphas)} alphas × 2 directions over {T} sessions × {N} codes; selection window "
            f"{panel.dates[lo]}..{panel.dates[hi]}")
    return {k: summary[k] for k in ("n_alphas", "n_variants", "sessions", "codes", "window_first", "window_last",
                                    "universe_today", "seconds")} | {"unavailable": dict(ev.unavailable),
                                                                     "line": line}, False
