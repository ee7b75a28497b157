"""PyTorch ``Dataset`` / ``DataLoader`` over a built dataset directory (needs the ``ml`` extra).

``torch`` is imported here only; :mod:`lasps.ml.features`, labels, charts, the builder and the
analyses never import it.

Items are dicts of tensors (batched by the default collate into the same keys)::

    "ts"       (60, 28) float32   normalised feature window
    "chart"    (3, 224, 224)      candlestick + volume image rendered on the fly from the raw OHLCV
                                  window (uint8 0..255, or float32 0..1 with ``chart_dtype="float"``);
                                  absent with ``charts=False``
    "sector"   ()  int64          LASPS sector id 0..12
    "label"    ()  int64          0 SELL / 1 HOLD / 2 BUY
    "ret"      ()  float32        h-session forward return
    "ret_multi" (h,) float32      cumulative returns r_1..r_h
    "flow_mask" () float32        1 = investor flows present on the whole window
    "index"    ()  int64          row in the dataset (== metadata.row)

Memory maps are opened lazily in each process (never pickled into workers). Charts are rendered
per item with the serial numba kernel, so fork-started ``DataLoader`` workers are safe; each worker
renders its own items, in parallel with training.

Determinism: :func:`make_loader` seeds the sampler/shuffle generator and every worker from ``seed``,
so the same seed gives the same batches in the same order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, WeightedRandomSampler

from lasps.ml.charts import render_charts
from lasps.ml.dataset import MLDataset


class WindowDataset(Dataset):  # type: ignore[type-arg]
    """Samples of one split of a dataset directory (see module docstring for the item layout).

    Parameters
    ----------
    root:
        Dataset directory (``lasps ml dataset build --out DIR``).
    split:
        ``train``, ``val``, ``test`` or ``all``.
    charts:
        Render the chart image for each item.
    chart_dtype:
        ``"uint8"`` (0..255, 4× smaller batches; convert on the device) or ``"float"`` (0..1).
    """

    def __init__(self, root: str | Path, split: str = "train", charts: bool = True,
                 chart_dtype: str = "uint8") -> None:
        if chart_dtype not in ("uint8", "float"):
            raise ValueError(f"chart_dtype must be 'uint8' or 'float', got {chart_dtype!r}")
        self.root = Path(root)
        self.split = split
        self.charts = charts
        self.chart_dtype = chart_dtype
        ds = MLDataset(self.root)
        self.indices = ds.rows(split).astype(np.int64)
        self.sector_ids = np.asarray(ds.array("sector_ids"))[self.indices].astype(np.int64)
        self.labels = np.asarray(ds.array("labels"))[self.indices].astype(np.int64)
        self.horizon = ds.horizon
        self._ds: MLDataset | None = None  # opened lazily per process

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_ds"] = None  # memmaps are reopened in the worker
        return state

    def _open(self) -> MLDataset:
        if self._ds is None:
            self._ds = MLDataset(self.root)
        return self._ds

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ds = self._open()
        row = int(self.indices[i])
        item: dict[str, torch.Tensor] = {
            "ts": torch.from_numpy(np.array(ds.array("windows")[row], dtype=np.float32)),
            "sector": torch.tensor(int(self.sector_ids[i]), dtype=torch.int64),
            "label": torch.tensor(int(self.labels[i]), dtype=torch.int64),
            "ret": torch.tensor(float(ds.array("returns")[row]), dtype=torch.float32),
            "ret_multi": torch.from_numpy(np.array(ds.array("returns_multi")[row], dtype=np.float32)),
            "flow_mask": torch.tensor(float(ds.array("flow_mask")[row]), dtype=torch.float32),
            "index": torch.tensor(row, dtype=torch.int64),
        }
        if self.charts:
            img = render_charts(np.asarray(ds.array("ohlcv")[row])[None])[0]  # (224, 224, 3) uint8
            chart = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
            item["chart"] = chart.float().div_(255.0) if self.chart_dtype == "float" else chart
        return item


def sector_weights(sector_ids: np.ndarray) -> np.ndarray:
    """``(n,)`` float64 sampling weight 1 / (count of the sample's sector), so every present sector is
    drawn equally often (the work log's 30× sector imbalance)."""
    s = np.asarray(sector_ids, dtype=np.int64)
    shift = s - s.min() if len(s) else s
    counts = np.bincount(shift)
    return 1.0 / counts[shift].astype(np.float64)


def sector_balanced_sampler(dataset: WindowDataset, num_samples: int | None = None,
                            seed: int = 0) -> WeightedRandomSampler:
    """A ``WeightedRandomSampler`` (with replacement) that balances sectors; deterministic in ``seed``."""
    g = torch.Generator()
    g.manual_seed(seed)
    w = torch.as_tensor(sector_weights(dataset.sector_ids), dtype=torch.double)
    return WeightedRandomSampler(w, num_samples=num_samples or len(dataset), replacement=True, generator=g)


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)


def make_loader(dataset: WindowDataset, batch_size: int = 64, shuffle: bool = True, balanced: bool = False,
                seed: int = 0, num_workers: int = 0, **kwargs: Any) -> DataLoader:  # type: ignore[type-arg]
    """A ``DataLoader`` over ``dataset``: shuffled (or sector-balanced when ``balanced``), seeded.

    Extra keyword arguments go to ``DataLoader`` (e.g. ``pin_memory=True``, ``drop_last=True``,
    ``persistent_workers=True``, ``multiprocessing_context="spawn"``).
    """
    g = torch.Generator()
    g.manual_seed(seed)
    sampler: Sampler[int] | None = sector_balanced_sampler(dataset, seed=seed) if balanced else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=num_workers, generator=g, worker_init_fn=_seed_worker, **kwargs)
