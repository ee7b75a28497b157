"""``lasps daily``: the daily pipeline (update → compute → evaluate → select → vote → report → orders).

Mount in ``lasps.cli.main``::

    from lasps.cli import daily_cmd
    app.command("daily")(daily_cmd.daily)

Run it directly with ``python -m lasps.cli.daily_cmd --help``. Bad input (an unparsable, future or
non-trading date, a date without stored prices, an empty store) prints ``error: …`` and exits with code 2.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lasps.cli.common import HomeOption, console, handle_errors, workspace_for


class ConsoleLog(logging.Handler):
    """Print ``lasps.pipeline`` log records on the console, one dim-timestamped line each."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # pragma: no cover - a broken log call must not break the run
            return
        style = "red" if record.levelno >= logging.ERROR else "yellow" if record.levelno >= logging.WARNING else ""
        text = escape(msg)
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        console.print(f"[dim]{stamp}[/] " + (f"[{style}]{text}[/]" if style else text), highlight=False,
                      soft_wrap=True)


def attach_console_log() -> ConsoleLog:
    """Route the pipeline's log to the console (returns the handler, to detach it later)."""
    handler = ConsoleLog(level=logging.INFO)
    logger = logging.getLogger("lasps.pipeline")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler


def detach_console_log(handler: logging.Handler) -> None:
    logger = logging.getLogger("lasps.pipeline")
    logger.removeHandler(handler)
    logger.propagate = True


def _fmt(x: Any, pct: bool = False, digits: int = 3) -> str:
    from lasps.report.markdown import fmt_num, fmt_pct

    return fmt_pct(x) if pct else fmt_num(x, digits, signed=True)


def picks_table(result: Any, title: str | None = None) -> Table:
    """The voted picks as a Rich table."""
    t = Table(title=title or f"Picks for the session after {result.date}", title_justify="left", expand=False)
    for col, just in (("#", "right"), ("code", "left"), ("name", "left"), ("sector", "left"),
                      ("last close", "right"), ("votes", "right"), ("nominated by", "left")):
        # codes are never shortened (a cut "02409" reads as another stock); long names and sectors wrap
        t.add_column(col, justify=just, no_wrap=col not in ("nominated by", "sector", "name"), overflow="fold",
                     min_width=6 if col == "code" else None)
    for r in result.picks.itertuples():
        close = "—" if r.close != r.close else f"{r.close:,.0f}"
        t.add_row(str(r.rank), str(r.code), escape(str(r.name)), escape(str(r.sector or "—")), close,
                  str(r.votes), escape(str(r.nominated_by).replace("alpha_", "#").replace(",", " ")))
    return t


def alphas_table(result: Any) -> Table:
    """The selected variants with in-sample and walk-forward figures."""
    t = Table(title="Selected variants (in sample = the selection window; WF = after being chosen)",
              title_justify="left")
    for col in ("#", "variant", "IC", "IC_IR", "t(NW)", "L/S ann.", "WF chosen", "WF IC"):
        t.add_column(col, justify="left" if col == "variant" else "right", no_wrap=True)
    for r in result.selection:
        m = r["metrics"]
        t.add_row(str(r["rank"]), r["variant"], _fmt(m.get("ic_mean"), digits=4), _fmt(m.get("ic_ir")),
                  _fmt(m.get("ic_t_nw"), digits=2), _fmt(m.get("ls_return"), pct=True), f"{r.get('times_chosen', 0)}×",
                  _fmt(r.get("oos_ic"), digits=4) if r.get("oos_days") else "—")
    return t


def wf_table(result: Any) -> Table:
    """Walk-forward vs in-sample returns of the selection rule."""
    from lasps.report.markdown import APPROACH_LABELS

    t = Table(title="The same rule, walk-forward vs in sample (LO = top decile, L/S = top − bottom; no costs)",
              title_justify="left")
    for col in ("approach", "periods", "LO total", "LO Sharpe", "L/S total", "L/S Sharpe", "market/yr"):
        t.add_column(col, justify="left" if col == "approach" else "right", no_wrap=True)
    for r in result.wf_summary:
        if r.get("approach") not in APPROACH_LABELS:
            continue
        t.add_row(APPROACH_LABELS[r["approach"]].split(" (")[0], str(int(r.get("n_periods") or 0)),
                  _fmt(r.get("lo_total"), True),
                  _fmt(r.get("lo_sharpe"), digits=2), _fmt(r.get("ls_total"), True), _fmt(r.get("ls_sharpe"), digits=2),
                  _fmt(r.get("market_ann"), True))
    return t


def print_result(result: Any) -> None:
    """Everything a user wants to see after ``lasps daily``."""
    console.print()
    console.print(picks_table(result))
    console.print(alphas_table(result))
    if result.wf_summary:
        console.print(wf_table(result))
    if result.orders is not None:
        states: dict[str, int] = {}
        for o in result.orders:
            states[str(o.get("state"))] = states.get(str(o.get("state")), 0) + 1
        console.print(f"paper orders: {len(result.orders)} ({', '.join(f'{k} {v}' for k, v in states.items()) or '—'})")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", soft_wrap=True)
    if result.dry_run:
        console.print("[bold]dry run:[/] nothing was written (no data update, no alpha files, no journal, "
                      "no report, no orders).")
    else:
        console.print(f"[green]✓[/] report: {result.report_md}\n  html:   {result.report_html}\n"
                      f"  journal: {result.directory / 'state.json' if result.directory else '—'}  "
                      f"({result.seconds:.1f} s)")


@handle_errors
def daily(
    date: Annotated[str | None, typer.Option("--date", help="Trading date D (YYYY-MM-DD); default: the latest "
                                                           "completed session (live source) or the last stored date.")]
    = None,
    source: Annotated[str, typer.Option("--source", help="auto (the store's own live source, else offline), "
                                                         "synthetic/offline/files (no update), pykrx, fdr.")] = "auto",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compute and print the picks; write nothing.")] = False,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=200, help="Variants selected (alpha or its reverse).")]
    = 10,
    picks: Annotated[int, typer.Option("--picks", min=1, max=100, help="Stocks picked by voting.")] = 5,
    orders: Annotated[str | None, typer.Option("--orders", help="paper: place paper orders for the picks.")] = None,
    window: Annotated[int, typer.Option("--window", help="Selection window, signal sessions (outcomes known at D).")]
    = 252,
    history: Annotated[int, typer.Option("--history", help="Sessions evaluated (walk-forward record).")] = 756,
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=60, help="Holding period h (next-open entry).")] = 5,
    metric: Annotated[str, typer.Option("--metric", help="ic_ir | ic_mean | hit_rate | q_spread.")] = "ic_ir",
    alphas: Annotated[str | None, typer.Option("--alphas", help="Alpha pool: ids, ranges, names (default all), "
                                                                "e.g. 1-101,201.")] = None,
    universe: Annotated[str, typer.Option("--universe", help="default | kospi | kosdaq | topN | code list.")]
    = "default",
    capital: Annotated[float | None, typer.Option("--capital", help="KRW to allocate with --orders (default: the "
                                                                    "paper account's value).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run every step, even those already done.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the result, no step log.")] = False,
    home: HomeOption = None,
) -> None:
    """Run the daily pipeline for one date: update → compute → evaluate → select → vote → report (→ orders).

    Each step is journaled in $LASPS_HOME/pipeline/D/state.json; re-running skips what is done and resumes
    after an interruption. Reports: $LASPS_HOME/reports/D_alpha.md and .html.
    """
    from lasps.pipeline.daily import DailyConfig, run_daily

    ws = workspace_for(home)
    cfg = DailyConfig(date=date, source=source, dry_run=dry_run, top_k=top_k, picks=picks,
                      orders=orders.strip().lower() if orders else None, window=window, history=history,
                      horizon=horizon, metric=metric, alphas=alphas, universe=universe, force=force, capital=capital)
    handler = None if quiet else attach_console_log()
    try:
        with console.status("lasps daily", spinner="dots") as status:
            counts: dict[str, int] = {}

            def progress(step: str, state: str, message: str) -> None:
                if state == "start":
                    status.update(f"[bold]{step}[/] …")
                elif state == "tick":
                    counts[step] = counts.get(step, 0) + 1
                    status.update(f"[bold]{step}[/] {escape(message)} ({counts[step]})")

            result = run_daily(ws, cfg, progress=progress)
    finally:
        if handler is not None:
            detach_console_log(handler)
    print_result(result)


if __name__ == "__main__":  # pragma: no cover - `python -m lasps.cli.daily_cmd`
    typer.run(daily)
