"""``lasps ml …``: the deep-learning track (DESIGN §8).

- ``lasps ml dataset build --out DIR [--start D --end D --universe U --horizon 5 --stride 5 …]`` —
  windows, labels, splits and metadata as ``.npy`` memmaps + ``metadata.parquet`` + ``manifest.json``,
  written atomically (``DIR.tmp`` → ``DIR``), resumable, with a progress bar.
- ``lasps ml dataset check DIR`` — lengths, hashes, metadata alignment, all-zero/constant arrays,
  sample charts; exit code 2 on any problem.
- ``lasps ml dataset info DIR`` — the manifest's summary (splits, labels, sectors, funnel).
- ``lasps ml analyze features|single|nonstationarity|patterns DIR`` — the work log's analyses as
  Rich tables + CSV files (default ``DIR/analysis/``).
- ``lasps ml train --config cfg.toml [--resume]`` — three-phase training (docs/ml-models.md); under
  ``torchrun`` it trains with DDP.
- ``lasps ml evaluate --checkpoint RUN/model.pt [--data DIR] [--split test]`` — the evaluation report
  (JSON + Markdown in the run directory) beside baselines, with collapse flags.
- ``lasps ml predict --checkpoint RUN/model.pt [--date D]`` — per-stock probabilities/scores into the
  DuckDB table ``predictions`` and a Parquet file.

Extending: the module-level ``app`` carries one sub-typer per command group (``dataset_app``,
``analyze_app``) and the ``train``/``evaluate``/``predict`` commands. Heavy imports (numpy kernels,
torch) happen inside the commands, so ``lasps --help`` stays fast and works without torch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lasps.cli.common import HomeOption, console, handle_errors, workspace_for
from lasps.errors import ConfigError
from lasps.files import atomic_write_text
from lasps.ml.dataset import MLDataset, read_manifest
from lasps.ml.train_config import TrainConfig

app = typer.Typer(no_args_is_help=True,
                  help="Deep-learning track: datasets, analyses, training, evaluation, prediction.")
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
    return atomic_write_text(out / f"{name}.csv", frame.to_csv(index=False))


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

    ws = workspace_for(home)
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

        manifest = build_dataset(out, config, home=ws.home, resume=resume, overwrite=overwrite,
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


# ------------------------------------------------------------------------------------------------
# train / evaluate / predict (need the ml extra: torch)
# ------------------------------------------------------------------------------------------------
def _need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ConfigError("this command needs PyTorch", where="lasps ml",
                          fix="pip install -e '.[ml]' (torch, scikit-learn)") from exc


@app.command("train")
@handle_errors
def train_cmd(
    config: Annotated[Path, typer.Option("--config", "-c", show_default=False,
                                         help="Run configuration (TOML; see docs/examples/train_fusion.toml).")],
    resume: Annotated[bool, typer.Option("--resume", help="Continue from RUN_DIR/checkpoint.pt (a new run when "
                                                          "there is none).")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite",
                                            help="Start over although RUN_DIR has a checkpoint.")] = False,
    data: Annotated[Path | None, typer.Option("--data", help="Override data.dir.", show_default=False)] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Override run.dir.", show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", help="Override run.device (auto, cpu, cuda, cuda:N).",
                                               show_default=False)] = None,
    stop_after_epochs: Annotated[int | None, typer.Option("--stop-after-epochs", min=1, help="Checkpoint and stop "
                                                          "after this many epochs (time-boxed training).",
                                                          show_default=False)] = None,
    stop_after_steps: Annotated[int | None, typer.Option("--stop-after-steps", min=1, show_default=False,
                                                         help="Checkpoint and stop after this many optimizer "
                                                              "steps.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Rich progress bars.")] = True,
) -> None:
    """Train a LASPS fusion or PatchTST model in three phases (run under torchrun for DDP)."""
    _need_torch()
    from lasps.ml.trainer import Trainer

    cfg = TrainConfig.from_toml(config)
    if data is not None:
        cfg.data.dir = str(data)
    if run_dir is not None:
        cfg.run.dir = str(run_dir)
    if device is not None:
        cfg.run.device = device
    cfg.validate(str(config))
    result = Trainer(cfg, console=console, progress=progress).fit(
        resume=resume, overwrite=overwrite, stop_after_epochs=stop_after_epochs, stop_after_steps=stop_after_steps)
    if result.world_size > 1 and int(__import__("os").environ.get("RANK", "0")) != 0:
        return
    st = result.state
    if result.completed:
        console.print(f"[bold green]trained[/] {escape(str(result.run_dir))}: {st.global_step} optimizer steps; "
                      f"model {escape(str(result.model_path))}")
        console.print(f"[dim]next: lasps ml evaluate --checkpoint {escape(str(result.model_path))} --split test[/]")
    else:
        console.print(f"[yellow]paused[/] at phase {st.phase_index + 1}/{len(cfg.phases)}, epoch {st.epoch}, batch "
                      f"{st.batch_in_epoch}; continue with `lasps ml train --config {escape(str(config))} --resume`")


@app.command("evaluate")
@handle_errors
def evaluate_cmd(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="A run's model.pt (or phase*_best.pt / "
                                                                  "checkpoint.pt, or the run directory).",
                                             show_default=False)],
    data: Annotated[Path | None, typer.Option("--data", help="Dataset directory (default: the run's).",
                                              show_default=False)] = None,
    split: Annotated[str, typer.Option(help="train, val or test.")] = "test",
    out: Annotated[Path | None, typer.Option("--out", help="Directory for eval_SPLIT.json/.md (default: the "
                                                           "checkpoint's directory).", show_default=False)] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    batch_size: Annotated[int, typer.Option(min=1, help="Inference batch size.")] = 256,
    max_samples: Annotated[int | None, typer.Option(min=1, help="Evaluate only the first N samples of the split.",
                                                    show_default=False)] = None,
    fail_on_collapse: Annotated[bool, typer.Option("--fail-on-collapse", help="Exit with code 3 when the model "
                                                                              "collapsed.")] = False,
) -> None:
    """Evaluate a model on a split beside baselines; writes JSON + Markdown; flags collapsed models."""
    _need_torch()
    from lasps.ml.evaluation import evaluate_checkpoint, print_report

    if split not in ("train", "val", "test"):
        raise ConfigError(f"unknown split {split!r}", where="--split", fix="use train, val or test")
    report = evaluate_checkpoint(checkpoint, data, split, out_dir=out, device=device, batch_size=batch_size,
                                 max_samples=max_samples)
    print_report(report, console)
    files = report.get("files", {})
    console.print(f"[dim]wrote {escape(files.get('json', ''))}, {escape(files.get('markdown', ''))}[/]")
    if report["collapsed"] and fail_on_collapse:
        raise typer.Exit(code=3)


@app.command("predict")
@handle_errors
def predict_cmd(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="A run's model.pt (or the run directory).",
                                             show_default=False)],
    date: Annotated[str | None, typer.Option("--date", help="Session to predict (YYYY-MM-DD); default: the last "
                                                            "stored session.", show_default=False)] = None,
    model_name: Annotated[str | None, typer.Option("--model-name", help="Name stored with the predictions "
                                                                        "(default: the run directory's name).",
                                                   show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Directory for the Parquet file (default "
                                                           "HOME/predictions/MODEL).", show_default=False)] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    top: Annotated[int, typer.Option(min=0, help="Rows to print.")] = 20,
    universe: Annotated[str | None, typer.Option(help="Override the dataset's universe.", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Predict even with a model its evaluation calls "
                                                        "collapsed (the output says so).")] = False,
    home: HomeOption = None,
) -> None:
    """Predict every stock on a date; store the rows in DuckDB (table predictions) and Parquet.

    A model whose evaluation (``eval_test.json``) says *collapsed* is refused unless ``--force``.
    """
    _need_torch()
    from lasps.ml.predictor import predict_date

    ws = workspace_for(home)
    res = predict_date(checkpoint, date, ws.home, model_name=model_name, device=device, universe=universe,
                       parquet_dir=out, force=force)
    if res.warning:
        console.print(f"[bold red]{escape(res.warning)}[/]")
    f = res.frame
    table = Table(title=f"{res.model} on {res.date}: {len(f):,} stocks (best score first)", title_justify="left",
                  header_style="bold")
    cols = ["rank", "code", "name", "sector_name", "pred_class", "score"]
    cols += ["p_sell", "p_hold", "p_buy"] if f["p_buy"].notna().any() else ["pred_return"]
    for c in cols:
        table.add_column(c, justify="right" if c in ("rank", "score", "p_sell", "p_hold", "p_buy", "pred_return")
                         else "left")
    for rec in f.head(top).itertuples(index=False):
        table.add_row(*[_fmt(getattr(rec, c)) if c not in ("rank",) else str(getattr(rec, c)) for c in cols])
    if top:
        console.print(table)
    console.print(f"[dim]skipped: {', '.join(f'{k} {v}' for k, v in res.dropped.items() if v) or 'none'}[/]")
    console.print(f"[bold green]stored[/] {len(f):,} rows in {escape(str(ws.db_path))} "
                  f"(table predictions) and {escape(str(res.parquet))}")
