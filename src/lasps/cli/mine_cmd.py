"""``lasps alpha mine``: typed formula search with a holdout and multiple-testing control.

The search, its holdout wall and the pass rule live in :mod:`lasps.research.mining`; this module parses
the options, shows a Rich progress bar with ETA (trials against the budget) and prints the shortlist.
Bad input (unknown operator, impossible depth or window, a holdout below 60 sessions, a store without
the needed inputs) exits with code 2 before anything is written.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from lasps.cli.common import HomeOption, console, handle_errors, workspace_for
from lasps.research.mining.run import mine as run_mine
from lasps.research.mining.run import plan_mine
from lasps.research.mining.search import SearchConfig


@handle_errors
def mine(
    trials: Annotated[int, typer.Option(help="Budget: formulas to evaluate (every one is a counted trial).")]
    = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and data give the same shortlist.")] = 0,
    max_depth: Annotated[int, typer.Option(help="Deepest formula tree (2-10; rank(close) has depth 2).")] = 4,
    max_window: Annotated[int, typer.Option(help="Largest window in sessions (windows 1,2,3,5,10,20,40,60,…).")]
    = 20,
    operators: Annotated[str | None, typer.Option(help="Comma-separated operators (default: all but "
                                                       "indneutralize), e.g. rank,delta,ts_mean,div.")] = None,
    holdout: Annotated[float, typer.Option(help="Last share of the sessions never read by the search.")] = 0.2,
    population: Annotated[int, typer.Option(min=4, help="Population size.")] = 48,
    batch: Annotated[int, typer.Option(min=1, help="Formulas per generation (one engine program).")] = 48,
    shortlist: Annotated[int, typer.Option(min=1, max=100, help="Formulas judged on the holdout.")] = 10,
    patience: Annotated[int, typer.Option(min=1, help="Generations without validation gain before stopping.")]
    = 6,
    horizon: Annotated[int, typer.Option(min=1, help="Forward-return horizon in sessions (next-open entry).")]
    = 5,
    alpha: Annotated[float, typer.Option(help="Family-wise test level of the holdout t threshold.")] = 0.05,
    universe: Annotated[str, typer.Option(help="default | all | kospi | kosdaq | topN | codes.")] = "default",
    resume: Annotated[bool, typer.Option("--resume", help="Continue the newest unfinished run (same options).")]
    = False,
    register: Annotated[bool, typer.Option("--register", help="Register passing formulas as user alphas.")]
    = False,
    home: HomeOption = None,
) -> None:
    """Search the formula language for signals; judge the frozen shortlist on the holdout.

    Writes ``$LASPS_HOME/mining/<run_id>/shortlist.csv`` and ``run.json`` and points ``mining/latest`` at
    the run. A formula passes only if its holdout IC t-stat clears a threshold corrected for the
    effective number of trials and its deflated Sharpe ratio is at least 0.95 (docs/mining.md).
    """

    ws = workspace_for(home)
    config = SearchConfig(trials=trials, seed=seed, max_depth=max_depth, max_window=max_window,
                          population=population, batch=batch, shortlist=shortlist, patience=patience,
                          horizon=horizon)
    with console.status("checking the store and the options"):
        plan = plan_mine(ws.home, config, holdout, operators, alpha, universe)
    for note in plan.notes:
        console.print(f"  [yellow]note[/] {escape(note)}")
    console.print(f"search span {plan.dates[0]} … {plan.search_end} ({plan.holdout_start} sessions); holdout "
                  f"{plan.dates[plan.holdout_start]} … {plan.dates[-1]} ({len(plan.dates) - plan.holdout_start} "
                  "sessions, not read by the search)")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("mining (trials)", total=trials)

        def on_generation(done: int, total: int, state: object) -> None:
            gen = getattr(state, "generation", 0)
            best = getattr(state, "best_valid", float("nan"))
            progress.update(task, completed=done,
                            description=f"mining: generation {gen}, best validation IC {best:.4f}")

        result = run_mine(plan, resume=resume, register=register, progress=on_generation)
    run = result.run
    table = Table(title=f"mining run {result.run_id}: {run['trials']:,} trials, M_eff {run['method']['m_eff']:.0f}, "
                        f"holdout t threshold {run['method']['t_threshold']:.2f}")
    for col in ("formula", "train_ic", "valid_ic", "holdout_ic", "holdout_ic_t", "dsr", "passed", "nearest_paper"):
        table.add_column(col)
    for row in result.shortlist.itertuples(index=False):
        colour = "green" if row.passed == "true" else "white"
        table.add_row(escape(row.formula[:70]), row.train_ic, row.valid_ic, row.holdout_ic, row.holdout_ic_t,
                      row.dsr, f"[{colour}]{row.passed}[/]", f"{row.nearest_paper} ({row.max_corr_paper})")
    console.print(table)
    console.print(f"stopped: {run['stopped']}; {run['passed']} of {run['shortlisted']} shortlisted passed "
                  f"(trials counted: {run['trials']:,}) → {result.directory / 'shortlist.csv'}")
    for name in result.registered:
        console.print(f"  [green]registered[/] {name} (see `lasps alpha list`)")
