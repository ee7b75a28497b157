"""``lasps alpha …``: list the catalogue, compute alphas to Parquet, show a day's top codes, add formulas.

- ``lasps alpha list`` — every alpha (paper 1–101, custom 201–205, user alphas) with its formula,
  inputs and whether the stored data can produce it (with the reason when not).
- ``lasps alpha compute [--alphas 1,4,17] [--resume] [--no-industry] [--start D --end D]`` — one shared
  DAG for all requested alphas, streamed to ``$LASPS_HOME/alphas/*.parquet`` with a progress bar.
  ``--executor ray`` (or ``--workers N`` with the local executor) splits the alphas into batches that
  run as parallel tasks, each writing its alphas itself (``$LASPS_HOME`` must be shared by the workers).
- ``lasps alpha show 44 --date D --top 10`` — the highest (and lowest) values of one alpha on one day.
- ``lasps alpha add NAME "formula"`` — validate and register a user alpha.

Bad input (unknown alpha, unparsable formula or date) raises a :class:`~lasps.errors.LaspsError`, which
the CLI prints in red with exit code 2.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lasps.alpha.catalogue import register_user_alpha, user_alphas_path
from lasps.alpha.conventions import DEFAULT
from lasps.cli.common import HomeOption, console, handle_errors, workspace_for
from lasps.config import ensure_home
from lasps.dates import parse_optional_date
from lasps.errors import ConfigError, LaspsError, StoreError, UnavailableError
from lasps.scale import executor_name

app = typer.Typer(no_args_is_help=True)


def _split_alphas(text: str | None) -> list[str]:
    if text is None:
        return []
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        raise ConfigError(f"--alphas {text!r} names no alpha", where="--alphas",
                          fix="give ids or names separated by commas, e.g. --alphas 1,4,17,alpha_201")
    return keys


@dataclass(frozen=True)
class _StoreSink:
    """Writes each alpha where a batch task finishes it (in the worker), so arrays never travel back."""

    home: str
    expected: dict[str, dict[str, Any]]
    rows: slice

    def __call__(self, name: str, values: np.ndarray, panel: Any) -> None:
        from lasps.alpha import store as alpha_store

        alpha_store.write_alpha(self.home, name, values, panel, self.expected[name], self.rows)


@app.command("list")
@handle_errors
def list_cmd(
    no_data: Annotated[bool, typer.Option("--no-data", help="Do not open the market store.")] = False,
    home: HomeOption = None,
) -> None:
    """List every alpha with its formula, inputs and availability on the stored data."""
    from lasps.alpha.engine import alpha_unavailable_reason

    ws = workspace_for(home)
    catalogue = ws.catalogue
    panel = None
    note = "availability not checked (--no-data)" if no_data else ""
    if not no_data:
        try:
            with ws.store() as store:
                last = store.last_price_date()
            if last is None:
                raise StoreError("the market store holds no prices")
            panel = ws.panel(start=last - dt.timedelta(days=40), end=last)
        except StoreError as exc:
            note = f"no market data to check availability against: {exc.what}"
    table = Table(title=f"LASPS alphas ({len(catalogue)})", show_lines=False, expand=True)
    table.add_column("id", no_wrap=True)
    table.add_column("formula", overflow="fold", ratio=5)
    table.add_column("inputs", overflow="fold", ratio=2)
    table.add_column("available", overflow="fold", ratio=2)
    n_ok = 0
    for spec in catalogue.values():
        label = str(spec.id) if spec.id is not None else spec.name
        if panel is None:
            avail = "[dim]?[/]"
        else:
            reason = alpha_unavailable_reason(spec, panel, DEFAULT, True)
            n_ok += reason is None
            avail = "[green]yes[/]" if reason is None else f"[red]no[/]: {escape(reason)}"
        text = f"{escape(spec.formula)}\n[dim]{escape(spec.description)}[/]" if spec.description \
            else escape(spec.formula)
        table.add_row(label, text, escape(", ".join(spec.inputs)), avail)
    console.print(table)
    if panel is not None:
        console.print(f"{n_ok} of {len(catalogue)} alphas can be computed from the stored data "
                      f"(industry: one KRX level, so IndClass.sector = industry = subindustry).")
    else:
        console.print(f"[yellow]{escape(note)}[/]")


@app.command("compute")
@handle_errors
def compute_cmd(
    alphas: Annotated[str | None, typer.Option(help="Comma-separated ids or names (default: all), "
                                                    "e.g. 1,4,17,alpha_201,my_alpha.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Skip alphas whose stored file is up to date "
                                                          "(same formula, conventions, dates, codes, data).")]
    = False,
    no_industry: Annotated[bool, typer.Option("--no-industry", help="Skip IndNeutralize alphas.")] = False,
    start: Annotated[str | None, typer.Option(help="First date to write (YYYY-MM-DD); earlier history "
                                                   "is loaded as warm-up.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date (YYYY-MM-DD).")] = None,
    universe: Annotated[str, typer.Option(help="Universe: default, all, kospi, kosdaq, topN, or codes.")]
    = "default",
    executor: Annotated[str | None, typer.Option(
        "--executor", help="local or ray (default: LASPS_EXECUTOR / executor in lasps.toml, else local); "
                           "ray joins LASPS_RAY_ADDRESS or starts a local instance.")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=0, help="Local executor: 1 = one DAG in this process (default), 0 = one process "
                                 "per CPU, N = N spawned processes.")] = None,
    batches: Annotated[int | None, typer.Option(
        "--batches", min=1, help="Alpha batches (tasks) for a parallel executor (default: its workers).")] = None,
    home: HomeOption = None,
) -> None:
    """Compute alphas with one shared DAG and write ``$LASPS_HOME/alphas/<name>.parquet``."""
    from lasps.alpha import store as alpha_store
    from lasps.alpha.engine import alpha_lookback, compile_alphas, tune_allocator

    ws = workspace_for(home)
    settings = ws.settings
    exec_name = executor_name(executor, settings)  # an unknown name fails before any data is loaded
    if exec_name == "ray":
        from lasps.scale.ray_executor import import_ray

        import_ray()
    start_d, end_d = parse_optional_date(start, option="--start"), parse_optional_date(end, option="--end")
    if start_d and end_d and start_d > end_d:
        raise ConfigError(f"--start {start_d} is after --end {end_d}", where="--start/--end",
                          fix="swap the dates")
    catalogue = ws.catalogue
    keys = _split_alphas(alphas)
    specs = catalogue.resolve_many(keys) if keys else list(catalogue.values())
    conv = DEFAULT
    ensure_home(settings.home)

    t0 = time.perf_counter()
    warm = max(alpha_lookback(s, conv) for s in specs)
    load_start = ws.session_before(start_d, warm) if start_d else None
    with console.status("loading the market panel"):
        panel = ws.panel(start=load_start, end=end_d, universe=universe)
    first = int(np.searchsorted(panel.dates, np.datetime64(start_d, "D"))) if start_d else 0
    if first >= len(panel.dates):
        raise ConfigError(f"no stored trading dates on or after --start {start_d}", where="--start",
                          fix="check `lasps data status` for the stored range")
    rows = slice(first, None)
    with console.status("fingerprinting the panel"):
        fingerprint = alpha_store.panel_fingerprint(panel)
    expected = {s.name: alpha_store.expected_metadata(s.name, s.canonical, conv, panel, rows, fingerprint)
                for s in specs}
    skipped = [s.name for s in specs if resume and alpha_store.is_current(settings.home, s.name,
                                                                          expected[s.name])]
    todo = [s for s in specs if s.name not in skipped]
    program = compile_alphas(todo, panel, conv, industry=not no_industry, catalogue=catalogue)
    t_load = time.perf_counter() - t0
    console.print(
        f"panel {len(panel.dates):,} dates × {len(panel.codes):,} codes "
        f"({panel.dates[first]} … {panel.dates[-1]}, {first} warm-up rows) loaded in {t_load:.1f} s; "
        f"{len(program.names)} to compute ({len(program.nodes)} shared nodes), "
        f"{len(skipped)} up to date, {len(program.unavailable)} unavailable"
    )
    tune_allocator()
    parallel = exec_name == "ray" or workers not in (None, 1)
    t1 = time.perf_counter()
    written = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("computing alphas", total=len(program.names))
        if not parallel:
            # files are encoded and written on a background thread while the next alphas are computed
            with alpha_store.AlphaWriter(settings.home, panel, rows) as writer:
                for name, values in program.run(panel):
                    progress.update(task, description=f"computed {name}")
                    writer.submit(name, values, expected[name])
                    del values
                    progress.advance(task)
                progress.update(task, description="writing the last files")
            written = len(writer.written)
        elif program.names:
            from lasps.alpha.engine import plan_batches, run_batches
            from lasps.scale import get_executor

            with get_executor(exec_name, settings, workers=workers) as ex:
                n = batches or ex.workers
                plan = plan_batches(program, n)
                console.print(f"executor {exec_name}: {ex.workers} worker(s), {len(plan.batches)} batch(es) "
                              f"(~{plan.recomputed:.0%} of the work recomputed across batches); "
                              "each batch writes its own alphas")
                progress.update(task, description="computing batches")
                sink = _StoreSink(str(settings.home), expected, rows)
                for name, _ in run_batches(program, panel, ex, batches=n, sink=sink):
                    progress.update(task, description=f"written {name}")
                    written += 1
                    progress.advance(task)
        progress.update(task, description="done")
    views = alpha_store.register_views(settings.home)
    console.print(f"[green]✓[/] {written} alpha(s) written to {alpha_store.alphas_dir(settings.home)} "
                  f"in {time.perf_counter() - t1:.1f} s; {len(views)} DuckDB views (e.g. SELECT * FROM alpha_001)")
    if skipped:
        console.print(f"skipped (up to date, --resume): {', '.join(skipped)}")
    if program.unavailable:
        table = Table(title="unavailable alphas (nothing substituted)")
        table.add_column("alpha", no_wrap=True)
        table.add_column("reason", overflow="fold")
        for name, reason in program.unavailable.items():
            table.add_row(name, escape(reason))
        console.print(table)
    refuse_requested_unavailable(keys, program.unavailable, written + len(skipped))


def refuse_requested_unavailable(keys: list[str], unavailable: dict[str, str], done: int) -> None:
    """Exit 2 when none of the alphas named in ``--alphas`` can be computed (``lasps backtest`` refuses them too).

    When some can, they are written and the unavailable ones listed (exit 0); without ``--alphas`` (the whole
    catalogue) likewise. ``done`` = alphas written or already up to date.
    """
    if not keys or not unavailable or done:
        return
    names = list(unavailable)
    first = unavailable[names[0]]
    raise UnavailableError(
        f"{len(names)} requested alpha(s) cannot be computed from the stored data ({', '.join(names[:8])}"
        f"{' …' if len(names) > 8 else ''}; nothing written): {first}",
        where="--alphas", fix="choose alphas the stored fields support (`lasps alpha list`), or load the "
                              "missing field")


def _stock_names(home: Path) -> dict[str, str]:
    try:
        with workspace_for(home).store() as store:
            frame = store.stock_table(("code", "name"))
    except StoreError:
        return {}
    return dict(zip(frame["code"].astype(str), frame["name"].astype(str), strict=False))


@app.command("show")
@handle_errors
def show_cmd(
    alpha: Annotated[str, typer.Argument(help="Alpha id or name, e.g. 44, alpha_201, my_alpha.")],
    date: Annotated[str | None, typer.Option(help="Trading date (YYYY-MM-DD); default the latest.")] = None,
    top: Annotated[int, typer.Option(min=1, max=1000, help="How many codes at each end.")] = 10,
    home: HomeOption = None,
) -> None:
    """Show the codes with the highest and lowest values of one alpha on one date.

    Reads the stored Parquet file when ``lasps alpha compute`` wrote one; otherwise computes the alpha
    on the fly from the market store (not stored).
    """
    import pyarrow.parquet as pq

    from lasps.alpha import store as alpha_store
    from lasps.alpha.engine import alpha_lookback

    ws = workspace_for(home)
    settings = ws.settings
    spec = ws.catalogue.resolve(alpha)
    day = parse_optional_date(date, option="--date")
    path = alpha_store.alpha_path(settings.home, spec.name)
    source = f"stored file {path}"
    if path.is_file():
        frame = pq.read_table(path).to_pandas()
        if frame.empty:
            raise StoreError(f"{path} holds no values (the alpha is NaN everywhere)", where=str(path))
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
        lo, hi = frame["date"].min(), frame["date"].max()
        when = day or hi
        frame = frame[frame["date"] == when]
        if frame.empty:
            raise ConfigError(f"{spec.name} has no values on {when}", where="--date",
                              fix=f"choose a trading date between {lo} and {hi}")
        series = frame.set_index("code")["value"]
    else:
        from lasps.alpha.engine import alpha_lookback, compute

        warm = alpha_lookback(spec)
        load_start = ws.session_before(day, warm) if day else None
        with console.status(f"computing {spec.name} (not stored yet)"):
            panel = ws.panel(start=load_start, end=day)
            result = compute(panel, [spec])
        if spec.name in result.unavailable:
            raise LaspsError(f"{spec.name} cannot be computed: {result.unavailable[spec.name]}")
        when = pd.Timestamp(panel.dates[-1]).date()
        if day is not None and when != day:
            raise ConfigError(f"{day} is not a stored trading date", where="--date",
                              fix=f"the nearest earlier stored date is {when}")
        row = result[spec.name][-1]
        ok = ~np.isnan(row)
        series = pd.Series(row[ok], index=[str(c) for c in panel.codes[ok]])
        source = "computed on the fly (run `lasps alpha compute` to store it)"
    if series.empty:
        raise LaspsError(f"{spec.name} is NaN for every code on {when}",
                         fix="pick a later date: the formula needs more history")
    names = _stock_names(settings.home)
    ordered = series.sort_values(ascending=False, kind="mergesort")
    console.print(f"[bold]{spec.name}[/] on {when} — {escape(spec.formula)}")
    console.print(f"[dim]{len(series):,} codes with a value; {escape(source)}[/]")
    for title, part in (("highest", ordered.head(top)), ("lowest", ordered.tail(top).iloc[::-1])):
        table = Table(title=f"{title} {len(part)}")
        table.add_column("#", justify="right")
        table.add_column("code")
        table.add_column("name")
        table.add_column("value", justify="right")
        for i, (code, value) in enumerate(part.items(), 1):
            table.add_row(str(i), str(code), escape(names.get(str(code), "")), f"{value:.6g}")
        console.print(table)


@app.command("add", context_settings={"ignore_unknown_options": True})
@handle_errors
def add_cmd(
    name: Annotated[str, typer.Argument(help="Lower-case name, e.g. my_reversal.")],
    formula: Annotated[str, typer.Argument(help="Formula in the paper's notation, e.g. \"-1 * delta(close, 5)\".")],
    description: Annotated[str, typer.Option(help="One line saying what it measures.")] = "",
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a user alpha of the same name.")]
    = False,
    home: HomeOption = None,
) -> None:
    """Register a user alpha (validated by parsing; stored in ``$LASPS_HOME/alphas/user_alphas.json``)."""
    ws = workspace_for(home).ensure()
    spec = register_user_alpha(name, formula, ws.home, description, replace=replace)
    console.print(f"[green]✓[/] added [bold]{spec.name}[/]: {escape(spec.canonical)}")
    console.print(f"  inputs: {', '.join(spec.inputs)}; stored in {user_alphas_path(ws.home)}")
    console.print(f"  compute it with: lasps alpha compute --alphas {spec.name}")
