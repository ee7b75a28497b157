"""Validate a dataset directory (``lasps ml dataset check DIR``).

The work log trained 13 epochs on a 465 GB chart memmap that was all zeros, and lost days to chart
files named differently from what the loader asked for. This check makes both impossible to miss:

1. **structure** — manifest present and parseable; every array file present, with the manifest's
   shape and dtype; every array and the metadata the same length ``n``;
2. **alignment** — ``metadata.row`` is exactly ``0..n-1``; its ``sector_id`` equals ``sector_ids.npy``;
   its split counts equal the manifest's; dates ascend and the splits are in date order;
3. **integrity** — the sha256 of every file equals the manifest's (one streaming pass per file);
4. **content** (same pass) — no array is all zero; no float array is constant or has NaN/inf; no label
   array holds a single class; per feature, a windows column that never varies is reported (flow
   features are expected to be 0 when the source has no flows);
5. **charts** — a seeded sample of windows is rendered; each image must have candles in the price
   panel and bars in the volume panel (never a blank image).

Every problem is collected; any error raises :class:`~lasps.ml.dataset.DatasetError` (the CLI
prints them and exits with code 2). Warnings are returned in the report.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from lasps.ml import dataset as layout
from lasps.ml.charts import PRICE_BOTTOM, PRICE_TOP, VOL_BOTTOM, VOL_TOP, chart_grid, render_charts, save_png

_FLOAT_ARRAYS = ("windows", "ohlcv", "returns", "returns_multi")


@dataclass
class ArrayStats:
    """Streaming statistics of one array file."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    sha256: str
    min: float
    max: float
    nonzero: int
    nonfinite: int
    col_min: np.ndarray | None = None
    col_max: np.ndarray | None = None


@dataclass
class CheckReport:
    """What :func:`check_dataset` found (errors raise; this holds the rest)."""

    root: Path
    n: int
    arrays: dict[str, ArrayStats] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    charts_checked: int = 0
    chart_grid_path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _scan_npy(path: Path, name: str, rows_per_block: int = 8192, per_column: bool = False) -> ArrayStats:
    """Hash a ``.npy`` file and compute min/max/nonzero/nonfinite in one streaming pass."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        if fortran:
            raise layout.DatasetError(f"{path} is Fortran-ordered; expected C order", where=str(path))
        offset = f.tell()
        f.seek(0)
        h.update(f.read(offset))
        row_items = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
        row_bytes = row_items * dtype.itemsize
        n = shape[0] if shape else 1
        ncol = shape[-1] if per_column and len(shape) >= 2 else 1
        mn, mx = np.inf, -np.inf
        nonzero = 0
        nonfinite = 0
        cmin = np.full(ncol, np.inf)
        cmax = np.full(ncol, -np.inf)
        done = 0
        pool = ThreadPoolExecutor(max_workers=1)  # hashing (GIL-free) overlaps with the statistics
        pending = None
        try:
            while done < n:
                k = min(rows_per_block, n - done)
                buf = f.read(k * row_bytes)
                if len(buf) != k * row_bytes:
                    raise layout.DatasetError(f"{path} is truncated ({done + len(buf) // max(row_bytes, 1)} of "
                                              f"{n} rows readable)", where=str(path), fix="rebuild the dataset")
                if pending is not None:
                    pending.result()
                pending = pool.submit(h.update, buf)
                a = np.frombuffer(buf, dtype=dtype).reshape(-1, ncol)
                b_mn, b_mx, b_nz, b_nf = _block_stats(a, cmin, cmax)
                mn, mx = min(mn, b_mn), max(mx, b_mx)
                nonzero += b_nz
                nonfinite += b_nf
                done += k
            if pending is not None:
                pending.result()
        finally:
            pool.shutdown(wait=True)
        rest = f.read(1)
        if rest:
            raise layout.DatasetError(f"{path} has trailing bytes after {n} rows", where=str(path))
    return ArrayStats(name=name, shape=tuple(int(x) for x in shape), dtype=str(dtype), sha256=h.hexdigest(),
                      min=mn, max=mx, nonzero=nonzero, nonfinite=nonfinite,
                      col_min=cmin if per_column else None, col_max=cmax if per_column else None)


@njit(cache=True)
def _block_stats(a, cmin, cmax):  # pragma: no cover - compiled
    """One pass over a (rows, ncol) block: min/max of finite values, nonzero and non-finite counts;
    updates the per-column min/max ``cmin``/``cmax`` in place."""
    mn = np.inf
    mx = -np.inf
    nz = 0
    nf = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            x = np.float64(a[i, j])
            if x != 0.0:
                nz += 1
            if not np.isfinite(x):
                nf += 1
                continue
            if x < mn:
                mn = x
            if x > mx:
                mx = x
            if x < cmin[j]:
                cmin[j] = x
            if x > cmax[j]:
                cmax[j] = x
    return mn, mx, nz, nf


def check_dataset(root: str | Path, charts: int = 16, verify_hashes: bool = True,
                  save_charts: str | Path | None = None, seed: int = 0) -> CheckReport:
    """Validate the dataset at ``root`` (see module docstring); raises ``DatasetError`` on any error.

    ``charts``: number of windows to render and inspect; ``save_charts``: write them as a PNG grid.
    ``verify_hashes=False`` skips the sha256 comparison (the content scan still reads every byte).
    """
    root = Path(root)
    manifest = layout.read_manifest(root)
    n = int(manifest.get("n", -1))
    rep = CheckReport(root=root, n=n)
    err = rep.errors

    # 1. structure
    arrays: dict[str, dict[str, Any]] = manifest.get("arrays", {})
    for name in layout.ARRAYS:
        if name not in arrays:
            err.append(f"manifest lists no array {name!r}")
    present: dict[str, Path] = {}
    for name, spec in arrays.items():
        path = root / spec["file"]
        if not path.is_file():
            err.append(f"{spec['file']} is missing")
            continue
        try:
            mm = np.load(path, mmap_mode="r")
        except (ValueError, OSError) as exc:
            err.append(f"{spec['file']} is not a readable .npy file: {exc}")
            continue
        if list(mm.shape) != list(spec["shape"]) or str(mm.dtype) != spec["dtype"]:
            err.append(f"{spec['file']} is {mm.dtype}{tuple(mm.shape)}, manifest says "
                       f"{spec['dtype']}{tuple(spec['shape'])}")
        if mm.shape[0] != n:
            err.append(f"{spec['file']} has {mm.shape[0]} rows, manifest n = {n} (misaligned)")
        del mm
        present[name] = path
    meta_path = root / layout.METADATA
    meta: pd.DataFrame | None = None
    if not meta_path.is_file():
        err.append(f"{layout.METADATA} is missing")
    else:
        try:
            meta = pd.read_parquet(meta_path)
        except Exception as exc:  # any parquet failure means a corrupted file
            err.append(f"{layout.METADATA} cannot be read: {exc}")

    # 2. alignment
    if meta is not None:
        missing = [c for c in layout.METADATA_COLUMNS if c not in meta.columns]
        if missing:
            err.append(f"{layout.METADATA} lacks columns {missing}")
        if len(meta) != n:
            err.append(f"{layout.METADATA} has {len(meta)} rows, the arrays have n = {n} (misaligned)")
        if not missing:
            row = meta["row"].to_numpy()
            if len(row) != n or not np.array_equal(row, np.arange(len(row))) or not (
                    isinstance(meta.index, pd.RangeIndex) and meta.index.start == 0 and meta.index.step == 1):
                err.append(f"{layout.METADATA}: column 'row' is not 0..n-1 in order (metadata index misaligned "
                           f"with the arrays)")
            splits = meta["split"].astype(str)
            bad = sorted(set(splits) - {"train", "val", "test"})
            if bad:
                err.append(f"{layout.METADATA}: unknown split values {bad}")
            counts = {k: int((splits == k).sum()) for k in ("train", "val", "test")}
            want = manifest.get("splits", {}).get("counts", {})
            if want and counts != {k: int(want.get(k, 0)) for k in counts}:
                err.append(f"{layout.METADATA}: split counts {counts} differ from the manifest {want}")
            for k, v in counts.items():
                if v == 0:
                    err.append(f"split {k!r} is empty")
            dates = pd.to_datetime(meta["date"]).to_numpy()
            if len(dates) > 1 and (np.diff(dates.astype("datetime64[D]").astype(np.int64)) < 0).any():
                err.append(f"{layout.METADATA}: dates are not ascending (rows must be ordered by date)")
            order = {"train": 0, "val": 1, "test": 2}
            codes_ = splits.map(order).to_numpy()
            if len(codes_) > 1 and not bad and (np.diff(codes_) < 0).any():
                err.append(f"{layout.METADATA}: splits are not in date order (train, val, test)")
            if "sector_ids" in present and len(meta) == n:
                sec = np.load(present["sector_ids"], mmap_mode="r")
                if sec.shape == (n,) and not np.array_equal(np.asarray(sec, dtype=np.int64),
                                                            meta["sector_id"].to_numpy(dtype=np.int64)):
                    err.append("metadata sector_id differs from sector_ids.npy (misaligned rows)")

    # 3 + 4. integrity and content (one pass per file)
    for name, path in present.items():
        try:
            st = _scan_npy(path, name, per_column=(name == "windows"))
        except layout.DatasetError as exc:
            err.append(exc.what)
            continue
        rep.arrays[name] = st
        if verify_hashes and st.sha256 != arrays[name].get("sha256"):
            err.append(f"{path.name}: sha256 differs from the manifest (the file was modified or corrupted)")
        total = int(np.prod(st.shape, dtype=np.int64))
        if total and st.nonzero == 0 and name != "flow_mask":
            err.append(f"{path.name} is all zeros (cf. the work log's all-zero 465 GB memmap): the data were "
                       f"never written")
        elif name in _FLOAT_ARRAYS and total > 1 and st.min == st.max:
            err.append(f"{path.name} is constant (every value = {st.min:g})")
        if st.nonfinite:
            err.append(f"{path.name} has {st.nonfinite} NaN/inf values")
        if name == "labels" and total > 1 and st.min == st.max:
            err.append(f"{path.name} holds a single class ({int(st.min)}): nothing to learn")
        if name == "sector_ids" and total > 1 and st.min == st.max:
            rep.warnings.append(f"every sample is in sector {int(st.min)}")
        if name == "windows" and st.col_min is not None and st.col_max is not None:
            names = manifest.get("features", [])
            flows_ok = bool(manifest.get("flows", {}).get("available", False))
            for i in np.flatnonzero(st.col_min == st.col_max):
                fname = names[i] if i < len(names) else str(i)
                flow_feature = fname in {"foreign_net", "institution_net", "individual_net", "foreign_inst_flow",
                                         "foreign_holding_ratio"}
                if flow_feature and not flows_ok:
                    continue
                rep.warnings.append(f"feature {fname!r} is constant ({st.col_min[i]:g}) in every window")
    meta_hash = manifest.get("metadata", {}).get("sha256")
    if verify_hashes and meta is not None and meta_hash and layout.sha256_file(meta_path) != meta_hash:
        err.append(f"{layout.METADATA}: sha256 differs from the manifest (the file was modified or corrupted)")

    # 5. charts
    if charts > 0 and "ohlcv" in present and not any("ohlcv" in e for e in err):
        ohlcv = np.load(present["ohlcv"], mmap_mode="r")
        if ohlcv.shape[0] > 0:
            rng = np.random.default_rng(seed)
            idx = np.sort(rng.choice(ohlcv.shape[0], size=min(charts, ohlcv.shape[0]), replace=False))
            imgs = render_charts(np.asarray(ohlcv[idx]))
            for k, i in enumerate(idx):
                img = imgs[k]
                price = img[PRICE_TOP:PRICE_BOTTOM + 1]
                vol = img[VOL_TOP:VOL_BOTTOM + 1]
                if (price == 255).all():
                    err.append(f"chart of row {int(i)} has no candles (blank price panel)")
                if (np.asarray(ohlcv[i, :, 4]) > 0).any() and (vol == 255).all():
                    err.append(f"chart of row {int(i)} has no volume bars")
            rep.charts_checked = len(idx)
            if save_charts is not None:
                rep.chart_grid_path = save_png(save_charts, chart_grid(imgs, ncols=4))
    if err:
        raise layout.DatasetError(
            f"dataset {root} failed {len(err)} check(s):\n    - " + "\n    - ".join(err),
            where=str(root), fix="rebuild with `lasps ml dataset build --out DIR --overwrite`")
    return rep
