"""PyTorch Dataset/DataLoader over a built dataset (skipped without torch)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lasps.ml.charts import render_chart  # noqa: E402
from lasps.ml.dataset import MLDataset  # noqa: E402
from lasps.ml.torch_data import (  # noqa: E402
    WindowDataset,
    make_loader,
    sector_balanced_sampler,
    sector_weights,
)


def test_item_shapes_and_values(ml_dataset: Path) -> None:
    ds = WindowDataset(ml_dataset, "val")
    raw = MLDataset(ml_dataset)
    assert len(ds) == raw.manifest["splits"]["counts"]["val"]
    item = ds[3]
    row = int(item["index"])
    assert row == int(raw.rows("val")[3])
    assert item["ts"].shape == (60, 28) and item["ts"].dtype == torch.float32
    assert item["chart"].shape == (3, 224, 224) and item["chart"].dtype == torch.uint8
    assert item["ret_multi"].shape == (5,)
    np.testing.assert_array_equal(item["ts"].numpy(), raw.array("windows")[row])
    np.testing.assert_array_equal(item["chart"].numpy().transpose(1, 2, 0), render_chart(raw.array("ohlcv")[row]))
    assert int(item["label"]) == int(raw.array("labels")[row])
    assert int(item["sector"]) == int(raw.array("sector_ids")[row])
    f = WindowDataset(ml_dataset, "test", chart_dtype="float")[0]["chart"]
    assert f.dtype == torch.float32 and float(f.min()) >= 0.0 and float(f.max()) <= 1.0
    assert "chart" not in WindowDataset(ml_dataset, "test", charts=False)[0]
    ds[0]
    assert pickle.loads(pickle.dumps(ds))._ds is None  # memmaps are reopened in workers, never pickled


def test_loader_batches_and_determinism(ml_dataset: Path) -> None:
    ds = WindowDataset(ml_dataset, "train")
    a = next(iter(make_loader(ds, batch_size=16, seed=7)))
    b = next(iter(make_loader(ds, batch_size=16, seed=7)))
    c = next(iter(make_loader(ds, batch_size=16, seed=8)))
    assert a["ts"].shape == (16, 60, 28) and a["chart"].shape == (16, 3, 224, 224)
    assert a["label"].shape == (16,) and a["ret_multi"].shape == (16, 5)
    assert torch.equal(a["index"], b["index"]) and not torch.equal(a["index"], c["index"])


def test_sector_balanced_sampler(ml_dataset: Path) -> None:
    ds = WindowDataset(ml_dataset, "train", charts=False)
    counts = np.bincount(ds.sector_ids, minlength=13)
    present = counts > 0
    assert counts[present].max() / counts[present].min() > 2  # imbalanced to begin with
    w = sector_weights(ds.sector_ids)
    np.testing.assert_allclose(np.bincount(ds.sector_ids, weights=w)[present], 1.0)
    idx = np.array(list(sector_balanced_sampler(ds, num_samples=20000, seed=1)))
    drawn = np.bincount(ds.sector_ids[idx], minlength=13)[present] / len(idx)
    np.testing.assert_allclose(drawn, 1.0 / present.sum(), atol=0.02)
    again = np.array(list(sector_balanced_sampler(ds, num_samples=20000, seed=1)))
    np.testing.assert_array_equal(idx, again)
    batch = next(iter(make_loader(ds, batch_size=64, balanced=True, seed=3)))
    assert batch["sector"].shape == (64,)


def test_worker_processes_render_the_same_batches(ml_dataset: Path) -> None:
    ds = WindowDataset(ml_dataset, "val")
    ref = [b for b in make_loader(ds, batch_size=128, shuffle=False)]
    par = [b for b in make_loader(ds, batch_size=128, shuffle=False, num_workers=2)]
    assert len(ref) == len(par)
    for a, b in zip(ref, par, strict=True):
        assert torch.equal(a["index"], b["index"]) and torch.equal(a["chart"], b["chart"])
