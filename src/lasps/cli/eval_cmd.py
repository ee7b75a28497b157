"""``lasps eval …``: evaluate alphas in and out of sample (DESIGN §4).

- ``lasps eval ic [--alphas 1,4,17] [--horizon 5] [--entry open|close]`` — daily rank IC per alpha and
  split, IC plot; writes ``research/ic_daily_latest.parquet`` and ``research/rank_latest.csv``.
- ``lasps eval rank [--split test] [--top 20] [--by ic_ir]`` — ranking of all variants (each alpha
  and its reverse), states how many were tried, shows every split side by side.
- ``lasps eval walkforward [--top 10] [--lookback 252] [--metric ic_ir]`` — walk-forward selection
  beside the in-sample illusion and train→test; table, PNG and HTML. ``--grid-top 5,10,20
  --grid-lookback 63,126,252`` adds a lookback × top-K grid; ``--executor ray`` (or ``--workers N``)
  evaluates the alphas in parallel batches and runs the grid cells as parallel tasks.
- ``lasps eval overfit [--returns ls|lo] [--blocks 16]`` — deflated Sharpe ratio of the in-sample best
  variant and the probability of backtest overfitting (CSCV).
- ``lasps eval corr [--threshold 0.7]`` — alpha correlation matrix and redundancy clusters.

Every command evaluates the stored alphas (``$LASPS_HOME/alphas``, from ``lasps alpha compute``;
alphas not stored are computed on the fly unless ``--no-compute``), writes the rank/IC files and the
DuckDB tables, then its own outputs (see :mod:`lasps.research.io`). Timing: a signal uses data through
the close of t; the default entry is the next open; every metric is dated by its signal date and known
``h + 1`` sessions later.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lasps.cli.common import HomeOption, console, handle_errors, workspace_for
from lasps.config import Settings
from lasps.errors import ConfigError
from lasps.scale import executor_name, get_executor
from lasps.workspace import Workspace

app = typer.Typer(no_args_is_help=True)

AlphasOpt = Annotated[str | None, typer.Option(
    "--alphas", help="Comma-separated ids, ranges or names (1,4,17 / 1-10 / alpha_201); default: all stored.")]
HorizonOpt = Annotated[int, typer.Option(min=1, max=250, help="Holding period h in sessions.")]
EntryOpt = Annotated[str, typer.Option(help="open: enter at the next open (default); close: at the signal's close.")]
QuantOpt = Annotated[int, typer.Option(min=2, max=100, help="Quantile buckets per date (10 = deciles).")]
UniverseOpt = Annotated[str, typer.Option(help="Universe: default, all, kospi, kosdaq, topN, or codes.")]
StartOpt = Annotated[str | None, typer.Option(help="First date of the evaluation (YYYY-MM-DD).")]
EndOpt = Annotated[str | None, typer.Option(help="Last date of the evaluation (YYYY-MM-DD).")]
TrainOpt = Annotated[str, typer.Option(
    help="Last date of the train split (falls back to 60/20/20 if a split is empty).")]
ValOpt = Annotated[str, typer.Option(help="Last date of the validation split; test is after it.")]
ComputeOpt = Annotated[bool, typer.Option("--compute/--no-compute",
                                          help="Compute alphas that are not stored on the fly (not saved).")]


@dataclass
class _Run:
    ws: Workspace
    panel: object
    ev: object
    run_id: str
    command: str
    params: dict


def _fmt(x: float, digits: int = 3) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _pct(x: float, digits: int = 1) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:+.{digits}%}"


def _executor_for(executor: str | None, workers: int | None, settings: Settings) -> Any:
    """The executor the options ask for, or None for the plain in-process path (the default)."""
    name = executor_name(executor, settings)
    if name == "local" and workers in (None, 1):
        return None
    return get_executor(name, settings, workers=workers)


def _int_list(text: str, option: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        out = []
    if not out or min(out) < 1:
        raise ConfigError(f"{option} {text!r} is not a list of positive integers", where=option,
                          fix="e.g. 5,10,20")
    return list(dict.fromkeys(out))


def _evaluate(command: str, ws: Workspace, alphas: str | None, horizon: int, entry: str, quantiles: int,
              universe: str, start: str | None, end: str | None, train_end: str, val_end: str,
              compute: bool, executor: Any = None) -> _Run:
    from lasps.alpha.engine import tune_allocator
    from lasps.alpha.store import alphas_dir
    from lasps.research import io as rio
    from lasps.research.alpha_values import stored_or_computed
    from lasps.research.evaluate import EvalConfig, evaluate_arrays
    from lasps.research.forward import panel_forward_returns
    from lasps.research.splits import SplitSpec

    cfg = EvalConfig(horizon=horizon, entry=entry, quantiles=quantiles,
                     splits=SplitSpec(train_end=train_end, val_end=val_end))
    ws.ensure()
    keys = rio.parse_alpha_keys(alphas)
    stored = set(rio.stored_alpha_names(ws.home))
    names = rio.resolve_alpha_names(keys, ws.home) if keys else sorted(stored)
    on_the_fly = [n for n in names if n not in stored]
    if not names:
        if not compute:
            raise rio.missing_alphas_error(ws.home)
        names = [s.name for s in ws.catalogue.values()]
        on_the_fly = list(names)
        console.print(f"[yellow]no alpha values stored under {alphas_dir(ws.home)}: computing all "
                      f"{len(names)} alphas on the fly (not saved; `lasps alpha compute` stores them)[/]")
    elif on_the_fly:
        if not compute:
            raise rio.missing_alphas_error(ws.home, on_the_fly)
        console.print(f"[yellow]not stored, computing on the fly: {', '.join(on_the_fly[:10])}"
                      f"{' …' if len(on_the_fly) > 10 else ''}[/]")

    tune_allocator()  # per-alpha (T, N) buffers come from the heap, not fresh mmap pages
    with console.status("loading the market panel"):
        panel = ws.panel(start=start, end=end, universe=universe)
    fwd = panel_forward_returns(panel, cfg.horizon, cfg.entry)
    unavailable: dict[str, str] = {}
    stale = rio.stale_alphas(ws.home, [n for n in names if n not in on_the_fly], panel.dates[-1])
    if stale:
        console.print(f"[yellow]{len(stale)} stored alpha(s) end before the panel ({panel.dates[-1]}), e.g. "
                      f"{stale[0][0]} at {stale[0][1]}: later dates are NaN — run `lasps alpha compute "
                      "--resume`[/]")

    def source() -> Iterator[tuple[str, np.ndarray]]:
        yield from stored_or_computed(panel, names, on_the_fly, home=ws.home, catalogue=ws.catalogue,
                                      unavailable=unavailable)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("evaluating alphas", total=len(names))
        if executor is None:
            ev = evaluate_arrays(source(), fwd, panel.universe_mask, panel.dates, panel.codes, cfg,
                                 progress=lambda n: progress.update(task, advance=1, description=f"evaluated {n}"))
        else:  # batches read/compute and evaluate in the workers; only statistics come back
            from lasps.research.evaluate import evaluate_alphas

            ev = evaluate_alphas(panel, on_the_fly, cfg, stored=[n for n in names if n not in on_the_fly],
                                 home=ws.home, executor=executor, catalogue=ws.catalogue,
                                 progress=lambda n: progress.update(task, advance=1, description=f"evaluated {n}"))
    ev.unavailable.update(unavailable)
    if not ev.alphas:
        raise ConfigError("none of the requested alphas could be evaluated",
                          fix="see `lasps alpha list` for what the stored data can produce")
    T, N = panel.shape
    console.print(f"panel {T:,} sessions × {N:,} codes ({panel.dates[0]} … {panel.dates[-1]}); "
                  f"{len(ev.alphas)} alphas evaluated in {ev.seconds:.1f} s; "
                  f"{cfg.horizon}-session forward returns, entry at "
                  f"{'the next open' if cfg.entry == 'open' else 'the close (optimistic)'}")
    style = "yellow" if ev.splits.fallback else "dim"
    console.print(f"[{style}]{escape(ev.splits.note)}[/]")
    console.print(f"[dim]{escape(ev.splits.describe(ev.dates))}[/]")
    if ev.unavailable:
        console.print(f"[yellow]unavailable (not evaluated, nothing substituted): "
                      f"{escape('; '.join(f'{k}: {v}' for k, v in list(ev.unavailable.items())[:8]))}"
                      f"{' …' if len(ev.unavailable) > 8 else ''}[/]")
    params = {"alphas": alphas, "horizon": horizon, "entry": entry, "quantiles": quantiles, "universe": universe,
              "start": start, "end": end, "train_end": train_end, "val_end": val_end}
    return _Run(ws, panel, ev, rio.new_run_id(), command, params)


def _save_common(run: _Run, extra_tables: dict[str, pd.DataFrame] | None = None):  # type: ignore[no-untyped-def]
    """rank_latest.csv, quantiles_latest.csv, ic_daily_latest.parquet + eval_* tables
    (:func:`lasps.research.results.write_evaluation`, the writer ``lasps daily`` uses too); returns the
    RankTable."""
    from lasps.research.results import write_evaluation

    with console.status("writing results to DuckDB"):
        files = write_evaluation(run.ws, run.ev, command=run.command, params=run.params, run_id=run.run_id,
                                 extra_tables=extra_tables)
    console.print(f"[dim]written {files.rank_path}, {files.ic_path} and DuckDB tables eval_* (run {run.run_id})[/]")
    return files.table


# ------------------------------------------------------------------------------------------- ic


@app.command("ic")
@handle_errors
def ic_cmd(
    alphas: AlphasOpt = None, horizon: HorizonOpt = 5, entry: EntryOpt = "open", quantiles: QuantOpt = 10,
    universe: UniverseOpt = "default", start: StartOpt = None, end: EndOpt = None,
    train_end: TrainOpt = "2022-12-31", val_end: ValOpt = "2023-12-31", compute: ComputeOpt = True,
    plot_top: Annotated[int, typer.Option(min=0, max=20, help="Alphas (by |IC_IR| on all days) in the plot.")] = 5,
    home: HomeOption = None,
) -> None:
    """Daily rank IC of each alpha per split (the reverse of an alpha has exactly the opposite IC)."""
    from lasps.research import io as rio
    from lasps.research import plots

    run = _evaluate("ic", workspace_for(home), alphas, horizon, entry, quantiles, universe, start, end,
                    train_end, val_end, compute)
    table = _save_common(run)
    ev = run.ev
    f = table.frame
    fwd_only = f[f["variant"].isin(ev.alphas)]
    t = Table(title=f"rank IC by split — {len(ev.alphas)} alphas (IC of x_rev = −IC of x); "
                    f"t-stat Newey–West, lag {ev.config.horizon - 1}")
    t.add_column("alpha", no_wrap=True)
    for split in ("train", "val", "test"):
        t.add_column(f"{split} IC", justify="right")
        t.add_column(f"{split} IR", justify="right")
        t.add_column(f"{split} t", justify="right")
    t.add_column("hit (all)", justify="right")
    t.add_column("cover", justify="right")
    piv = {s: fwd_only[fwd_only["split"] == s].set_index("variant") for s in ("train", "val", "test", "all")}
    order = piv["all"]["ic_ir"].abs().sort_values(ascending=False, na_position="last").index
    for a in order:
        cells = []
        for split in ("train", "val", "test"):
            r = piv[split].loc[a]
            cells += [_fmt(r["ic_mean"], 4), _fmt(r["ic_ir"], 2), _fmt(r["ic_t_nw"], 1)]
        r = piv["all"].loc[a]
        t.add_row(a, *cells, _fmt(r["hit_rate"], 2), _fmt(r["coverage"], 2))
    console.print(t)
    if plot_top:
        top = list(order[:plot_top])
        fig = plots.plot_ic(ev, top)
        png = rio.write_bytes(run.ws.home, "ic", "png", plots.to_png(fig), run.run_id)
        page = plots.html_page("LASPS — rank IC over time", [plots.to_svg(fig)],
                               [("IC by split (forward direction)", fwd_only)], [table.tried, ev.splits.note])
        plots.close(fig)
        html_path = rio.write_text(run.ws.home, "ic", "html", page, run.run_id)
        console.print(f"[dim]plots: {png}, {html_path}[/]")


# ----------------------------------------------------------------------------------------- rank


@app.command("rank")
@handle_errors
def rank_cmd(
    split: Annotated[str, typer.Option(help="Split to rank on: train, val, test or all.")] = "test",
    top: Annotated[int, typer.Option(min=1, max=10000, help="Rows to show.")] = 20,
    by: Annotated[str, typer.Option(help="Metric to rank by (ic_ir, ic_mean, ic_t_nw, ls_return, …).")] = "ic_ir",
    alphas: AlphasOpt = None, horizon: HorizonOpt = 5, entry: EntryOpt = "open", quantiles: QuantOpt = 10,
    universe: UniverseOpt = "default", start: StartOpt = None, end: EndOpt = None,
    train_end: TrainOpt = "2022-12-31", val_end: ValOpt = "2023-12-31", compute: ComputeOpt = True,
    home: HomeOption = None,
) -> None:
    """Rank every variant (alpha and reverse) on one split, with the other splits beside it."""
    from lasps.research.splits import SPLIT_NAMES

    if split not in SPLIT_NAMES:
        raise ConfigError(f"unknown split {split!r}", where="--split", fix=f"choose from {list(SPLIT_NAMES)}")
    run = _evaluate("rank", workspace_for(home), alphas, horizon, entry, quantiles, universe, start, end,
                    train_end, val_end, compute)
    table = _save_common(run)
    ranked = table.top(split, by=by, n=top)
    f = table.frame.set_index(["variant", "split"])
    others = [s for s in ("train", "val", "test") if s != split]
    t = Table(title=f"{table.tried}; ranked by {by} on {split} (top {len(ranked)})",
              caption=f"ls/lo: annualised, {table.horizon}-day holdings, equal weight, no costs; "
                      f"equal-weight universe on {split}: {_pct(table.market.get(split, math.nan))} a year")
    t.add_column("#", justify="right")
    t.add_column("variant", no_wrap=True)
    for col in ("days", "IC", "IC_IR", "t(NW)", "hit", "spread", "LS", "LO", "turn"):
        t.add_column(col, justify="right")
    for s in others:
        t.add_column(f"IC_IR {s}", justify="right")
        t.add_column(f"LS {s}", justify="right")
    for i, r in ranked.iterrows():
        cells = [str(i + 1), r["variant"], str(int(r["n_days"])), _fmt(r["ic_mean"], 4), _fmt(r["ic_ir"], 2),
                 _fmt(r["ic_t_nw"], 1), _fmt(r["hit_rate"], 2), _pct(r["q_spread"], 2), _pct(r["ls_return"]),
                 _pct(r["lo_return"]), _fmt(r["turnover"], 2)]
        for s in others:
            o = f.loc[(r["variant"], s)]
            cells += [_fmt(o["ic_ir"], 2), _pct(o["ls_return"])]
        t.add_row(*cells)
    console.print(t)
    console.print("[bold]Choosing the best row of this table is in-sample selection[/]: compare its "
                  "figures with the other splits, and see `lasps eval walkforward` and `lasps eval overfit`.")


# ---------------------------------------------------------------------------------- walkforward


@app.command("walkforward")
@handle_errors
def walkforward_cmd(
    top: Annotated[int, typer.Option(min=1, max=500, help="Variants held at a time (K).")] = 10,
    lookback: Annotated[int, typer.Option(min=2, help="Trailing sessions of known ICs to choose on.")] = 252,
    metric: Annotated[str, typer.Option(help="ic_ir, ic_mean, hit_rate, q_spread or ls_sharpe.")] = "ic_ir",
    every: Annotated[int | None, typer.Option(min=1, help="Re-select every N sessions (default h).")] = None,
    alphas: AlphasOpt = None, horizon: HorizonOpt = 5, entry: EntryOpt = "open", quantiles: QuantOpt = 10,
    universe: UniverseOpt = "default", start: StartOpt = None, end: EndOpt = None,
    train_end: TrainOpt = "2022-12-31", val_end: ValOpt = "2023-12-31", compute: ComputeOpt = True,
    grid_top: Annotated[str | None, typer.Option(
        "--grid-top", help="Also run a grid over these K values, e.g. 5,10,20 (with --grid-lookback).")] = None,
    grid_lookback: Annotated[str | None, typer.Option(
        "--grid-lookback", help="Also run a grid over these lookbacks, e.g. 63,126,252.")] = None,
    executor: Annotated[str | None, typer.Option(
        "--executor", help="local or ray (default: LASPS_EXECUTOR / executor in lasps.toml, else local).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=0, help="Local executor: 1 = in this process (default), 0 = one process per CPU, "
                                 "N = N spawned processes.")] = None,
    home: HomeOption = None,
) -> None:
    """Walk-forward top-K selection beside choosing once in sample (the illusion) and train→test."""
    from lasps.research import io as rio
    from lasps.research import plots
    from lasps.research.walkforward import (
        WalkForwardConfig,
        grid_configs,
        grid_table,
        walk_forward,
        walk_forward_grid,
    )

    wcfg = WalkForwardConfig(top=top, lookback=lookback, metric=metric, every=every)
    grid_cfgs = None
    if grid_top or grid_lookback:
        grid_cfgs = grid_configs(_int_list(grid_top, "--grid-top") if grid_top else [top],
                                 _int_list(grid_lookback, "--grid-lookback") if grid_lookback else [lookback],
                                 (metric,), every)
    ws = workspace_for(home)
    ex = _executor_for(executor, workers, ws.settings)
    try:
        run = _evaluate("walkforward", ws, alphas, horizon, entry, quantiles, universe, start, end, train_end,
                        val_end, compute, executor=ex)
        grid = None
        if grid_cfgs:
            with console.status(f"walk-forward grid: {len(grid_cfgs)} configurations"
                                f"{f' on {ex.name} ({ex.workers} workers)' if ex is not None else ''}"):
                grid = grid_table(walk_forward_grid(run.ev, grid_cfgs, executor=ex))
    finally:
        if ex is not None:
            ex.close()
    ev = run.ev
    wf = walk_forward(ev, wcfg)
    periods = []
    for a in wf.approaches.values():
        periods.append(pd.DataFrame({"approach": a.name, "date": ev.dates[a.rows],
                                     "known_date": rio.known_dates(ev, a.rows), "lo": a.lo, "ls": a.ls,
                                     "market": a.market}))
    pframe = pd.concat(periods, ignore_index=True) if periods else pd.DataFrame()
    sel = pd.DataFrame([{"date": ev.dates[s.row], "window_first": ev.dates[s.first],
                         "window_last": ev.dates[s.last], "rank": i + 1, "variant": v, "score": sc}
                        for s in wf.selections for i, (v, sc) in enumerate(zip(s.variants, s.scores, strict=True))])
    table = _save_common(run, {"eval_walkforward": wf.summary, "eval_wf_periods": pframe, "eval_selections": sel})
    rio.write_frame(run.ws.home, "walkforward", wf.summary, run.run_id)
    rio.write_frame(run.ws.home, "walkforward_periods", pframe, run.run_id)
    rio.write_frame(run.ws.home, "walkforward_selections", sel, run.run_id)

    t = Table(title=f"walk-forward vs in-sample — {table.tried}; top {top} by {metric}, "
                    f"{ev.config.horizon}-day holdings, no costs",
              caption="rows marked look-ahead chose their variants with data from the period they trade")
    for col in ("approach", "span", "periods", "LS total", "LS a.", "LS Sharpe", "LO total", "LO a.",
                "LO Sharpe", "universe a.", "turn"):
        t.add_column(col, justify="left" if col in ("approach", "span") else "right")
    for _, r in wf.summary.iterrows():
        name = r["approach"] + (" [red](look-ahead)[/]" if r["approach"].startswith("in_sample") else "")
        t.add_row(name, f"{r['first']} … {r['last']}", str(r["n_periods"]), _pct(r["ls_total"]),
                  _pct(r["ls_ann"]), _fmt(r["ls_sharpe"], 2), _pct(r["lo_total"]), _pct(r["lo_ann"]),
                  _fmt(r["lo_sharpe"], 2), _pct(r["market_ann"]), _fmt(r["turnover"], 2))
    console.print(t)
    s = wf.summary.set_index("approach")
    gap = s.loc["in_sample", "ls_ann"] - s.loc["walk_forward", "ls_ann"]
    if np.isfinite(gap):
        why = ("the part of the in-sample figure that selection with hindsight bought" if gap > 0 else
               "no hindsight premium here: the trailing choice adapted better than one fixed choice")
        console.print(f"in-sample minus walk-forward (long-short, annualised): [bold]{gap:+.1%}[/] — {why}.")
    for n in wf.notes:
        console.print(f"[yellow]{escape(n)}[/]")
    if wf.selections:
        last = wf.selections[-1]
        console.print(f"latest selection ({ev.dates[last.row]}, from signals {ev.dates[last.first]} … "
                      f"{ev.dates[last.last]}): {', '.join(last.variants) or '(none eligible)'}")
    if grid is not None:
        grid_path = rio.write_frame(run.ws.home, "walkforward_grid", grid, run.run_id)
        g = Table(title=f"walk-forward grid — {len(grid)} configurations tried (choosing the best cell is "
                        "itself in-sample selection)")
        for col in ("lookback", "top", "periods", "WF LS a.", "WF LS Sharpe", "WF LO a.", "IS LS a.", "IS − WF"):
            g.add_column(col, justify="right")
        for _, r in grid.iterrows():
            g.add_row(str(r["lookback"]), str(r["top"]), str(r["n_periods"]), _pct(r["wf_ls_ann"]),
                      _fmt(r["wf_ls_sharpe"], 2), _pct(r["wf_lo_ann"]), _pct(r["is_ls_ann"]), _pct(r["gap_ls_ann"]))
        console.print(g)
        console.print(f"[dim]grid: {grid_path}[/]")
    fig = plots.plot_walkforward(wf)
    png = rio.write_bytes(run.ws.home, "walkforward", "png", plots.to_png(fig), run.run_id)
    page = plots.html_page("LASPS — walk-forward vs in-sample selection", [plots.to_svg(fig)],
                           [("summary", wf.summary)], [table.tried, ev.splits.note, *wf.notes])
    plots.close(fig)
    html_path = rio.write_text(run.ws.home, "walkforward", "html", page, run.run_id)
    console.print(f"[dim]plots: {png}, {html_path}[/]")


# -------------------------------------------------------------------------------------- overfit


@app.command("overfit")
@handle_errors
def overfit_cmd(
    returns: Annotated[str, typer.Option(help="ls (long-short) or lo (long-only) period returns.")] = "ls",
    blocks: Annotated[int, typer.Option(min=2, max=20, help="CSCV blocks (even).")] = 16,
    alphas: AlphasOpt = None, horizon: HorizonOpt = 5, entry: EntryOpt = "open", quantiles: QuantOpt = 10,
    universe: UniverseOpt = "default", start: StartOpt = None, end: EndOpt = None,
    train_end: TrainOpt = "2022-12-31", val_end: ValOpt = "2023-12-31", compute: ComputeOpt = True,
    home: HomeOption = None,
) -> None:
    """Deflated Sharpe ratio of the in-sample best variant and the probability of backtest overfitting."""
    from lasps.research import io as rio
    from lasps.research.overfit import overfit_report

    run = _evaluate("overfit", workspace_for(home), alphas, horizon, entry, quantiles, universe, start, end,
                    train_end, val_end, compute)
    rep = overfit_report(run.ev, returns, blocks)
    d, p = rep.dsr, rep.pbo
    row = {"kind": rep.kind, "chosen": rep.chosen, "sharpe": d.sharpe, "sharpe_ann": rep.chosen_sharpe_ann,
           "sr0": d.sr0, "dsr": d.dsr, "n_periods": d.n_periods, "skew": d.skew, "kurtosis": d.kurtosis,
           "n_trials": d.n_trials, "pbo": p.pbo if p else math.nan, "n_blocks": p.n_blocks if p else blocks,
           "n_combinations": p.n_combinations if p else 0, "notes": " | ".join((*rep.notes, rep.verdict))}
    trials = {"n_variants": rep.n_tried, "n_trials_alphas": rep.trials.n_trials if rep.trials else None,
              "n_effective": rep.trials.n_effective if rep.trials else None,
              "effective_method": rep.trials.method if rep.trials else None, "verdict": rep.verdict}
    table = _save_common(run, {"eval_overfit": pd.DataFrame([row])})
    rio.write_json(run.ws.home, "overfit", {**row, **trials, "logits": p.logits if p else []}, run.run_id)
    ann = math.sqrt(252 / rep.horizon)
    t = Table(title=f"overfitting — {table.tried}; {rep.n_used} with a defined Sharpe ratio")
    t.add_column("statistic")
    t.add_column("value", justify="right")
    t.add_column("meaning")
    t.add_row("chosen (in-sample best)", rep.chosen, f"highest Sharpe of {rep.kind} {rep.horizon}-day returns")
    t.add_row("Sharpe (annualised)", _fmt(rep.chosen_sharpe_ann, 2), f"per period {_fmt(d.sharpe, 4)}")
    n_tr = rep.trials.n_trials if rep.trials else d.n_trials
    t.add_row("trials", f"{n_tr} ({d.n_trials} effective)",
              f"{rep.n_used} variants; a variant and its _rev mirror are one trial")
    t.add_row("expected max Sharpe of skill-less trials", _fmt(d.sr0 * ann, 2),
              f"annualised; {d.n_trials} effective trials, their Sharpe std {_fmt(d.trials_sr_std * ann, 2)}")
    t.add_row("deflated Sharpe ratio", _fmt(d.dsr, 3), "P(true Sharpe > 0) after the search; < 0.95: not significant")
    if p is not None:
        t.add_row("PBO (CSCV)", _fmt(p.pbo, 3),
                  f"P(in-sample winner below the out-of-sample median); {p.n_blocks} blocks, "
                  f"{p.n_combinations:,} splits")
    console.print(t)
    for n in rep.notes:
        console.print(f"[dim]{escape(n)}[/]")
    console.print(f"[bold]verdict:[/] {escape(rep.verdict)}")


# ----------------------------------------------------------------------------------------- corr


@app.command("corr")
@handle_errors
def corr_cmd(
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="|corr| that makes alphas redundant.")] = 0.7,
    alphas: AlphasOpt = None, horizon: HorizonOpt = 5, entry: EntryOpt = "open", quantiles: QuantOpt = 10,
    universe: UniverseOpt = "default", start: StartOpt = None, end: EndOpt = None,
    train_end: TrainOpt = "2022-12-31", val_end: ValOpt = "2023-12-31", compute: ComputeOpt = True,
    home: HomeOption = None,
) -> None:
    """Alpha correlation matrix (mean daily rank correlation) and redundancy clusters."""
    from lasps.research import io as rio
    from lasps.research.correlation import alpha_correlation

    run = _evaluate("corr", workspace_for(home), alphas, horizon, entry, quantiles, universe, start, end,
                    train_end, val_end, compute)
    res = alpha_correlation(run.ev, threshold=threshold)
    sizes = np.bincount(res.labels) if len(res.labels) else np.zeros(0, int)
    cl = pd.DataFrame({"alpha": list(res.names), "cluster": res.labels,
                       "cluster_size": sizes[res.labels] if len(res.labels) else []})
    _save_common(run, {"eval_clusters": cl})
    mat = pd.DataFrame(res.matrix, index=list(res.names), columns=list(res.names))
    rio.write_frame(run.ws.home, "correlation", mat.reset_index(names="alpha"), run.run_id)
    rio.write_frame(run.ws.home, "clusters", cl, run.run_id)
    t = Table(title=f"redundancy clusters (|corr| >= {threshold} pairwise; mean daily rank correlation over "
                    f"{res.n_dates} dates)")
    t.add_column("cluster", justify="right")
    t.add_column("alphas")
    for i, c in enumerate(res.clusters):
        t.add_row(str(i + 1), ", ".join(c))
    console.print(t)
    console.print(f"{len(res.names)} alphas form {len(set(res.labels.tolist()))} groups; "
                  f"{sum(len(c) for c in res.clusters)} alphas sit in {len(res.clusters)} redundant clusters")
