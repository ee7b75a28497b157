"""``lasps demo``: the whole loop on the built-in synthetic KRX market, offline, in a fresh home.

Mount in ``lasps.cli.main``::

    from lasps.cli import demo_cmd
    app.command("demo")(demo_cmd.demo)

(``make demo`` can then simply run ``lasps demo``.) Run it directly with ``python -m lasps.cli.demo_cmd``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from lasps.cli.common import console, handle_errors
from lasps.cli.daily_cmd import alphas_table, picks_table, wf_table

INTRO = """LASPS runs the whole quant loop on one machine, offline:

  [bold]build[/]     a synthetic KRX market (KOSPI/KOSDAQ, splits, halts, limits, ticks)
  [bold]compute[/]   the 101 Formulaic Alphas + 5 relative-strength alphas
  [bold]evaluate[/]  each alpha both ways; [bold]select[/] the best on a trailing year
  [bold]vote[/]      today's picks, write the [bold]report[/], queue [bold]paper orders[/]
  [bold]backtest[/]  the selection in and out of sample, with KRX costs

The market's planted signals [italic]switch sign between regimes[/]: watch the
in-sample winners fail out of sample, as they did in the work log."""


def _pct(x: Any) -> str:
    from lasps.report.markdown import fmt_pct

    return fmt_pct(x)


def _num(x: Any) -> str:
    from lasps.report.markdown import fmt_num

    return fmt_num(x, 2, signed=True)


@handle_errors
def demo(
    home: Annotated[Path, typer.Option("--home", help="Where to build the demo (rebuilt from scratch each time).")]
    = Path("lasps_home/demo"),
    stocks: Annotated[int, typer.Option("--stocks", help="Listings in the synthetic market.")] = 500,
    years: Annotated[float, typer.Option("--years", help="Years of history.")] = 4.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same market).")] = 7,
    orders: Annotated[bool, typer.Option("--orders/--no-orders", help="Queue paper orders for the picks.")] = True,
    alphas: Annotated[str | None, typer.Option("--alphas", help="Alpha pool, e.g. 1-20 (default: all 106).")]
    = None,
) -> None:
    """Build a synthetic KRX market in a fresh home and run the whole loop on it (offline, ~1–3 minutes)."""
    from lasps.pipeline.demo import DemoConfig, oos_rows, run_demo

    console.print(Panel(INTRO, title="[bold]LASPS demo[/]", subtitle=f"home: {escape(str(home))}",
                        border_style="cyan", padding=(1, 2)))
    t_stage = [time.perf_counter()]
    labels = {"market": "1/3 market", "daily": "2/3 daily pipeline", "backtest": "3/3 backtest"}

    with console.status("starting", spinner="dots") as status:
        def stage(name: str, message: str) -> None:
            now = time.perf_counter()
            if name != "market":
                console.print(f"  [green]✓[/] done in {now - t_stage[0]:.1f} s")
            t_stage[0] = now
            if name in labels:
                console.print(f"[bold cyan]{labels[name]}[/]  {escape(message)}")
                status.update(f"{labels[name]} …")

        def daily_step(step: str, state: str, message: str) -> None:
            if state == "start":
                status.update(f"2/3 daily pipeline: [bold]{step}[/] …")
            elif state == "tick":
                status.update(f"2/3 daily pipeline: [bold]{step}[/] {escape(message)}")
            elif state in ("done", "skip") and message:
                console.print(f"    [dim]{step}:[/] {escape(message)}", soft_wrap=True)

        result = run_demo(DemoConfig(home=home, stocks=stocks, years=years, seed=seed, orders=orders, alphas=alphas),
                          progress=stage, daily_progress=daily_step)

    d = result.daily
    console.print()
    console.print(Panel(f"{result.listings:,} listings, {result.price_rows:,} daily price rows, "
                        f"{result.first} … {result.last}\nstored in {escape(str(home / 'lasps.duckdb'))}",
                        title="the market", border_style="dim"))
    console.print(picks_table(d, title=f"Today's picks (signals at the close of {d.date}; buy at the next open)"))
    console.print(alphas_table(d))
    if d.wf_summary:
        console.print(wf_table(d))

    t = Table(title="The work log's lesson, with KRX costs: choose on one year, trade the next",
              title_justify="left")
    for col in ("", "period", "total", "annual", "Sharpe", "max DD", "vs KOSPI"):
        t.add_column(col, justify="left" if col in ("", "period") else "right", no_wrap=True)
    for r in oos_rows(result.oos):
        t.add_row(r["label"].split(" (")[0], r["span"].replace(" … ", "…"), _pct(r["total_return"]),
                  _pct(r["annual_return"]), _num(r["sharpe"]), _pct(r["max_drawdown"]), _pct(r["excess_return"]))
    console.print(t)
    console.print(f"[dim]selected on {result.oos_periods['select']}: "
                  f"{escape(', '.join(result.oos.selected))}[/]", soft_wrap=True)

    orders_line = ""
    if d.orders is not None:
        states: dict[str, int] = {}
        for o in d.orders:
            states[str(o.get("state"))] = states.get(str(o.get("state")), 0) + 1
        orders_line = (f"\n[bold]paper orders[/]  {len(d.orders)} for the next open "
                       f"({', '.join(f'{k.lower()} {v}' for k, v in states.items())}): "
                       f"lasps order list --home {escape(str(home))}")
    where = (f"[bold]report[/]        {escape(str(d.report_html))}\n"
             f"              {escape(str(d.report_md))}\n"
             f"[bold]step journal[/]  {escape(str(d.directory / 'state.json'))}\n"
             f"[bold]backtests[/]     {escape(str(result.oos.directory))}"
             f"{orders_line}\n\n"
             f"[bold]next[/]  lasps serve --home {escape(str(home))}   (dashboard at http://127.0.0.1:8000)\n"
             f"      lasps daily --home {escape(str(home))}   (resumes: every step is done)")
    console.print(Panel(where, title=f"[bold green]done in {result.seconds:.0f} s[/]", border_style="green",
                        padding=(1, 2)))
    for w in d.warnings:
        console.print(f"[yellow]note:[/] {escape(w)}", soft_wrap=True)


if __name__ == "__main__":  # pragma: no cover - `python -m lasps.cli.demo_cmd`
    typer.run(demo)
