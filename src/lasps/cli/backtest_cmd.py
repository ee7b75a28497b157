"""``lasps backtest …``: simulate strategies with KRX rules and costs (DESIGN §5; docs/backtest.md).

* ``run``     — one strategy (single | ensemble | voting | adaptive) over one period;
* ``compare`` — several strategies side by side with KOSPI (Rich table + equity-curve PNG);
* ``oos``     — choose the top-N variants by IC_IR on one period, trade them in sample and out of
  sample, report both side by side (the work log's 2024-vs-2025 experiment as one command);
* ``show``    — print a stored run's summary (default: ``backtests/latest``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lasps.cli.common import HomeOption, console, handle_errors, workspace_for
from lasps.config import Settings
from lasps.errors import ConfigError, StoreError
from lasps.krx.costs import CostModel

app = typer.Typer(no_args_is_help=True)

StrategyOpt = Annotated[str, typer.Option("--strategy", "-s", help="single | ensemble | voting | adaptive")]
AlphasOpt = Annotated[str, typer.Option(
    "--alphas", "-a",
    help="Variants '1,4,44_rev' or '1-10' (_rev = reversed) or 'topN:PERIOD' (PERIOD = prior|train|val|"
         "test|all|2024|2024-01-01..2024-06-30): the N best variants of --pool by daily rank IC_IR over "
         "PERIOD; prior = the year before --start (out of sample).")]
TopOpt = Annotated[int, typer.Option("--top", "-k", help="Names held, equal weight (K).")]
RebalOpt = Annotated[int, typer.Option("--rebalance", help="Sessions between rebalances (also the IC horizon).")]
StartOpt = Annotated[str | None, typer.Option("--start", help="First session YYYY-MM-DD (default: end - 1 year).")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Last session YYYY-MM-DD (default: last stored).")]
CapitalOpt = Annotated[float, typer.Option("--capital", help="Initial cash, KRW.")]
UniverseOpt = Annotated[str, typer.Option("--universe", help="default | kospi | kosdaq | topN | code list.")]
PoolOpt = Annotated[str | None, typer.Option(
    "--pool", help="Candidates for topN: 'stored' (alpha files; default), 'all', or '1-101,201'.")]
SourceOpt = Annotated[str, typer.Option("--alpha-source", help="auto | store | compute.")]
CommissionOpt = Annotated[float | None, typer.Option(
    "--commission", help="Commission per side, fraction (default: setting `commission`, else 0.00015).",
    show_default=False)]
SlippageOpt = Annotated[float | None, typer.Option(
    "--slippage-bps", help="Slippage per fill, bps of the open (default: setting `slippage_bps`, else 0).",
    show_default=False)]
TaxOpt = Annotated[float | None, typer.Option(
    "--tax-rate", help="Flat sell-tax rate (default: setting `tax_rate`, else the KRX schedule by settlement "
                       "date).")]
LookbackOpt = Annotated[int, typer.Option("--lookback", help="adaptive: trailing IC window, sessions.")]
NSelectOpt = Annotated[int, typer.Option("--n-select", help="adaptive: variants kept per rebalance.")]
MinDaysOpt = Annotated[int, typer.Option("--min-days", help="adaptive: fewest ICs in the window.")]
CombineOpt = Annotated[str, typer.Option("--combine", help="adaptive: voting | ensemble.")]
SaveOpt = Annotated[bool, typer.Option("--save/--no-save", help="Write files and DuckDB rows.")]

_SIGNED_PCT = ("total_return", "annual_return", "max_drawdown", "excess_return", "benchmark_return")
_PCT = ("volatility", "win_rate")
_COLS = (("total_return", "total return"), ("annual_return", "annual return"), ("volatility", "volatility"),
         ("sharpe", "Sharpe"), ("max_drawdown", "max drawdown"), ("win_rate", "win rate (periods)"),
         ("profit_factor", "profit factor"), ("turnover", "turnover / year"), ("fees", "fees KRW"),
         ("taxes", "taxes KRW"), ("excess_return", "excess vs KOSPI"))


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key in _SIGNED_PCT:
        return f"{100 * float(value):+.1f}%"
    if key in _PCT:
        return f"{100 * float(value):.1f}%"
    if key in ("fees", "taxes", "final_value"):
        return f"{float(value):,.0f}"
    return f"{float(value):.2f}"


def _params(settings: Settings, top: int, rebalance: int, capital: float, universe: str, pool: str | None,
            alpha_source: str, commission: float | None, slippage_bps: float | None, tax_rate: float | None,
            lookback: int, n_select: int, min_days: int, combine: str, save: bool) -> Any:
    """Run parameters; costs from the settings (``lasps.toml`` / ``LASPS_*``) unless given as options."""
    from lasps.backtest.runner import RunParams
    from lasps.backtest.strategies import AdaptiveConfig

    return RunParams(top=top, rebalance=rebalance, capital=capital, universe=universe, pool=pool,
                     alpha_source=alpha_source,
                     adaptive=AdaptiveConfig(lookback=lookback, n_select=n_select, min_days=min_days,
                                             combine=combine),
                     costs=CostModel.from_settings(settings, commission=commission, slippage_bps=slippage_bps,
                                                   tax_rate=tax_rate),
                     write=save)


def _table(title: str, columns: list[tuple[str, dict[str, Any]]]) -> Table:
    """Metrics as rows, runs (and KOSPI) as columns — fits a narrow terminal."""
    t = Table(title=title)
    t.add_column("metric")
    for label, _ in columns:
        t.add_column(label, justify="right", style="dim" if label.startswith("KOSPI") else None)
    for key, head in _COLS:
        t.add_row(head, *(_fmt(key, m.get(key)) for _, m in columns))
    return t


def _notes(notes: list[str]) -> None:
    for n in dict.fromkeys(notes):
        console.print(f"  [yellow]note[/] {n}", highlight=False)


def _progress(status: Any) -> Any:
    def cb(name: str) -> None:
        status.update(f"alphas: {name} done")
    return cb


@app.command("run")
@handle_errors
def run_cmd(
    strategy: StrategyOpt = "voting",
    alphas: AlphasOpt = "top10:prior",
    top: TopOpt = 5,
    rebalance: RebalOpt = 5,
    start: StartOpt = None,
    end: EndOpt = None,
    capital: CapitalOpt = 100_000_000.0,
    universe: UniverseOpt = "default",
    pool: PoolOpt = None,
    alpha_source: SourceOpt = "auto",
    commission: CommissionOpt = None,
    slippage_bps: SlippageOpt = None,
    tax_rate: TaxOpt = None,
    lookback: LookbackOpt = 60,
    n_select: NSelectOpt = 3,
    min_days: MinDaysOpt = 20,
    combine: CombineOpt = "voting",
    save: SaveOpt = True,
    home: HomeOption = None,
) -> None:
    """Simulate one strategy: signals at the close, fills at the next open, KRX rules and costs.

    Writes $LASPS_HOME/backtests/<run_id>/{summary.json,daily.csv,trades.csv}, DuckDB rows, and points
    backtests/latest at the run.
    """
    from lasps.backtest.runner import run_backtest

    ws = workspace_for(home)
    settings = ws.settings
    params = _params(settings, top, rebalance, capital, universe, pool, alpha_source, commission, slippage_bps,
                     tax_rate, lookback, n_select, min_days, combine, save)
    with console.status("loading data and alphas") as status:
        out = run_backtest(ws, strategy, alphas, start, end, params, progress=_progress(status))
    p = out.summary["parameters"]
    console.print(f"[bold]{out.strategy}[/] {', '.join(out.variants)}  top {p['top']}, every {p['rebalance']} "
                  f"sessions, {p['start']}..{p['end']}, capital {p['capital']:,.0f} KRW", highlight=False)
    console.print(_table(f"backtest {out.run_id}", [(out.label, out.metrics), ("KOSPI", out.bench_metrics)]))
    console.print(f"final value {_fmt('final_value', out.metrics.get('final_value'))} KRW, "
                  f"{out.metrics['n_trades']} trades, blocked orders: "
                  + ", ".join(f"{k} {v}" for k, v in out.result.blocked.items()), highlight=False)
    _notes(out.notes)
    if out.path is not None:
        console.print(f"[green]✓[/] {out.path}")


@app.command("compare")
@handle_errors
def compare_cmd(
    strategies: Annotated[str, typer.Option("--strategies", help="Comma list; 'single' runs each variant.")]
    = "single,ensemble,voting,adaptive",
    alphas: AlphasOpt = "top10:prior",
    top: TopOpt = 5,
    rebalance: RebalOpt = 5,
    start: StartOpt = None,
    end: EndOpt = None,
    capital: CapitalOpt = 100_000_000.0,
    universe: UniverseOpt = "default",
    pool: PoolOpt = None,
    alpha_source: SourceOpt = "auto",
    commission: CommissionOpt = None,
    slippage_bps: SlippageOpt = None,
    tax_rate: TaxOpt = None,
    lookback: LookbackOpt = 60,
    n_select: NSelectOpt = 3,
    min_days: MinDaysOpt = 20,
    combine: CombineOpt = "voting",
    save: SaveOpt = True,
    home: HomeOption = None,
) -> None:
    """Run several strategies over the same sessions and show them beside KOSPI (table + equity PNG)."""
    from lasps.backtest.runner import run_compare

    ws = workspace_for(home)
    settings = ws.settings
    params = _params(settings, top, rebalance, capital, universe, pool, alpha_source, commission, slippage_bps,
                     tax_rate, lookback, n_select, min_days, combine, save)
    with console.status("loading data and alphas") as status:
        out = run_compare(ws, strategies.split(","), alphas, start, end, params, progress=_progress(status))
    first = out.runs[0].summary["parameters"]
    console.print(_table(f"compare {first['start']}..{first['end']} (top {top}, every {rebalance} sessions)",
                         [(r.label, r.metrics) for r in out.runs] + [("KOSPI", out.runs[0].bench_metrics)]))
    _notes(out.notes + [n for r in out.runs for n in r.notes])
    if out.directory is not None:
        console.print(f"[green]✓[/] {out.directory} (summary.csv, equity.png); runs: "
                      + ", ".join(r.run_id for r in out.runs), highlight=False)


def _year_bounds(year: int | None, start: str | None, end: str | None, what: str) -> tuple[str, str]:
    if year is not None:
        if start or end:
            raise ConfigError(f"give either --{what}-year or --{what}-start/--{what}-end, not both",
                              where=f"--{what}-year")
        return f"{year}-01-01", f"{year}-12-31"
    if not start or not end:
        raise ConfigError(f"the {what} period is missing", where=f"--{what}-year",
                          fix=f"pass --{what}-year YYYY or --{what}-start and --{what}-end")
    return start, end


@app.command("oos")
@handle_errors
def oos_cmd(
    select_year: Annotated[int | None, typer.Option("--select-year", help="Select on this calendar year.")] = None,
    trade_year: Annotated[int | None, typer.Option("--trade-year", help="Trade this calendar year.")] = None,
    select_start: Annotated[str | None, typer.Option("--select-start")] = None,
    select_end: Annotated[str | None, typer.Option("--select-end")] = None,
    trade_start: Annotated[str | None, typer.Option("--trade-start")] = None,
    trade_end: Annotated[str | None, typer.Option("--trade-end")] = None,
    strategy: StrategyOpt = "voting",
    n_alphas: Annotated[int, typer.Option("--n-alphas", help="Variants selected by IC_IR.")] = 10,
    top: TopOpt = 5,
    rebalance: RebalOpt = 5,
    capital: CapitalOpt = 100_000_000.0,
    universe: UniverseOpt = "default",
    pool: PoolOpt = None,
    alpha_source: SourceOpt = "auto",
    commission: CommissionOpt = None,
    slippage_bps: SlippageOpt = None,
    tax_rate: TaxOpt = None,
    lookback: LookbackOpt = 60,
    n_select: NSelectOpt = 3,
    min_days: MinDaysOpt = 20,
    combine: CombineOpt = "voting",
    save: SaveOpt = True,
    home: HomeOption = None,
) -> None:
    """Choose the top-N variants by IC_IR on one period, trade the next out of sample; report both.

    Example: lasps backtest oos --select-year 2024 --trade-year 2025 --strategy voting --n-alphas 10
    """
    from lasps.backtest.runner import run_oos

    ss, se = _year_bounds(select_year, select_start, select_end, "select")
    ts, te = _year_bounds(trade_year, trade_start, trade_end, "trade")
    ws = workspace_for(home)
    settings = ws.settings
    params = _params(settings, top, rebalance, capital, universe, pool, alpha_source, commission, slippage_bps,
                     tax_rate, lookback, n_select, min_days, combine, save)
    with console.status("loading data, computing and ranking alphas") as status:
        out = run_oos(ws, ss, se, ts, te, strategy, n_alphas, params, progress=_progress(status))
    sel = Table(title=f"top {len(out.selected)} variants by IC_IR on {ss}..{se}")
    for c in ("variant", "IC_IR select", "IC mean select", "IC_IR trade"):
        sel.add_column(c, justify="left" if c == "variant" else "right")
    for row in out.selection.itertuples(index=False):
        sel.add_row(row.variant, f"{row.ic_ir:.3f}", f"{row.ic_mean:.4f}",
                    "—" if row.ic_ir_trade != row.ic_ir_trade else f"{row.ic_ir_trade:.3f}")
    console.print(sel)
    cols: list[tuple[str, dict[str, Any]]] = []
    for r in (out.in_sample, out.out_of_sample):
        p = r.summary["parameters"]
        cols += [(f"{r.label}\n{p['start']}..{p['end']}", r.metrics), (f"KOSPI\n{r.label}", r.bench_metrics)]
    t = _table(f"{strategy}: in-sample vs out-of-sample (top {top}, every {rebalance} sessions)", cols)
    console.print(t)
    _notes(out.notes + out.in_sample.notes + out.out_of_sample.notes)
    if out.directory is not None:
        console.print(f"[green]✓[/] {out.directory} (summary.csv, selection.csv, equity.png); runs: "
                      f"{out.in_sample.run_id}, {out.out_of_sample.run_id}", highlight=False)


@app.command("show")
@handle_errors
def show_cmd(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: backtests/latest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json as is.")] = False,
    home: HomeOption = None,
) -> None:
    """Print a stored run's summary."""
    from lasps.backtest.outputs import backtests_dir, latest_run_id

    home_path = workspace_for(home).home
    rid = run_id or latest_run_id(home_path)
    if rid is None:
        raise StoreError("no backtest has been run yet", where=str(backtests_dir(home_path)),
                         fix="run `lasps backtest run`")
    path = backtests_dir(home_path) / rid / "summary.json"
    if not path.is_file():
        raise StoreError(f"no backtest run {rid!r}", where=str(path), fix="see the directories under backtests/")
    summary = json.loads(path.read_text(encoding="utf-8"))
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    p = summary["parameters"]
    console.print(f"[bold]{summary['strategy']}[/] {', '.join(p.get('variants', []))} "
                  f"{p['start']}..{p['end']}", highlight=False)
    console.print(_table(f"backtest {rid}", [(p.get("label", summary["strategy"]), summary),
                                              ("KOSPI", summary.get("benchmark") or {})]))
    _notes(summary.get("notes", []))
    console.print(str(Path(path).parent))
