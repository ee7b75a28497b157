"""On-disk layout of an ML dataset directory and its reader (DESIGN §8).

One directory, one source of truth — **row i of every array is row i of metadata.parquet** (the work
log lost days to chart files named differently from the code that read them, and trained 13 epochs on
an all-zero 465 GB memmap)::

    DIR/
      windows.npy        (n, 60, 28) float32  normalised feature windows (lasps.ml.features)
      ohlcv.npy          (n, 60, 5)  float32  raw adjusted open/high/low/close (KRW), volume (shares)
                                              of the same 60 sessions — charts are rendered from it
      labels.npy         (n,)        int8     0 SELL / 1 HOLD / 2 BUY (lasps.ml.labels)
      returns.npy        (n,)        float32  h-session forward return (the regression target)
      returns_multi.npy  (n, h)      float32  cumulative returns [r_1 .. r_h]
      sector_ids.npy     (n,)        int8     13 LASPS sectors (0..12; -1 only with --keep-unmapped)
      flow_mask.npy      (n,)        uint8    1 = investor flows present on all 60 sessions
      metadata.parquet   row, code, date, sector_id, split   (row == the array index)
      manifest.json      shapes, dtypes, sha256 of every file, label/sector distributions per split,
                         feature names and normalisation, split boundaries, build funnel

Samples are ordered by (date, code), so each split is a run of rows in date order. Arrays are plain
``.npy`` files (``numpy.load(path, mmap_mode="r")`` maps them without reading).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lasps.errors import LaspsError

FORMAT = "lasps-ml-dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
METADATA = "metadata.parquet"
METADATA_COLUMNS: tuple[str, ...] = ("row", "code", "date", "sector_id", "split")

#: array name -> (dtype, description). Shapes are in the manifest (returns_multi depends on h).
ARRAYS: dict[str, tuple[str, str]] = {
    "windows": ("float32", "normalised feature windows (n, window, 28)"),
    "ohlcv": ("float32", "raw adjusted OHLCV of the window (n, window, 5): KRW, shares"),
    "labels": ("int8", "class 0 SELL / 1 HOLD / 2 BUY"),
    "returns": ("float32", "forward return over the horizon (simple, fraction)"),
    "returns_multi": ("float32", "cumulative forward returns r_1..r_h (n, h)"),
    "sector_ids": ("int8", "LASPS sector id 0..12"),
    "flow_mask": ("uint8", "1 = investor flows present on every session of the window"),
}


class DatasetError(LaspsError):
    """A dataset directory is missing, incomplete, misaligned or corrupted (exit code 2)."""


def sha256_file(path: Path, block: int = 1 << 24) -> str:
    """Hex sha256 of a file, read in ``block``-byte pieces."""
    h = hashlib.sha256()
    buf = bytearray(block)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            k = f.readinto(buf)
            if not k:
                break
            h.update(view[:k])
    return h.hexdigest()


def read_manifest(root: Path) -> dict[str, Any]:
    """Parse ``root/manifest.json`` or raise :class:`DatasetError`."""
    path = Path(root) / MANIFEST
    if not Path(root).is_dir():
        raise DatasetError(f"dataset directory {root} does not exist", where=str(root),
                           fix="build one with `lasps ml dataset build --out DIR`")
    if not path.is_file():
        raise DatasetError(f"{path} is missing (an unfinished or foreign directory)", where=str(path),
                           fix="rebuild with `lasps ml dataset build --out DIR` (an interrupted build lives "
                               "in DIR.tmp and resumes)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot parse {path}: {exc}", where=str(path), fix="rebuild the dataset") from exc
    if manifest.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a {FORMAT} manifest", where=str(path))
    if int(manifest.get("version", 0)) > FORMAT_VERSION:
        raise DatasetError(f"{path} has format version {manifest.get('version')}, newer than this LASPS "
                           f"({FORMAT_VERSION})", where=str(path), fix="upgrade lasps")
    return manifest


class MLDataset:
    """Read access to a built dataset directory (memory-mapped; nothing is loaded until asked).

    ``ds.array("windows")`` is a read-only ``numpy.memmap``; ``ds.metadata`` the metadata frame;
    ``ds.rows("train")`` the row indices of a split (ascending).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.manifest = read_manifest(self.root)
        self._arrays: dict[str, np.ndarray] = {}

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.manifest["n"])

    @property
    def feature_names(self) -> list[str]:
        return list(self.manifest["features"])

    @property
    def horizon(self) -> int:
        return int(self.manifest["labels"]["horizon"])

    @property
    def lag(self) -> int:
        """Rows from a sample to the row that completes its label."""
        return int(self.manifest["labels"]["lag"])

    def path(self, name: str) -> Path:
        return self.root / self.manifest["arrays"][name]["file"]

    def array(self, name: str) -> np.ndarray:
        """Memory-mapped array ``name`` (see :data:`ARRAYS`)."""
        if name not in self._arrays:
            if name not in self.manifest["arrays"]:
                raise DatasetError(f"array {name!r} is not in this dataset", where=str(self.root))
            path = self.path(name)
            if not path.is_file():
                raise DatasetError(f"{path} is missing", where=str(path), fix="rebuild the dataset")
            self._arrays[name] = np.load(path, mmap_mode="r")
        return self._arrays[name]

    @cached_property
    def metadata(self) -> pd.DataFrame:
        """``row, code, date, sector_id, split`` (one row per sample, ``row`` == index)."""
        path = self.root / METADATA
        if not path.is_file():
            raise DatasetError(f"{path} is missing", where=str(path), fix="rebuild the dataset")
        return pd.read_parquet(path)

    @cached_property
    def split_codes(self) -> np.ndarray:
        """``(n,)`` int8: 0 train, 1 val, 2 test."""
        names = self.metadata["split"].astype(str).to_numpy()
        out = np.full(len(names), -1, dtype=np.int8)
        for i, s in enumerate(("train", "val", "test")):
            out[names == s] = i
        return out

    def rows(self, split: str | None = None) -> np.ndarray:
        """Row indices of ``split`` (``train``/``val``/``test``; None = all), ascending."""
        if split is None or split == "all":
            return np.arange(self.n)
        names = ("train", "val", "test")
        if split not in names:
            raise DatasetError(f"unknown split {split!r}", where="--split", fix="use train, val, test or all")
        return np.flatnonzero(self.split_codes == names.index(split))

    def read_rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of array ``name`` read with ``pread`` into a fresh array.

        Unlike slicing the memmap, this leaves no mapped pages behind, so scanning a 10 GB array keeps
        the process's resident memory at the size of one block.
        """
        a = self.array(name)
        stop = min(stop, a.shape[0])
        row_bytes = a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
        out = np.empty((max(stop - start, 0), *a.shape[1:]), dtype=a.dtype)
        view = memoryview(out).cast("B")
        fd = os.open(self.path(name), os.O_RDONLY)
        try:
            pos, done = int(a.offset) + start * row_bytes, 0
            while done < len(view):
                k = os.preadv(fd, [view[done:]], pos + done)
                if k <= 0:
                    raise DatasetError(f"{self.path(name)} is truncated", where=str(self.path(name)))
                done += k
        finally:
            os.close(fd)
        return out

    def take(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (any order) of array ``name``, read one by one with ``pread`` (no mapped pages)."""
        a = self.array(name)
        idx = np.asarray(rows, dtype=np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= a.shape[0]):
            raise IndexError(f"rows out of range 0..{a.shape[0] - 1}")
        row_bytes = a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
        out = np.empty((len(idx), *a.shape[1:]), dtype=a.dtype)
        view = memoryview(out).cast("B")
        fd = os.open(self.path(name), os.O_RDONLY)
        try:
            for k, i in enumerate(idx):
                dst = view[k * row_bytes:(k + 1) * row_bytes]
                if os.preadv(fd, [dst], int(a.offset) + int(i) * row_bytes) != row_bytes:
                    raise DatasetError(f"{self.path(name)} is truncated", where=str(self.path(name)))
        finally:
            os.close(fd)
        return out

    def iter_rows(self, name: str, chunk: int = 16384) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, block)`` for consecutive blocks of ``chunk`` rows of array ``name``."""
        for a in range(0, self.n, chunk):
            yield a, self.read_rows(name, a, a + chunk)

    def last_values(self, chunk: int = 16384) -> np.ndarray:
        """``(n, 28)`` float32 feature values of each window's last row (the sample's own date)."""
        out = np.empty((self.n, len(self.feature_names)), dtype=np.float32)
        for a, block in self.iter_rows("windows", chunk):
            out[a:a + len(block)] = block[:, -1, :]
        return out
