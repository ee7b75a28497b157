"""``lasps data …``: build the synthetic market, import files, update from KRX, check, status."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lasps.cli.common import HomeOption, console, handle_errors, workspace_for
from lasps.data.checks import CheckReport, check_store, run_checks
from lasps.data.sources.files import read_import
from lasps.data.sources.synthetic import config_for_signals, generate_synthetic
from lasps.data.update import update_store
from lasps.data.validate import record_unmapped_sectors, validate_bundle
from lasps.errors import ConfigError, StoreError

app = typer.Typer(no_args_is_help=True)

SOURCES_FOR_INIT = ("synthetic",)
PRICE_BASES = ("adjusted", "raw")


@app.command("init")
@handle_errors
def init_cmd(
    source: Annotated[str, typer.Option(help="Where the data comes from: synthetic (offline, default).")]
    = "synthetic",
    stocks: Annotated[int, typer.Option(min=10, help="Number of listings (stocks, ETFs, SPACs …).")] = 300,
    years: Annotated[float, typer.Option(min=0.5, max=30, help="Years of history.")] = 4.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same arguments give the same tables.")] = 7,
    end: Annotated[str, typer.Option(help="Last session of the synthetic market (YYYY-MM-DD).")]
    = "2026-10-30",
    replace: Annotated[bool, typer.Option("--replace", help="Empty the store first if it holds other data.")]
    = False,
    signals: Annotated[str, typer.Option(help="Planted effects: default, or none (a null market: every "
                                              "planted strength 0, all else equal).")] = "default",
    home: HomeOption = None,
) -> None:
    """Create the market store from a source (the built-in synthetic KRX market by default).

    Deterministic and idempotent: running it again with the same arguments — also after it was killed
    half-way — leaves exactly the same tables.
    """
    if source not in SOURCES_FOR_INIT:
        raise ConfigError(
            f"unknown init source {source!r}",
            where="--source",
            fix="use --source synthetic; for real data use `lasps data import PATH` or "
                "`lasps data update --source pykrx --start YYYY-MM-DD`",
        )
    config = config_for_signals(signals)  # bad --signals: exit 2 before anything is written
    ws = workspace_for(home).ensure()
    spec = {"source": source, "stocks": stocks, "years": years, "seed": seed, "end": end}
    if signals != "default":  # keeps the recorded arguments of existing default stores unchanged
        spec["signals"] = signals
    args = json.dumps(spec, sort_keys=True)
    with ws.store(write=True) as store:
        previous = store.last_run("init")
        if not store.is_empty() and not replace and (previous is None or previous[1] != args):
            raise StoreError(
                f"{store.path} already holds market data from a different load",
                where=str(ws.home),
                fix="pass --replace to empty it first, or use another --home",
            )
        t0 = time.perf_counter()
        with console.status(f"generating synthetic market: {stocks} listings × {years:g} years (seed {seed}, "
                            f"signals {signals})"):
            bundle = generate_synthetic(stocks=stocks, years=years, seed=seed, end=end, config=config)
        t1 = time.perf_counter()
        with console.status(f"writing {len(bundle.prices):,} price rows to {store.path}"):
            n = store.write_bundle(bundle, kind="init", replace=True, detail=args)
        t2 = time.perf_counter()
    console.print(
        f"[green]✓[/] synthetic market: {bundle.stocks.shape[0]:,} listings, {n:,} price rows "
        f"({t1 - t0:.1f} s to generate, {t2 - t1:.1f} s to store) → {ws.home}"
    )


@app.command("import")
@handle_errors
def import_cmd(
    path: Annotated[Path, typer.Argument(help="CSV/Parquet file or a krx-2018-2021-style directory.")],
    fmt: Annotated[str, typer.Option("--format", help="auto | long | marcap | krx-dir")] = "auto",
    price_basis: Annotated[str | None, typer.Option(
        "--price-basis", help="adjusted | raw: the prices' basis when the file does not say (default: detect)")]
    = None,
    home: HomeOption = None,
) -> None:
    """Import prices from files: long CSV/Parquet, the FinanceData marcap layout, or a sample directory.

    The input is validated completely before anything is written; a bad file changes nothing.
    ``--price-basis adjusted`` stores already-adjusted prices (수정주가) with factor 1, ``raw`` derives the
    adjustments from the change ratio (DESIGN 2.3).
    """

    if price_basis is not None and price_basis not in PRICE_BASES:
        raise ConfigError(f"unknown price basis {price_basis!r}", where="--price-basis",
                          fix="use --price-basis adjusted or --price-basis raw")
    ws = workspace_for(home)
    t0 = time.perf_counter()
    with console.status(f"reading {path}"):
        result = read_import(path, fmt, price_basis=price_basis)
        bundle = validate_bundle(result.bundle, str(path))
    ws.ensure()
    with console.status(f"writing {len(bundle.prices):,} rows"), ws.store(write=True) as store:
        n = store.write_bundle(bundle, kind="import", detail=str(path))
        if len(result.unmapped):
            record_unmapped_sectors(store.con, result.unmapped)
    console.print(f"[green]✓[/] imported {n:,} price rows for {bundle.stocks.shape[0]:,} codes from {path} "
                  f"in {time.perf_counter() - t0:.1f} s")
    for field, reason in sorted(bundle.unavailable.items()):
        console.print(f"  [yellow]unavailable[/] {field}: {escape(reason)}")
    for note in result.notes:
        console.print(f"  [yellow]note[/] {escape(note)}")
    if len(result.unmapped):
        console.print(f"  [yellow]unmapped sectors[/] {len(result.unmapped)} codes have no LASPS sector "
                      "(see `lasps data check`)")


@app.command("update")
@handle_errors
def update_cmd(
    source: Annotated[str, typer.Option(help="pykrx | fdr")] = "pykrx",
    start: Annotated[str | None, typer.Option(help="First date to fetch when the store is empty.")] = None,
    until: Annotated[str | None, typer.Option(help="Last date (default: the latest completed session).")]
    = None,
    home: HomeOption = None,
) -> None:
    """Fetch from the session after the last stored one up to the latest completed session.

    One transaction per trading day, so an interrupted update resumes where it stopped; running it
    twice fetches nothing new.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    ws = workspace_for(home).ensure()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:
        task = progress.add_task(f"update from {source}", total=None)

        def on_day(done: int, total: int, day: object) -> None:
            progress.update(task, completed=done, total=total, description=f"update from {source}: {day}")

        report = update_store(ws.home, source, ws.settings, until=until, start=start, progress=on_day)
    console.print(f"[green]✓[/] {report}")


@app.command("check")
@handle_errors
def check_cmd(
    home: HomeOption = None,
    file: Annotated[Path | None, typer.Option("--file", help="Check a file before importing it instead.")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help="Format of --file: auto | long | marcap | krx-dir")]
    = "auto",
    stale_run: Annotated[int, typer.Option(min=2, help="Rows unchanged before a series is stale.")] = 10,
    show: Annotated[int, typer.Option(help="Findings to list below the summary.")] = 10,
) -> None:
    """Run the data-quality checks, print a summary and store the findings (exit 1 on errors).

    Rules: OHLC consistency, non-positive prices, zero-volume days with prices, duplicate keys,
    calendar gaps, unexplained jumps beyond the price limit (mixed adjustment bases), stale series,
    unmapped sectors. With ``--file`` the file is checked as it is (nothing is stored).
    """
    ws = workspace_for(home)
    with console.status("checking " + (str(file) if file else "the market store")):
        if file is not None:
            from lasps.data.sources.files import read_import

            bundle = read_import(file, fmt).bundle
            findings = run_checks(bundle.prices, bundle.stocks, stale_run=stale_run)
            report = CheckReport("file", findings, len(bundle.prices))
        else:
            report = check_store(ws, stale_run=stale_run)
    table = Table(title=f"data check {report.run_id}: {report.rows_checked:,} rows")
    for col in ("rule", "severity", "count", "example"):
        table.add_column(col)
    for row in report.summary().itertuples(index=False):
        colour = "red" if row.severity == "error" else "yellow"
        table.add_row(row.rule, f"[{colour}]{row.severity}[/]", f"{row.count:,}", str(row.example)[:90])
    if report.findings.empty:
        console.print(f"[green]✓[/] {report.rows_checked:,} rows checked, no findings")
    else:
        console.print(table)
        console.print(report.findings.head(show).to_string(index=False))
    if report.errors:
        raise typer.Exit(code=1)


@app.command("status")
@handle_errors
def status_cmd(home: HomeOption = None) -> None:
    """Codes, date range, rows, per-source last update and available fields."""
    ws = workspace_for(home)
    with ws.store() as store:
        if store.is_empty():
            raise StoreError("the market store is empty", where=str(store.path),
                             fix="run `lasps data init` or `lasps data import PATH`")
        st = store.status_summary()
        table = Table(title=f"market store {store.path}", show_header=False)
        table.add_column("item")
        table.add_column("value")
        table.add_row("codes", f"{st['codes']:,}")
        table.add_row("kinds", ", ".join(f"{k} {n:,}" for k, n in st["kinds"].itertuples(index=False)))
        table.add_row("date range", f"{st['first']} … {st['last']}")
        table.add_row("sessions", f"{st['sessions']:,}")
        table.add_row("price rows", f"{st['price_rows']:,}")
        table.add_row("adjustment events", f"{st['adjustments']:,}")
        idx = st["indices"]
        table.add_row("indices", "; ".join(f"{c}: {n:,} rows {a}…{b}" for c, n, a, b in idx.itertuples(index=False))
                      or "none")
        table.add_row("investor flow rows", f"{st['flow_rows']:,}")
        table.add_row("price basis", ", ".join(f"{b} {n:,}" for b, n in st["bases"].itertuples(index=False)))
        for src, kind, at, last in st["runs"].itertuples(index=False):
            table.add_row(f"last {kind} ({src})", f"{at:%Y-%m-%d %H:%M} (data through {last})")
        status = st["fields"]
        avail = [f for f, a, _ in status.itertuples(index=False) if a]
        table.add_row("available fields", ", ".join(avail))
        for f, a, reason in status.itertuples(index=False):
            if not a:
                table.add_row(f"[yellow]unavailable[/] {f}", str(reason))
    console.print(table)
