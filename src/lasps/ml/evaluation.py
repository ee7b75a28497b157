"""The evaluation report of a trained model on one split (``lasps ml evaluate``; needs torch).

``evaluate_checkpoint(path, data_dir, split)`` runs the model over the split and writes
``eval_{split}.json`` and ``eval_{split}.md`` into the run directory. Every number stands beside a
baseline, because the work log's numbers without one were illusions:

* **classification**: accuracy, balanced accuracy, macro-F1, per-class F1, confusion matrix (rows =
  true), true and predicted share per class. Regression models are scored here too, through the
  classes their predicted returns imply at the dataset's ±3 % thresholds (that is how the work
  log's regression model reached "51.7 %": it predicted HOLD for 100 % of samples).
* **loss**: cross-entropy beside ln 3 (a uniform guess) and the train class prior's entropy and
  cross-entropy on this split (a constant guess of the label frequencies);
* **regression** (regression / multi-step): MSE, MAE, prediction spread vs target spread
  (``spread_ratio`` = std(pred) / std(target); the work log's was 0.27 % / 7.73 % = 0.035);
* **baselines**: majority class, class prior, and a logistic regression (ridge for regression
  tasks) on the 28 last-day features, fitted on train;
* **scores**: score = P(BUY) − P(SELL) (or the predicted return): per-date Spearman IC (mean, std,
  t, ICIR, pooled) and mean forward return per score decile (top − bottom, monotonicity);
* **embedding**: mean pairwise cosine similarity, effective rank and the dimensions holding 99 % of
  the variance of the shared embedding that feeds the heads;
* **sectors**: per-sector n, accuracy, macro-F1, pooled IC and the predicted share of the top class.

``collapsed: true`` (with ``collapse_reasons``) when one class takes more than 95 % of predictions or
the embeddings' mean cosine similarity exceeds 0.95 (:func:`lasps.ml.metrics.collapse_check`); the CLI
then prints a red panel.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from lasps.data.sectors import NUM_SECTORS, SECTOR_NAMES
from lasps.errors import ConfigError
from lasps.files import atomic_write_text, write_json
from lasps.ml import metrics
from lasps.ml.checkpoint import load_model
from lasps.ml.dataset import MLDataset
from lasps.ml.labels import CLASS_NAMES
from lasps.ml.models import SectorAwareModel
from lasps.ml.torch_data import WindowDataset
from lasps.ml.train_config import TrainConfig
from lasps.ml.trainer import resolve_device

REPORT_FORMAT = "lasps-ml-eval"


@dataclass
class SplitOutputs:
    """Model outputs over one split, aligned row by row.

    ``out`` ``(n, out_dim)`` raw outputs (logits or returns), ``emb`` ``(n, embed_dim)`` shared embedding,
    ``rows`` ``(n,)`` dataset rows, ``labels``/``returns``/``sectors`` ``(n,)``, ``last`` ``(n, 28)``
    last-day normalised features (the linear baselines' input).
    """

    rows: np.ndarray
    out: np.ndarray
    emb: np.ndarray
    labels: np.ndarray
    returns: np.ndarray
    sectors: np.ndarray
    last: np.ndarray


@torch.no_grad()
def collect_outputs(model: SectorAwareModel, data_dir: str | Path, split: str, *, phase: int,
                    device: torch.device | str = "cpu", batch_size: int = 256, max_samples: int | None = None,
                    num_workers: int = 0) -> SplitOutputs:
    """Run ``model`` (eval mode) over ``split`` in dataset order; see :class:`SplitOutputs`."""
    from torch.utils.data import DataLoader, Subset

    device = torch.device(device)
    ds = WindowDataset(data_dir, split, charts=bool(model.uses_chart))
    n = len(ds) if max_samples is None else min(len(ds), max_samples)
    g = torch.Generator()
    g.manual_seed(0)
    loader = DataLoader(Subset(ds, range(n)), batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        generator=g, pin_memory=device.type == "cuda")
    model.eval()
    outs, embs, rows, labels, rets, secs, last = [], [], [], [], [], [], []
    for batch in loader:
        ts = batch["ts"].to(device)
        chart = batch["chart"].to(device) if "chart" in batch else None
        sector = batch["sector"].to(device)
        out, emb = model.forward_with_embedding(ts, chart, sector, phase)
        outs.append(out.float().cpu().numpy())
        embs.append(emb.float().cpu().numpy())
        rows.append(batch["index"].numpy())
        labels.append(batch["label"].numpy())
        rets.append(batch["ret"].numpy())
        secs.append(batch["sector"].numpy())
        last.append(batch["ts"][:, -1, :].numpy())

    def cat(parts: list[np.ndarray], shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(shape, dtype=dtype)

    return SplitOutputs(rows=cat(rows, (0,), np.int64), out=cat(outs, (0, model.out_dim), np.float32),
                        emb=cat(embs, (0, model.embed_dim), np.float32), labels=cat(labels, (0,), np.int64),
                        returns=cat(rets, (0,), np.float32), sectors=cat(secs, (0,), np.int64),
                        last=cat(last, (0, 28), np.float32))


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(n, k)`` logits (float64)."""
    z = np.asarray(x, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def scores_from_outputs(out: np.ndarray, task: str) -> tuple[np.ndarray | None, np.ndarray]:
    """``(probs (n, 3) or None, score (n,))``: P(BUY) − P(SELL), or the predicted (h-day) return."""
    if task == "classification":
        p = softmax(out)
        return p, p[:, 2] - p[:, 0]
    return None, np.asarray(out[:, -1], dtype=np.float64)


def _train_reference(ds: MLDataset, max_rows: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train labels (all rows), and last-day features ``(m, 28)``, returns and labels of a seeded subsample
    of at most ``max_rows`` train rows (the linear baselines' training data)."""
    rows = ds.rows("train")
    labels = np.asarray(ds.array("labels")).astype(np.int64)
    sub = rows
    if len(rows) > max_rows:
        sub = np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))
    x = np.asarray(ds.array("windows")[sub, -1, :], dtype=np.float64)
    r = np.asarray(ds.array("returns"))[sub].astype(np.float64)
    return labels[rows], x, r, labels[sub]


def build_report(model: SectorAwareModel, cfg: TrainConfig, data_dir: str | Path, split: str = "test", *,
                 phase: int, device: torch.device | str = "cpu", batch_size: int = 256,
                 max_samples: int | None = None, baseline_rows: int = 200_000, seed: int = 0,
                 source: str = "") -> dict[str, Any]:
    """Compute the report dict (see module docstring) without writing anything."""
    ds = MLDataset(data_dir)
    if len(ds.rows(split)) == 0:
        raise ConfigError(f"split {split!r} of {data_dir} is empty", where="--split", fix="choose train, val or test")
    o = collect_outputs(model, data_dir, split, phase=phase, device=device, batch_size=batch_size,
                        max_samples=max_samples)
    task = cfg.model.task
    labels_meta = ds.manifest.get("labels", {})
    buy, sell = float(labels_meta.get("buy", 0.03)), float(labels_meta.get("sell", -0.03))
    train_labels, x_train, r_train, y_train = _train_reference(ds, baseline_rows, seed)
    meta = ds.metadata
    dates = meta["date"].to_numpy()[o.rows]
    probs, score = scores_from_outputs(o.out, task)
    pred_cls = probs.argmax(axis=1) if probs is not None else metrics.classes_from_returns(score, buy, sell)
    cls = metrics.classification_metrics(o.labels, pred_cls)

    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "version": 1,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "checkpoint": source,
        "data": str(Path(data_dir)),
        "split": split,
        "n": len(o.rows),
        "model": cfg.model.kind,
        "task": task,
        "phase": int(phase),
        "head": "common" if phase == 1 else "sector",
        "classification": cls,
        "classification_note": ("argmax of the probabilities" if probs is not None else
                                f"classes implied by the predicted {ds.horizon}-day return at sell {sell:+.0%} / "
                                f"buy {buy:+.0%}"),
    }
    report["loss"] = metrics.loss_reference(probs, o.labels, train_labels)
    baselines: dict[str, Any] = {
        "majority": metrics.majority_baseline(train_labels, o.labels),
        "prior": metrics.prior_baseline(train_labels, o.labels, seed),
    }
    if task == "classification":
        logit = metrics.logistic_baseline(x_train, y_train, o.last, o.labels, seed)
        p = logit.pop("probs", None)
        if p is not None:
            logit["ic"] = metrics.rank_ic(p[:, 2] - p[:, 0], o.returns, dates)["mean"]
        baselines["logistic"] = logit
    else:
        pred = np.asarray(score, dtype=np.float64)
        target = o.returns.astype(np.float64)
        reg = metrics.regression_metrics(pred, target)
        if task == "multistep":
            multi = np.asarray(ds.array("returns_multi"))[o.rows].astype(np.float64)
            reg["mse_per_step"] = [float(v) for v in np.mean((o.out.astype(np.float64) - multi) ** 2, axis=0)]
        report["regression"] = reg
        ridge = metrics.ridge_baseline(x_train, r_train, o.last)
        rm = metrics.regression_metrics(ridge, target)
        baselines["zero"] = {"mse": float(np.mean(target**2))}
        baselines["train_mean"] = {"mse": float(np.mean((target - r_train.mean()) ** 2)) if len(r_train) else None}
        baselines["ridge"] = {"mse": rm["mse"], "spread_ratio": rm.get("spread_ratio"),
                              "ic": metrics.rank_ic(ridge, target, dates)["mean"]}
        report["loss"].update(mse=reg["mse"], zero_mse=baselines["zero"]["mse"])
    report["baselines"] = baselines
    report["scores"] = {
        "definition": "P(BUY) - P(SELL)" if probs is not None else f"predicted {ds.horizon}-day return",
        "ic": metrics.rank_ic(score, o.returns, dates),
        "deciles": metrics.decile_returns(score, o.returns, dates),
        "score_std": float(np.std(score)) if len(score) else float("nan"),
    }
    report["embedding"] = metrics.embedding_diagnostics(o.emb, seed=seed)
    report["sectors"] = _sector_table(o, pred_cls, score, dates)
    collapsed, reasons = metrics.collapse_check(cls["predicted_share"], report["embedding"]["mean_cosine_similarity"])
    report["collapsed"] = collapsed
    report["collapse_reasons"] = reasons
    report["warnings"] = _warnings(report)
    return report


def _sector_table(o: SplitOutputs, pred: np.ndarray, score: np.ndarray, dates: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for s in range(NUM_SECTORS):
        m = o.sectors == s
        k = int(m.sum())
        if not k:
            continue
        c = metrics.classification_metrics(o.labels[m], pred[m])
        top = max(c["predicted_share"].items(), key=lambda kv: kv[1])
        true_major = max(c["true_share"].values())
        ic = metrics.rank_ic(score[m], o.returns[m], np.zeros(k, dtype=np.int64))["pooled"] if k >= 3 else float("nan")
        out.append({"sector_id": s, "name": SECTOR_NAMES[s], "n": k, "accuracy": c["accuracy"],
                    "macro_f1": c["macro_f1"], "majority_share": float(true_major), "ic_pooled": ic,
                    "top_predicted": top[0], "top_predicted_share": float(top[1])})
    return out


def _warnings(r: dict[str, Any]) -> list[str]:
    w: list[str] = []
    loss = r["loss"]
    if "cross_entropy" in loss:
        if not loss["beats_ln3"]:
            w.append(f"loss {loss['cross_entropy']:.4f} is not below ln 3 = {metrics.LN3:.4f}: no better than a "
                     "uniform guess")
        elif not loss["beats_prior"]:
            w.append(f"loss {loss['cross_entropy']:.4f} is not below the class prior's "
                     f"{loss['prior_cross_entropy']:.4f}: nothing learned beyond label frequencies")
    acc = r["classification"]["accuracy"]
    maj = r["baselines"]["majority"]["accuracy"]
    if math.isfinite(acc) and math.isfinite(maj) and acc <= maj:
        w.append(f"accuracy {acc:.3f} does not beat always predicting {r['baselines']['majority']['class']} "
                 f"({maj:.3f})")
    reg = r.get("regression")
    if reg and math.isfinite(reg.get("spread_ratio", float("nan"))) and reg["spread_ratio"] < metrics.MIN_SPREAD_RATIO:
        w.append(f"prediction spread is {reg['spread_ratio']:.3f} of the target's (std {reg['pred_std']:.4f} vs "
                 f"{reg['target_std']:.4f}): the model predicts the mean")
    ic = r["scores"]["ic"]
    if ic["n_dates"] > 1 and math.isfinite(ic["t"]) and abs(ic["t"]) < 2:
        w.append(f"score IC {ic['mean']:+.4f} (t = {ic['t']:.2f}) is not significant")
    return w


def write_report(report: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``eval_{split}.json`` and ``eval_{split}.md`` into ``out_dir`` (atomically each)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    js = out / f"eval_{report['split']}.json"
    md = out / f"eval_{report['split']}.md"
    write_json(js, report)
    atomic_write_text(md, render_markdown(report))
    return js, md


def evaluate_checkpoint(checkpoint: str | Path, data_dir: str | Path | None = None, split: str = "test", *,
                        out_dir: str | Path | None = None, device: str = "auto", batch_size: int = 256,
                        max_samples: int | None = None, write: bool = True) -> dict[str, Any]:
    """Load a model file (or ``checkpoint.pt``), build its report on ``split`` and write it.

    ``data_dir`` defaults to the run's dataset; ``out_dir`` to the checkpoint's directory.
    The written paths are in ``report["files"]``.
    """
    dev = resolve_device(device)
    model, cfg, obj = load_model(checkpoint, dev)
    data = Path(data_dir) if data_dir is not None else Path(cfg.data.dir)
    report = build_report(model, cfg, data, split, phase=int(obj.get("phase", 1)), device=dev,
                          batch_size=batch_size, max_samples=max_samples, seed=cfg.run.seed, source=str(checkpoint))
    if write:
        ck = Path(checkpoint)
        js, md = write_report(report, out_dir if out_dir is not None else (ck if ck.is_dir() else ck.parent))
        report["files"] = {"json": str(js), "markdown": str(md)}
    return report


# ------------------------------------------------------------------------------------------------
# rendering
# ------------------------------------------------------------------------------------------------
def _p(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _pct(x: Any) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.1%}"


def render_markdown(r: dict[str, Any]) -> str:
    """The report as Markdown (headline, collapse banner, tables)."""
    L: list[str] = [f"# Evaluation — {r['model']} ({r['task']}), split `{r['split']}`", ""]
    L.append(f"- checkpoint: `{r['checkpoint']}`  \n- data: `{r['data']}`  \n- samples: {r['n']:,}  \n"
             f"- head: {r['head']} (phase {r['phase']})  \n- created: {r['created_utc']}")
    L.append("")
    if r["collapsed"]:
        L.append("> **⚠ COLLAPSED MODEL — its metrics are not evidence of skill.**")
        for reason in r["collapse_reasons"]:
            L.append(f"> - {reason}")
        L.append("")
    if r["warnings"]:
        L.append("## Warnings")
        L.extend(f"- {w}" for w in r["warnings"])
        L.append("")
    c = r["classification"]
    b = r["baselines"]
    L += ["## Classification vs baselines", "", f"({r['classification_note']})", "",
          "| | accuracy | balanced acc. | macro-F1 | cross-entropy |", "|---|---:|---:|---:|---:|",
          f"| model | {_p(c['accuracy'])} | {_p(c['balanced_accuracy'])} | {_p(c['macro_f1'])} | "
          f"{_p(r['loss'].get('cross_entropy'))} |",
          f"| majority ({b['majority']['class']}) | {_p(b['majority']['accuracy'])} | "
          f"{_p(b['majority']['balanced_accuracy'])} | {_p(b['majority']['macro_f1'])} | – |",
          f"| class prior | {_p(b['prior']['accuracy'])} | {_p(b['prior']['balanced_accuracy'])} | "
          f"{_p(b['prior']['macro_f1'])} | {_p(b['prior']['cross_entropy'])} |"]
    lg = b.get("logistic")
    if lg and lg.get("available"):
        L.append(f"| logistic (last-day features) | {_p(lg['accuracy'])} | {_p(lg['balanced_accuracy'])} | "
                 f"{_p(lg['macro_f1'])} | {_p(lg['cross_entropy'])} |")
    L.append("")
    loss = r["loss"]
    L.append(f"Reference losses: ln 3 = {_p(loss['ln3'])}; train prior entropy = {_p(loss['prior_entropy'])}; "
             f"prior cross-entropy on this split = {_p(loss['prior_cross_entropy'])}.")
    L += ["", "| class | F1 | true share | predicted share |", "|---|---:|---:|---:|"]
    for name in CLASS_NAMES:
        L.append(f"| {name} | {_p(c['per_class_f1'][name])} | {_pct(c['true_share'][name])} | "
                 f"{_pct(c['predicted_share'][name])} |")
    L += ["", "Confusion matrix (rows true, columns predicted):", "", "| | " + " | ".join(CLASS_NAMES) + " |",
          "|---|---:|---:|---:|"]
    for i, name in enumerate(CLASS_NAMES):
        L.append(f"| {name} | " + " | ".join(str(v) for v in c["confusion"][i]) + " |")
    L.append("")
    reg = r.get("regression")
    if reg:
        L += ["## Regression", "", "| | MSE | MAE | pred std | target std | spread ratio | corr | direction acc. |",
              "|---|---:|---:|---:|---:|---:|---:|---:|",
              f"| model | {_p(reg['mse'], 6)} | {_p(reg['mae'], 5)} | {_p(reg['pred_std'], 5)} | "
              f"{_p(reg['target_std'], 5)} | {_p(reg['spread_ratio'], 3)} | {_p(reg['corr'], 4)} | "
              f"{_p(reg['direction_accuracy'], 3)} |",
              f"| predict 0 | {_p(b['zero']['mse'], 6)} | | | | | | |",
              f"| ridge (last-day features) | {_p(b['ridge']['mse'], 6)} | | | | "
              f"{_p(b['ridge']['spread_ratio'], 3)} | | |",
              ""]
        if "mse_per_step" in reg:
            L += ["MSE per step: " + ", ".join(_p(v, 6) for v in reg["mse_per_step"]), ""]
    s = r["scores"]
    ic = s["ic"]
    L += [f"## Scores ({s['definition']})", "",
          f"IC (per-date Spearman): mean {_p(ic['mean'])}, std {_p(ic['std'])}, t {_p(ic['t'], 2)}, "
          f"ICIR {_p(ic['icir'], 3)}, dates {ic['n_dates']}, pooled {_p(ic['pooled'])}.", ""]
    d = s["deciles"]
    L += ["| decile | " + " | ".join(str(i + 1) for i in range(d["q"])) + " |",
          "|---|" + "---:|" * d["q"],
          "| mean return | " + " | ".join(_pct(v) for v in d["mean_return"]) + " |", "",
          f"Top − bottom: {_pct(d['top_minus_bottom'])}; monotonicity {_p(d['monotonicity'], 3)}.", ""]
    e = r["embedding"]
    L += ["## Embedding", "", f"- mean pairwise cosine similarity: {_p(e['mean_cosine_similarity'])} "
          f"(collapse above {metrics.MAX_MEAN_COSINE})",
          f"- effective rank: {_p(e['effective_rank'], 2)} of {e['dim']}",
          f"- dimensions for 99% of the variance: {e['dims_99pct_variance']}", ""]
    L += ["## Sectors", "", "| id | sector | n | accuracy | majority share | macro-F1 | IC (pooled) | top predicted |",
          "|---:|---|---:|---:|---:|---:|---:|---|"]
    for row in r["sectors"]:
        L.append(f"| {row['sector_id']} | {row['name']} | {row['n']:,} | {_p(row['accuracy'], 3)} | "
                 f"{_p(row['majority_share'], 3)} | {_p(row['macro_f1'], 3)} | {_p(row['ic_pooled'], 4)} | "
                 f"{row['top_predicted']} {_pct(row['top_predicted_share'])} |")
    L.append("")
    return "\n".join(L)


def print_report(r: dict[str, Any], console: Console) -> None:
    """Rich tables for the terminal; a red panel first when the model collapsed."""
    if r["collapsed"]:
        console.print(Panel("\n".join(f"• {escape(x)}" for x in r["collapse_reasons"]),
                            title="[bold]COLLAPSED MODEL — metrics are not evidence of skill[/]",
                            border_style="bold red", style="red"))
    c, b, loss = r["classification"], r["baselines"], r["loss"]
    t = Table(title=f"{r['model']} ({r['task']}) on {r['split']}: {r['n']:,} samples, {r['head']} head",
              title_justify="left", header_style="bold")
    for col in ("", "accuracy", "balanced", "macro-F1", "loss"):
        t.add_column(col, justify="left" if not col else "right")
    t.add_row("model", _p(c["accuracy"]), _p(c["balanced_accuracy"]), _p(c["macro_f1"]),
              _p(loss.get("cross_entropy", loss.get("mse")), 4 if "cross_entropy" in loss else 6))
    t.add_row(f"majority ({b['majority']['class']})", _p(b["majority"]["accuracy"]),
              _p(b["majority"]["balanced_accuracy"]), _p(b["majority"]["macro_f1"]), "")
    t.add_row("class prior", _p(b["prior"]["accuracy"]), _p(b["prior"]["balanced_accuracy"]),
              _p(b["prior"]["macro_f1"]), _p(b["prior"]["cross_entropy"]))
    lg = b.get("logistic")
    if lg and lg.get("available"):
        t.add_row("logistic", _p(lg["accuracy"]), _p(lg["balanced_accuracy"]), _p(lg["macro_f1"]),
                  _p(lg["cross_entropy"]))
    if "ridge" in b:
        t.add_row("ridge / predict 0", "", "", "", f"{_p(b['ridge']['mse'], 6)} / {_p(b['zero']['mse'], 6)}")
    console.print(t)
    console.print(f"ln 3 = {metrics.LN3:.4f} · prior entropy {loss['prior_entropy']:.4f} · prior loss "
                  f"{loss['prior_cross_entropy']:.4f} · predicted share "
                  + ", ".join(f"{k} {_pct(v)}" for k, v in c["predicted_share"].items())
                  + " · true share " + ", ".join(f"{k} {_pct(v)}" for k, v in c["true_share"].items()),
                  highlight=False)
    reg = r.get("regression")
    if reg:
        console.print(f"regression: MSE {_p(reg['mse'], 6)} · pred std {_p(reg['pred_std'], 5)} vs target std "
                      f"{_p(reg['target_std'], 5)} (ratio {_p(reg['spread_ratio'], 3)}) · corr {_p(reg['corr'])}",
                      highlight=False)
    ic, d, e = r["scores"]["ic"], r["scores"]["deciles"], r["embedding"]
    console.print(f"score {escape(r['scores']['definition'])}: IC {_p(ic['mean'])} (t {_p(ic['t'], 2)}, "
                  f"{ic['n_dates']} dates) · deciles top−bottom {_pct(d['top_minus_bottom'])} · embedding cosine "
                  f"{_p(e['mean_cosine_similarity'], 3)}, effective rank {_p(e['effective_rank'], 1)}/{e['dim']}",
                  highlight=False)
    st = Table(title="per sector", title_justify="left", header_style="bold")
    for col in ("sector", "n", "accuracy", "majority", "macro-F1", "IC", "top predicted"):
        st.add_column(col, justify="left" if col in ("sector", "top predicted") else "right")
    for row in r["sectors"]:
        st.add_row(f"{row['sector_id']} {row['name']}", f"{row['n']:,}", _p(row["accuracy"], 3),
                   _p(row["majority_share"], 3), _p(row["macro_f1"], 3), _p(row["ic_pooled"], 3),
                   f"{row['top_predicted']} {_pct(row['top_predicted_share'])}")
    console.print(st)
    for w in r["warnings"]:
        console.print(f"[yellow]warning:[/] {escape(w)}")


def report_frame(r: dict[str, Any]) -> pd.DataFrame:
    """The headline numbers of a report as a one-row frame (for comparing runs)."""
    return pd.DataFrame([{
        "model": r["model"], "task": r["task"], "split": r["split"], "n": r["n"],
        "accuracy": r["classification"]["accuracy"], "macro_f1": r["classification"]["macro_f1"],
        "loss": r["loss"].get("cross_entropy", r["loss"].get("mse")), "ic": r["scores"]["ic"]["mean"],
        "collapsed": r["collapsed"],
    }])
