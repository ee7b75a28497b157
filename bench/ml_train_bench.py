"""Benchmark: training and inference throughput (samples/s) of the LASPS models.

Usage::

    python bench/ml_train_bench.py [--models fusion,fusion-ts,patchtst,patchtst-chart]
                                   [--batch-sizes 32,128] [--steps 5] [--warmup 2]
                                   [--devices auto|cpu|cuda|cpu,cuda] [--threads N]
                                   [--loader DATASET_DIR --workers 0,2] [--json OUT]

For each model × batch size × device: full-size default architecture (DESIGN §8), a synthetic batch
(``ts (B, 60, 28)`` normal, ``chart (B, 3, 224, 224)`` uint8, random sectors) already on the device.

* **train** = forward + class-weighted cross-entropy + backward + gradient clipping + AdamW step
  through the sector heads (phase 3: backbone and heads trainable), with AMP (fp16 autocast +
  GradScaler) on CUDA, as :mod:`lasps.ml.trainer` does;
* **infer** = ``eval()`` + ``no_grad`` forward (AMP on CUDA).

``--warmup`` untimed steps, then ``--steps`` timed ones (CUDA synchronised). Models:
``fusion`` (transformer + ChartCNN), ``fusion-ts`` (no chart branch), ``patchtst``,
``patchtst-chart``. ``--loader DIR`` also times the input pipeline (``WindowDataset`` with charts
rendered on the fly + ``DataLoader``) for each ``--workers`` count. Not a test; results go to
``docs/ml-models.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from lasps.ml.models import build_model
from lasps.ml.train_config import ModelConfig

MODELS: dict[str, dict[str, Any]] = {
    "fusion": {"kind": "fusion", "use_chart": True},
    "fusion-ts": {"kind": "fusion", "use_chart": False},
    "patchtst": {"kind": "patchtst", "use_chart": False},
    "patchtst-chart": {"kind": "patchtst", "use_chart": True},
}


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def bench_model(name: str, batch: int, dev: torch.device, steps: int, warmup: int) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(**MODELS[name])).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    ts = torch.randn(batch, 60, 28, device=dev)
    chart = torch.randint(0, 256, (batch, 3, 224, 224), dtype=torch.uint8, device=dev) if model.uses_chart else None
    sector = torch.randint(0, 13, (batch,), device=dev)
    label = torch.randint(0, 3, (batch,), device=dev)
    weights = torch.tensor([1.2, 0.7, 1.4], device=dev)
    amp = dev.type == "cuda"
    model.configure_phase(3)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    def ctx() -> Any:
        return torch.autocast("cuda", dtype=torch.float16) if amp else torch.autocast("cpu", enabled=False)

    def train_step() -> None:
        with ctx():
            out = model(ts, chart, sector, 3)
        loss = torch.nn.functional.cross_entropy(out.float(), label, weight=weights)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)

    model.train_for_phase(3)
    for _ in range(warmup):
        train_step()
    _sync(dev)
    t = time.perf_counter()
    for _ in range(steps):
        train_step()
    _sync(dev)
    train_s = time.perf_counter() - t

    model.eval()
    with torch.no_grad():
        for _ in range(warmup):
            with ctx():
                model(ts, chart, sector, 3)
        _sync(dev)
        t = time.perf_counter()
        for _ in range(steps):
            with ctx():
                model(ts, chart, sector, 3)
        _sync(dev)
        infer_s = time.perf_counter() - t
    return {"model": name, "device": str(dev), "batch": batch, "params": n_params, "amp": amp,
            "train_samples_per_s": steps * batch / train_s, "infer_samples_per_s": steps * batch / infer_s,
            "train_step_ms": 1000 * train_s / steps, "infer_step_ms": 1000 * infer_s / steps}


def bench_loader(root: str, batch: int, workers: int, batches: int) -> dict[str, Any]:
    from lasps.ml.torch_data import WindowDataset, make_loader

    ds = WindowDataset(root, "train", charts=True)
    loader = make_loader(ds, batch_size=batch, num_workers=workers, seed=0)
    it = iter(loader)
    next(it)  # worker start-up and first batch
    t = time.perf_counter()
    n = 0
    for _ in range(batches):
        try:
            n += int(next(it)["ts"].shape[0])
        except StopIteration:
            break
    s = time.perf_counter() - t
    return {"workers": workers, "batch": batch, "samples_per_s": n / s if s > 0 else float("nan"), "samples": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="fusion,fusion-ts,patchtst,patchtst-chart")
    ap.add_argument("--batch-sizes", default="32,128")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--devices", default="auto", help="auto = cpu, plus cuda when available")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = default)")
    ap.add_argument("--loader", default=None, help="dataset directory: also time the input pipeline")
    ap.add_argument("--workers", default="0,2")
    ap.add_argument("--loader-batches", type=int, default=20)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devs = ["cpu", "cuda"] if args.devices == "auto" else args.devices.split(",")
    devices = [torch.device(d) for d in devs if d != "cuda" or torch.cuda.is_available()]
    console = Console(width=None if sys.stdout.isatty() else 150)
    rows = []
    for dev in devices:
        for name in args.models.split(","):
            for b in (int(x) for x in args.batch_sizes.split(",")):
                console.print(f"[dim]{name} batch {b} on {dev} …[/]")
                rows.append(bench_model(name, b, dev, args.steps, args.warmup))
    table = Table(title=f"training / inference throughput ({platform.processor() or platform.machine()}, "
                        f"{torch.get_num_threads()} torch threads, load {os.getloadavg()[0]:.1f})",
                  title_justify="left", header_style="bold")
    for c in ("model", "params", "device", "batch", "train samples/s", "train ms/step", "infer samples/s",
              "infer ms/step"):
        table.add_column(c, justify="left" if c in ("model", "device") else "right")
    for r in rows:
        table.add_row(r["model"], f"{r['params']:,}", r["device"] + (" (amp)" if r["amp"] else ""), str(r["batch"]),
                      f"{r['train_samples_per_s']:,.1f}", f"{r['train_step_ms']:,.0f}",
                      f"{r['infer_samples_per_s']:,.1f}", f"{r['infer_step_ms']:,.0f}")
    console.print(table)
    loader_rows = []
    if args.loader:
        for w in (int(x) for x in args.workers.split(",")):
            loader_rows.append(bench_loader(args.loader, 64, w, args.loader_batches))
        lt = Table(title="input pipeline (WindowDataset + charts rendered on the fly)", title_justify="left",
                   header_style="bold")
        for c in ("workers", "batch", "samples/s"):
            lt.add_column(c, justify="right")
        for r in loader_rows:
            lt.add_row(str(r["workers"]), str(r["batch"]), f"{r['samples_per_s']:,.0f}")
        console.print(lt)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"models": rows, "loader": loader_rows, "torch": str(torch.__version__),
                       "threads": torch.get_num_threads(), "loadavg": os.getloadavg()}, f, indent=2)


if __name__ == "__main__":
    main()
