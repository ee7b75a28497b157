"""``lasps ml …``: the deep-learning track (DESIGN §8).

- ``lasps ml dataset build --out DIR [--start D --end D --universe U --horizon 5 --stride 5 …]`` —
  windows, labels, splits and metadata as ``.npy`` memmaps + ``metadata.parquet`` + ``manifest.json``,
  written atomically (``DIR.tmp`` → ``DIR``), resumable, with a progress bar.
- ``lasps ml dataset check DIR`` — lengths, hashes, metadata alignment, all-zero/constant arrays,
  sample charts; exit code 2 on any problem.
- ``lasps ml dataset info DIR`` — the manifest's summary (splits, labels, sectors, funnel).
- ``lasps ml analyze features|single|nonstationarity|patterns DIR`` — the work log's analyses as
  Rich tables + CSV files (default ``DIR/analysis/``).

Extending: the module-level ``app`` carries one sub-typer per command group (``dataset_app``,
``analyze_app``); add ``train``/``predict`` as further commands on ``app`` (or a new sub-typer) in
this file. Heavy imports (numpy kernels, torch) happen inside the commands, so ``lasps --help``
stays fast and works without torch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lasps.cli.common import HomeOption, console, handle_errors, settings_for
from lasps.errors import ConfigError

app = typer.Typer(no_args_is_help=True, help="Deep-learning track: datasets, analyses (and later train/predict).")
dataset_app = typer.Typer(no_args_is_help=True, help="Build, check and describe ML dataset directories.")
analyze_app = typer.Typer(no_args_is_help=True, help="The work log's feature/label analyses on a dataset.")
app.add_typer(dataset_app, name="dataset")
app.add_typer(analyze_app, name="analyze")

DirArg = Annotated[Path, typer.Argument(help="Dataset directory (from `lasps ml dataset build`).",
                                        show_default=False)]
OutOption = Annotated[Path | None, typer.Option("--out", help="Directory for the CSV files (default DIR/analysis).",
                                                show_default=False)]


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _fmt(v: Any, digits: int = 4) -> str:
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 10 ** -digits):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}f}"
    return escape(str(v))


def print_frame(frame: Any, title: str, digits: int = 4, max_rows: int | None = None) -> None:
    """Print a pandas frame as a Rich table (floats with ``digits`` decimals)."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for c in frame.columns:
        table.add_column(str(c), justify="left" if frame[c].dtype == object else "right")
    rows = frame if max_rows is None else frame.head(max_rows)
    for rec in rows.itertuples(index=False):
        table.add_row(*[_fmt(v.item() if hasattr(v, "item") else v, digits) for v in rec])
    console.print(table)
    if max_rows is not None and len(frame) > max_rows:
        console.print(f"[dim]… {len(frame) - max_rows} more rows in the CSV[/]")


def _write_csv(frame: Any, out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def _out_dir(root: Path, out: Path | None) -> Path:
    return out if out is not None else root / "analysis"


def _split_note(ds: Any) -> None:
    sp = ds.manifest["splits"]
    console.print(f"[dim]splits ({sp['mode']}): {escape(sp['note'])}; counts {sp['counts']}[/]")


# ------------------------------------------------------------------------------------------------
# dataset
# ------------------------------------------------------------------------------------------------
@dataset_app.command("build")
@handle_errors
def build_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output directory (built in OUT.tmp, then renamed).",
                                      show_default=False)],
    start: Annotated[str | None, typer.Option(help="First sample date (YYYY-MM-DD); default: all.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date of data used, labels included (YYYY-MM-DD).")] = None,
    universe: Annotated[str, typer.Option(help="default | kospi | kosdaq | topN | code list.")] = "default",
    horizon: Annotated[int, typer.Option(min=1, max=60, help="Label horizon h in sessions.")] = 5,
    buy: Annotated[float, typer.Option(help="BUY when the h-session return > this.")] = 0.03,
    sell: Annotated[float, typer.Option(help="SELL when the h-session return < this.")] = -0.03,
    entry: Annotated[str, typer.Option(help="open: next open to open h later (DESIGN §4); close: close t to "
                                            "close t+h (the work log's).")] = "open",
    stride: Annotated[int, typer.Option(min=1, help="Every k-th session is a sampling date (5 = non-overlapping "
                                                    "5-day labels).")] = 5,
    train_end: Annotated[str, typer.Option(help="Last train date.")] = "2022-12-31",
    val_end: Annotated[str, typer.Option(help="Last validation date (test follows).")] = "2023-12-31",
    keep_unmapped: Annotated[bool, typer.Option("--keep-unmapped", help="Keep codes without a LASPS sector "
                                                                        "(sector_id -1).")] = False,
    chunk_size: Annotated[int, typer.Option(min=256, help="Samples per written chunk.")] = 16384,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it exists.")] = False,
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Continue an interrupted build in "
                                                                      "OUT.tmp.")] = True,
    home: HomeOption = None,
) -> None:
    """Build an ML dataset: (60, 28) windows, labels, returns, sectors, raw OHLCV for charts, metadata."""
    from lasps.ml.builder import BuildConfig, build_dataset
    from lasps.ml.labels import LabelSpec
    from lasps.ml.splits import SplitSpec

    settings = settings_for(home)
    config = BuildConfig(start=start, end=end, universe=universe,
                         labels=LabelSpec(horizon=horizon, buy=buy, sell=sell, entry=entry),
                         splits=SplitSpec(train_end=train_end, val_end=val_end), stride=stride,
                         keep_unmapped=keep_unmapped, chunk_size=chunk_size)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as prog:
        tasks: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = prog.add_task(stage, total=total)
            prog.update(tasks[stage], completed=done, total=total)

        manifest = build_dataset(out, config, home=settings.home, resume=resume, overwrite=overwrite,
                                 progress=on_progress)
    _print_summary(manifest, out)


def _print_summary(manifest: dict[str, Any], root: Path) -> None:
    console.print(f"[bold green]dataset[/] {escape(str(root))}: {manifest['n']:,} samples, windows "
                  f"{tuple(manifest['arrays']['windows']['shape'])} float32")
    sp = manifest["splits"]
    console.print(f"[dim]splits ({sp['mode']}): {escape(sp['note'])}[/]")
    table = Table(title="samples per split", title_justify="left", header_style="bold")
    for c in ("split", "n", "dates", "SELL", "HOLD", "BUY", "sectors max/min", "missing sectors", "purged"):
        table.add_column(c, justify="right" if c not in ("split", "dates", "missing sectors") else "left")
    for name in ("train", "val", "test"):
        d = manifest["distributions"][name]
        dr = sp["date_ranges"].get(name)
        share = d["label_share"]
        ratio = d["sector_max_min_ratio"]
        table.add_row(name, f"{d['n']:,}", f"{dr[0]} … {dr[1]}" if dr else "–",
                      f"{share['SELL']:.1%}", f"{share['HOLD']:.1%}", f"{share['BUY']:.1%}",
                      "–" if ratio is None else f"{ratio:.1f}×", ", ".join(d["sectors_missing"]) or "",
                      str(sp["purged"].get(name, "")))
    console.print(table)
    f = manifest["funnel"]
    console.print("[dim]funnel: " + " → ".join(f"{k} {v:,}" for k, v in f.items()) + "[/]")
    fl = manifest["flows"]
    if not fl["available"]:
        console.print("[yellow]no investor flows in the store: the 5 flow features are 0 and flow_mask is 0[/]")


@dataset_app.command("check")
@handle_errors
def check_cmd(
    root: DirArg,
    charts: Annotated[int, typer.Option(min=0, help="Windows to render and inspect.")] = 16,
    save_charts: Annotated[Path | None, typer.Option("--save-charts", help="Write the sampled charts as a PNG "
                                                                            "grid.", show_default=False)] = None,
    no_hash: Annotated[bool, typer.Option("--no-hash", help="Skip the sha256 comparison.")] = False,
) -> None:
    """Validate a dataset: lengths, hashes, metadata alignment, no all-zero/constant arrays, charts.

    Exits with code 2 and lists every problem when anything is wrong.
    """
    from lasps.ml.check import check_dataset

    rep = check_dataset(root, charts=charts, verify_hashes=not no_hash, save_charts=save_charts)
    table = Table(title=f"dataset {escape(str(root))}: {rep.n:,} samples", title_justify="left",
                  header_style="bold")
    for c in ("array", "shape", "dtype", "min", "max", "nonzero", "sha256"):
        table.add_column(c, justify="left" if c in ("array", "shape", "dtype", "sha256") else "right")
    for name, st in rep.arrays.items():
        table.add_row(name, str(st.shape), st.dtype, f"{st.min:.4g}", f"{st.max:.4g}", f"{st.nonzero:,}",
                      st.sha256[:12] + "…")
    console.print(table)
    for w in rep.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    msg = f"[bold green]ok[/]: aligned, hashes {'not checked' if no_hash else 'match'}, " \
          f"{rep.charts_checked} charts rendered"
    if rep.chart_grid_path is not None:
        msg += f" (saved to {escape(str(rep.chart_grid_path))})"
    console.print(msg)


@dataset_app.command("info")
@handle_errors
def info_cmd(root: DirArg) -> None:
    """Summarise a dataset's manifest (splits, label shares, sector balance, build funnel)."""
    from lasps.ml.dataset import read_manifest

    _print_summary(read_manifest(root), root)


# ------------------------------------------------------------------------------------------------
# analyze
# ------------------------------------------------------------------------------------------------
@analyze_app.command("features")
@handle_errors
def analyze_features_cmd(
    root: DirArg,
    split: Annotated[str, typer.Option(help="Split to analyse.")] = "train",
    threshold: Annotated[float, typer.Option(help="|r| above which a feature pair is listed as redundant.")] = 0.9,
    out: OutOption = None,
) -> None:
    """Per-feature class discrimination (BUY − SELL mean, t-stat) and redundant feature pairs."""
    from lasps.ml import analysis
    from lasps.ml.dataset import MLDataset

    ds = MLDataset(root)
    _split_note(ds)
    disc = analysis.feature_discrimination(ds, split=split)
    pairs = analysis.redundant_pairs(ds, split=split, threshold=threshold)
    print_frame(disc, f"feature discrimination on {split} (value on the sample date; sorted by |BUY − SELL|)")
    print_frame(pairs, f"redundant feature pairs (|r| > {threshold}, all window rows): {len(pairs)}", max_rows=20)
    o = _out_dir(root, out)
    p1 = _write_csv(disc, o, f"features_discrimination_{split}")
    p2 = _write_csv(pairs, o, f"features_redundant_{split}")
    console.print(f"[dim]wrote {escape(str(p1))}, {escape(str(p2))}[/]")


@analyze_app.command("single")
@handle_errors
def analyze_single_cmd(
    root: DirArg,
    grid: Annotated[int, typer.Option(min=3, help="Quantile thresholds tried per feature.")] = 19,
    out: OutOption = None,
) -> None:
    """Single-feature 3-class accuracy: best thresholds on train, balanced accuracy on val/test."""
    from lasps.ml import analysis
    from lasps.ml.dataset import MLDataset

    ds = MLDataset(root)
    _split_note(ds)
    frame = analysis.single_feature_accuracy(ds, grid=grid)
    print_frame(frame, "single-feature accuracy (balanced; thresholds chosen on train; random = 0.3333)")
    p = _write_csv(frame, _out_dir(root, out), "single_feature_accuracy")
    console.print(f"[dim]wrote {escape(str(p))}[/]")


@analyze_app.command("nonstationarity")
@handle_errors
def analyze_nonstationarity_cmd(root: DirArg, out: OutOption = None) -> None:
    """Feature and pattern correlations with the forward return per split (sign flips flagged)."""
    from lasps.ml import analysis
    from lasps.ml.dataset import MLDataset

    ds = MLDataset(root)
    _split_note(ds)
    frame = analysis.nonstationarity(ds)
    print_frame(frame, "correlation with the forward return per split (sorted by |train|)", max_rows=30)
    flips = int(frame["sign_flip"].sum())
    console.print(f"{flips} of {len(frame)} features/patterns flip sign between train and test")
    p = _write_csv(frame, _out_dir(root, out), "nonstationarity")
    console.print(f"[dim]wrote {escape(str(p))}[/]")


@analyze_app.command("patterns")
@handle_errors
def analyze_patterns_cmd(
    root: DirArg,
    alphas: Annotated[str, typer.Option(help="Ridge penalties, comma-separated.")] = "0.1,1,10,100,1000",
    folds: Annotated[int, typer.Option(min=2, help="Cross-validation folds (contiguous date blocks).")] = 5,
    out: OutOption = None,
) -> None:
    """The 36-pattern ridge experiment: train / CV / val / test correlation per ridge alpha."""
    from lasps.ml import analysis
    from lasps.ml.dataset import MLDataset

    try:
        alpha_list = tuple(float(a) for a in alphas.split(",") if a.strip())
    except ValueError as exc:
        raise ConfigError(f"cannot parse --alphas {alphas!r}", where="--alphas", fix="e.g. 0.1,1,10") from exc
    if not alpha_list or any(a < 0 for a in alpha_list):
        raise ConfigError(f"--alphas {alphas!r} must list non-negative numbers", where="--alphas")
    ds = MLDataset(root)
    _split_note(ds)
    P = analysis.dataset_patterns(ds)
    by_alpha, by_pattern = analysis.pattern_ridge(ds, alphas=alpha_list, folds=folds, patterns=P)
    print_frame(by_alpha, "36-pattern ridge: correlation of predictions with the forward return")
    print_frame(by_pattern, "patterns (coef at the middle alpha; train vs test correlation)", max_rows=36)
    o = _out_dir(root, out)
    p1 = _write_csv(by_alpha, o, "patterns_ridge")
    p2 = _write_csv(by_pattern, o, "patterns_coefficients")
    console.print(f"[dim]wrote {escape(str(p1))}, {escape(str(p2))}[/]")
