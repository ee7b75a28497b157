"""A learnable toy dataset written directly in the memmap layout of :mod:`lasps.ml.dataset`.

Windows are Gaussian noise except feature ``signal_feature``, which holds a per-sample level
``s ~ N(0, 1)`` (+ noise) on every row; the label is SELL / HOLD / BUY for ``s`` below −0.43 / between /
above 0.43 (tertiles), and the forward return is ``0.04 · s`` + small noise — a tiny model learns it in a
few epochs. Sectors cycle over the 13 ids; ``per_date`` samples share a date.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lasps.ml import dataset as layout
from lasps.ml.features import FEATURE_NAMES


def make_toy_dataset(root: Path, n: int = 900, seed: int = 0, per_date: int = 30, signal_feature: int = 3,
                     fractions: tuple[float, float] = (0.6, 0.2), horizon: int = 5) -> Path:
    rng = np.random.default_rng(seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    windows = rng.normal(0.0, 1.0, (n, 60, 28)).astype(np.float32)
    s = rng.normal(0.0, 1.0, n)
    windows[:, :, signal_feature] = (s[:, None] + rng.normal(0.0, 0.3, (n, 60))).astype(np.float32)
    ret = (0.04 * s + rng.normal(0, 0.005, n)).astype(np.float32)
    labels = np.where(s < -0.43, 0, np.where(s > 0.43, 2, 1)).astype(np.int8)
    multi = (ret[:, None] * np.linspace(0.2, 1.0, horizon)[None, :]).astype(np.float32)
    sectors = (np.arange(n) % 13).astype(np.int8)
    price = 1000.0 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, 60)), axis=1))
    ohlcv = np.stack([price, price * 1.01, price * 0.99, price, rng.uniform(1e3, 5e3, (n, 60))], axis=2)
    arrays = {"windows": windows, "ohlcv": ohlcv.astype(np.float32), "labels": labels, "returns": ret,
              "returns_multi": multi, "sector_ids": sectors, "flow_mask": np.ones(n, dtype=np.uint8)}
    for name, a in arrays.items():
        np.save(root / f"{name}.npy", a.astype(layout.ARRAYS[name][0]))
    n_train, n_val = int(n * fractions[0]), int(n * fractions[1])
    split = np.array(["train"] * n_train + ["val"] * n_val + ["test"] * (n - n_train - n_val))
    dates = pd.bdate_range("2024-01-01", periods=-(-n // per_date)).values.astype("datetime64[D]")
    codes = [f"{100000 + (i % per_date):06d}" for i in range(n)]
    meta = pd.DataFrame({"row": np.arange(n), "code": codes, "date": np.repeat(dates, per_date)[:n],
                         "sector_id": sectors, "split": split})
    meta.to_parquet(root / layout.METADATA)
    manifest = {
        "format": layout.FORMAT, "version": layout.FORMAT_VERSION, "n": n, "window": 60,
        "features": list(FEATURE_NAMES),
        "arrays": {name: {"file": f"{name}.npy", "shape": list(a.shape), "dtype": layout.ARRAYS[name][0]}
                   for name, a in arrays.items()},
        "labels": {"horizon": horizon, "buy": 0.03, "sell": -0.03, "entry": "open", "lag": horizon + 1},
        "splits": {"counts": {"train": n_train, "val": n_val, "test": n - n_train - n_val}},
        "source": {"universe": "default"},
        "fingerprint": f"toy-{seed}",
    }
    (root / layout.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return root


def tiny_config(run_dir: Path, data_dir: Path, *, kind: str = "fusion", task: str = "classification",
                chart: bool = False, phases: list[tuple[int, int, float]] | None = None, batch_size: int = 16,
                max_train_batches: int = 4, accumulation: int = 1, **sections: dict) -> dict:
    """A run config (as a dict) for a model small enough to train in well under a second per epoch."""
    cfg: dict = {
        "run": {"dir": str(run_dir), "seed": 3, "threads": 1},
        "data": {"dir": str(data_dir), "batch_size": batch_size, "eval_batch_size": 64,
                 "max_train_batches": max_train_batches},
        "model": {"kind": kind, "task": task, "use_chart": chart, "chart_channels": [2, 4, 4, 4],
                  "embed_dim": 16, "head_hidden": 8,
                  "fusion": {"d_model": 16, "layers": 1, "heads": 2, "d_ff": 32},
                  "patchtst": {"d_model": 8, "layers": 1, "heads": 2, "d_ff": 16}},
        "optim": {"accumulation_steps": accumulation, "warmup_frac": 0.25},
        "phases": [{"phase": p, "epochs": e, "lr": lr} for p, e, lr in (phases or [(1, 2, 3e-3), (2, 1, 3e-3),
                                                                                 (3, 1, 1e-3)])],
    }
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    return cfg


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a test with one torch thread: on the shared 2-core CI box, contended OpenMP threads make tiny
    models 20× slower."""
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)
