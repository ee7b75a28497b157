"""Build an ML dataset directory from the market store (``lasps ml dataset build``).

Steps: load the panel (with a warm-up of 179+ sessions before ``start``) -> the 28 raw features of
every code's sessions (:mod:`lasps.ml.features`) -> candidate samples -> labels -> date splits with a
purge gap -> normalised windows written chunk by chunk into ``.npy`` files -> metadata.parquet ->
manifest.json (layout in :mod:`lasps.ml.dataset`).

Which (code, date) cells become samples (each stage is counted in the manifest's ``funnel``):

1. a sampling date: on or after ``start`` and every ``stride``-th panel row from the first one
   (the same dates for every code; stride 5 = the default horizon gives non-overlapping labels);
2. in the universe at that date (``Panel.universe_mask``: default = common KOSPI/KOSDAQ stocks — no
   ETF/ETN, SPAC, preferred, REIT, KONEX — traded that day with >= 65 sessions of history);
3. a complete window: the code's last 60 sessions (its own trading sessions; halts are skipped, not
   filled) have every non-flow feature defined — i.e. >= 179 sessions of history;
4. a label: entry and exit prices exist inside the loaded range (the data end at ``end``);
5. a mapped sector (``sector_id`` 0..12); unmapped codes are dropped and counted, never given a
   default sector (the work log's ``DEFAULT_SECTOR_ID = 17``), unless ``keep_unmapped``;
6. not purged at a split boundary (:mod:`lasps.ml.splits`).

Writing is atomic and resumable: everything goes to ``DIR.tmp``; each finished chunk is recorded in
``DIR.tmp/progress.json`` with a fingerprint of the configuration and the sample index; a re-run with
the same arguments skips finished chunks; ``DIR.tmp`` is renamed to ``DIR`` only after the manifest
(with sha256 of every file) is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lasps.config import get_settings
from lasps.data.panel import FLOW_FIELDS
from lasps.data.panel_loader import load_panel
from lasps.data.sectors import NUM_SECTORS, SECTOR_NAMES
from lasps.data.store import store_provider
from lasps.data.suspect import crossing_mask, suspect_summary
from lasps.dates import parse_optional_date
from lasps.errors import ConfigError, StoreError
from lasps.files import publish_dir, write_json
from lasps.ml import dataset as layout
from lasps.ml.features import (
    FEATURE_GROUPS,
    FEATURE_NAMES,
    MIN_SESSIONS,
    WINDOW,
    compute_features,
    gather_windows,
    norm_table,
)
from lasps.ml.labels import CLASS_NAMES, LabelSpec, classify, multi_step_returns
from lasps.ml.splits import SPLIT_NAMES, SplitSpec, assign_splits

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)`` callback (the CLI wraps it in a Rich progress bar)."""

PROGRESS = "progress.json"


@dataclass(frozen=True)
class BuildConfig:
    """Everything that determines a dataset's content (a different value gives a different fingerprint).

    ``start``/``end``: inclusive sample date range (None = all stored data; the panel is loaded from
    ``MIN_SESSIONS`` + 20 sessions before ``start`` so the first samples have complete windows, and
    ends at ``end``, so no label uses a price after ``end``). ``stride``: every k-th panel row is a
    sampling date. ``chunk_size``: samples per written chunk (memory ≈ 8 KB per sample).
    """

    start: str | None = None
    end: str | None = None
    universe: str = "default"
    labels: LabelSpec = field(default_factory=LabelSpec)
    splits: SplitSpec = field(default_factory=SplitSpec)
    stride: int = 5
    keep_unmapped: bool = False
    min_history: int | None = None
    chunk_size: int = 16384

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ConfigError(f"stride must be >= 1, got {self.stride}", where="--stride")
        if self.chunk_size < 1:
            raise ConfigError(f"chunk size must be >= 1, got {self.chunk_size}", where="--chunk-size")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["splits"]["fallback"] = list(d["splits"]["fallback"])
        return d

    def content_dict(self) -> dict[str, Any]:
        """The fields that change the content (``chunk_size`` only changes how it is written)."""
        d = self.to_dict()
        d.pop("chunk_size")
        return d


@dataclass
class _Samples:
    """The sample index, in final row order (date, then code)."""

    rows: np.ndarray  # (n,) panel row
    cols: np.ndarray  # (n,) panel column
    cells: np.ndarray  # (n,) flat feature cell (window end)
    multi: np.ndarray  # (n, h) float32
    split: np.ndarray  # (n,) int8


class _NpyWriter:
    """A ``.npy`` file written by row ranges with ``os.pwrite`` (no resident memmap pages), hashed on the
    fly when rows arrive in order (otherwise by re-reading at the end).

    Hashing runs in one background thread (``hashlib`` releases the GIL), overlapping with the next
    chunk's computation; at most one block per file is in flight.
    """

    def __init__(self, path: Path, dtype: str, shape: tuple[int, ...], fresh: bool) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.shape = shape
        if fresh or not path.is_file():
            mm = np.lib.format.open_memmap(path, mode="w+", dtype=self.dtype, shape=shape)
            self.offset = int(mm.offset)
            del mm
            with open(path, "rb") as f:
                header = f.read(self.offset)
            self._hash: Any = hashlib.sha256(header)
            self._next = 0
        else:
            mm = np.load(path, mmap_mode="r")
            if mm.shape != shape or mm.dtype != self.dtype:
                raise StoreError(f"{path} has {mm.dtype}{mm.shape}, expected {self.dtype}{shape}")
            self.offset = int(mm.offset)
            del mm
            self._hash = None
            self._next = -1
        self.row_bytes = int(self.dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64)))
        self._fd = os.open(path, os.O_RDWR)
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[None] | None = None

    def write(self, start: int, block: np.ndarray) -> None:
        data = np.ascontiguousarray(block, dtype=self.dtype)
        view = memoryview(data).cast("B")
        pos = self.offset + start * self.row_bytes
        done = 0
        while done < len(view):
            done += os.pwrite(self._fd, view[done:], pos + done)
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        if self._hash is not None and start == self._next:
            self._pending = self._pool.submit(self._hash.update, view)  # `view` keeps `data` alive
            self._next = start + len(data)
        else:
            self._hash = None

    def abort(self) -> None:
        """Close the file without hashing (the build was interrupted; finished chunks stay on disk)."""
        self._pool.shutdown(wait=True)
        os.close(self._fd)

    def close(self) -> str:
        """Close the file; returns its sha256."""
        self._pool.shutdown(wait=True)
        if self._pending is not None:
            self._pending.result()
        os.close(self._fd)
        if self._hash is not None and self._next == self.shape[0]:
            return str(self._hash.hexdigest())
        return layout.sha256_file(self.path)




def _select_samples(panel: Any, feats: Any, config: BuildConfig, start_row: int,
                    funnel: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidate cells -> (rows, cols, cells, multi-step returns), with the funnel counted."""
    rows = feats.rows.astype(np.int64)
    cols = feats.cols.astype(np.int64)
    on_date = (rows >= start_row) & ((rows - start_row) % config.stride == 0)
    funnel["sessions_on_sampling_dates"] = int(on_date.sum())
    keep = on_date & panel.universe_mask[rows, cols]
    funnel["in_universe"] = int(keep.sum())
    keep &= feats.complete
    funnel["complete_window"] = int(keep.sum())
    cells = np.flatnonzero(keep)
    rows, cols = rows[cells], cols[cells]
    multi = multi_step_returns(panel.fields["open"], panel.fields["close"], rows, cols, config.labels)
    ok = np.isfinite(multi).all(axis=1)
    funnel["with_label"] = int(ok.sum())
    if panel.quarantine_days:  # labels whose holding period crosses a suspect jump carry a fake return
        entry_offset = 1 if config.labels.entry == "open" else 0
        ok &= ~crossing_mask(panel.suspect, config.labels.horizon, entry_offset)[rows, cols]
        funnel["label_clear_of_suspect_jumps"] = int(ok.sum())
    sector = np.asarray(panel.sector_ids, dtype=np.int64)[cols]
    if not config.keep_unmapped:
        ok &= sector >= 0
    funnel["sector_mapped" if not config.keep_unmapped else "sector_kept"] = int(ok.sum())
    return rows[ok], cols[ok], cells[ok], multi[ok]


def _fingerprint(config: BuildConfig, s: _Samples, panel_shape: tuple[int, int], home: Path) -> str:
    h = hashlib.sha256(json.dumps(config.content_dict(), sort_keys=True).encode())
    h.update(str(panel_shape).encode())
    h.update(str(Path(home).resolve()).encode())
    for a in (s.rows, s.cols, s.multi, s.split):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _distribution(labels: np.ndarray, sectors: np.ndarray, returns: np.ndarray) -> dict[str, Any]:
    lab = {CLASS_NAMES[c]: int((labels == c).sum()) for c in range(3)}
    n = max(len(labels), 1)
    sec_counts = {SECTOR_NAMES[s]: int((sectors == s).sum()) for s in range(NUM_SECTORS)}
    unmapped = int((sectors < 0).sum())
    present = [v for v in sec_counts.values() if v > 0]
    missing = [k for k, v in sec_counts.items() if v == 0]
    ratio = (max(present) / min(present)) if present else None
    out: dict[str, Any] = {
        "n": len(labels),
        "labels": lab,
        "label_share": {k: round(v / n, 4) for k, v in lab.items()},
        "sectors": sec_counts,
        "sector_max_min_ratio": None if ratio is None else round(float(ratio), 3),
        "sectors_missing": missing,
        "returns": {
            "mean": float(np.mean(returns)) if len(returns) else None,
            "std": float(np.std(returns)) if len(returns) else None,
            "min": float(np.min(returns)) if len(returns) else None,
            "max": float(np.max(returns)) if len(returns) else None,
        },
    }
    if unmapped:
        out["sectors"]["unmapped"] = unmapped
    return out


def build_dataset(out: str | Path, config: BuildConfig = BuildConfig(), home: str | Path | None = None,
                  *, resume: bool = True, overwrite: bool = False,
                  progress: ProgressFn | None = None) -> dict[str, Any]:
    """Build the dataset directory ``out`` from the market store at ``home``; returns the manifest.

    Raises :class:`~lasps.errors.ConfigError` if ``out`` exists (unless ``overwrite``) or the
    configuration leaves no samples, :class:`~lasps.errors.StoreError` if the store is empty.
    """
    def tick(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    out = Path(out)
    home_p = Path(home) if home is not None else get_settings().home
    tmp = out.with_name(out.name + ".tmp")
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} already exists", where="--out", fix="choose another directory or pass --overwrite")
    start_d = parse_optional_date(config.start, option="--start")
    end_d = parse_optional_date(config.end, option="--end")
    if start_d and end_d and start_d > end_d:
        raise ConfigError(f"start {start_d} is after end {end_d}", where="--start/--end", fix="swap the dates")
    load_start = None
    if start_d:
        with store_provider(home_p).store() as store:
            load_start = store.warmup_start(start_d, MIN_SESSIONS + 20)

    tick("load panel", 0, 1)
    fields = ["open", "high", "low", "close", "volume", *FLOW_FIELDS]
    panel = load_panel(fields, start=load_start, end=end_d, universe=config.universe, home=home_p,
                       min_history=config.min_history)
    tick("load panel", 1, 1)
    T, N = panel.shape
    start_row = int(np.searchsorted(panel.dates, np.datetime64(start_d, "D"))) if start_d else 0

    tick("features", 0, 1)
    feats = compute_features(panel)
    tick("features", 1, 1)
    funnel: dict[str, int] = {}
    rows, cols, cells, multi = _select_samples(panel, feats, config, start_row, funnel)
    if len(rows) == 0:
        raise ConfigError(
            f"no samples: {funnel}", where="--start/--end/--universe",
            fix=f"a sample needs {MIN_SESSIONS} sessions of history (60-session window + ma120 warm-up) and "
                f"{config.labels.lag} sessions after it; widen the date range")
    order = np.lexsort((cols, rows))  # by date, then code
    rows, cols, cells, multi = rows[order], cols[order], cells[order], multi[order]
    sres = assign_splits(rows, panel.dates, config.labels.lag, config.splits)
    keep = sres.split >= 0
    funnel["after_purge"] = int(keep.sum())
    s = _Samples(rows=rows[keep], cols=cols[keep], cells=cells[keep],
                 multi=multi[keep].astype(np.float32), split=sres.split[keep])
    n = len(s.rows)
    h = config.labels.horizon
    returns = s.multi[:, -1].copy()
    labels = classify(returns, config.labels)
    sector_all = np.asarray(panel.sector_ids, dtype=np.int64)
    sectors = sector_all[s.cols].astype(np.int8)
    fingerprint = _fingerprint(config, s, (T, N), home_p)

    # --- resumable write into DIR.tmp -------------------------------------------------------------
    state: dict[str, Any] = {}
    if tmp.exists():
        try:
            state = json.loads((tmp / PROGRESS).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            state = {}
        if not resume or state.get("fingerprint") != fingerprint:
            shutil.rmtree(tmp)
            state = {}
    tmp.mkdir(parents=True, exist_ok=True)
    big = ("windows", "ohlcv", "flow_mask")
    fresh = not state or not all((tmp / f"{name}.npy").is_file() for name in big)
    chunk = config.chunk_size
    n_chunks = max(1, -(-n // chunk))
    done: set[int] = set(state.get("chunks_done", [])) if not fresh else set()
    if state.get("chunk_size", chunk) != chunk:  # finished chunks were cut differently: redo them all
        done = set()
    state = {"fingerprint": fingerprint, "n": n, "chunk_size": chunk, "chunks_done": sorted(done)}
    shapes = {
        "windows": (n, WINDOW, len(FEATURE_NAMES)), "ohlcv": (n, WINDOW, 5), "labels": (n,), "returns": (n,),
        "returns_multi": (n, h), "sector_ids": (n,), "flow_mask": (n,),
    }
    writers = {name: _NpyWriter(tmp / f"{name}.npy", layout.ARRAYS[name][0], shapes[name], fresh)
               for name in big}
    try:
        tick("windows", len(done), n_chunks)
        for k in range(n_chunks):
            if k in done:
                continue
            a, b = k * chunk, min(n, (k + 1) * chunk)
            win, raw, fmask = gather_windows(feats, s.cells[a:b], WINDOW, with_raw=True)
            writers["windows"].write(a, win)
            writers["ohlcv"].write(a, raw)
            writers["flow_mask"].write(a, fmask)
            del win, raw
            done.add(k)
            state["chunks_done"] = sorted(done)
            write_json(tmp / PROGRESS, state, indent=None)
            tick("windows", len(done), n_chunks)
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    hashes = {name: w.close() for name, w in writers.items()}
    flow_count = int(np.load(tmp / "flow_mask.npy", mmap_mode="r").sum(dtype=np.int64))

    small = {"labels": labels, "returns": returns, "returns_multi": s.multi, "sector_ids": sectors}
    for name, arr in small.items():
        np.save(tmp / f"{name}.npy", arr.astype(layout.ARRAYS[name][0]))
        hashes[name] = layout.sha256_file(tmp / f"{name}.npy")

    codes = np.asarray(panel.codes, dtype=object)
    meta = pa.table({
        "row": pa.array(np.arange(n, dtype=np.int64)),
        "code": pa.array(codes[s.cols].astype(str)),
        "date": pa.array(panel.dates[s.rows].astype("datetime64[D]")),
        "sector_id": pa.array(sectors),
        "split": pa.array(np.asarray(SPLIT_NAMES, dtype=object)[s.split].astype(str)),
    })
    pq.write_table(meta, tmp / layout.METADATA, compression="zstd")

    dates = panel.dates[s.rows]
    dists = {}
    date_ranges = {}
    for i, name in enumerate(SPLIT_NAMES):
        m = s.split == i
        dists[name] = _distribution(labels[m], sectors[m], returns[m])
        date_ranges[name] = [str(dates[m].min()), str(dates[m].max())] if m.any() else None
    dists["all"] = _distribution(labels, sectors, returns)
    manifest: dict[str, Any] = {
        "format": layout.FORMAT,
        "version": layout.FORMAT_VERSION,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n": n,
        "window": WINDOW,
        "features": list(FEATURE_NAMES),
        "feature_groups": {k: list(v) for k, v in FEATURE_GROUPS.items()},
        "normalisation": norm_table(),
        "arrays": {name: {"file": f"{name}.npy", "shape": list(shapes[name]), "dtype": layout.ARRAYS[name][0],
                          "sha256": hashes[name], "description": layout.ARRAYS[name][1]}
                   for name in layout.ARRAYS},
        "metadata": {"file": layout.METADATA, "rows": n, "columns": list(layout.METADATA_COLUMNS),
                     "sha256": layout.sha256_file(tmp / layout.METADATA)},
        "labels": {"horizon": h, "buy": config.labels.buy, "sell": config.labels.sell,
                   "entry": config.labels.entry, "lag": config.labels.lag, "timing": config.labels.describe(),
                   "classes": list(CLASS_NAMES)},
        "splits": {"mode": sres.mode, "train_end": str(sres.train_end), "val_end": str(sres.val_end),
                   "note": sres.note, "purged": sres.purged, "counts": {k: int((s.split == i).sum())
                                                                         for i, k in enumerate(SPLIT_NAMES)},
                   "date_ranges": date_ranges},
        "distributions": dists,
        "flows": {"available": bool(feats.has_flows and feats.flow_ok.any()), "samples_with_flows": flow_count,
                  "note": "flow features are 0 where the source has no investor flows; flow_mask marks "
                          "samples whose 60 sessions all had them"},
        "funnel": funnel,
        "suspect_jumps": suspect_summary(panel),
        "source": {"home": str(home_p), "universe": config.universe, "panel_dates": [str(panel.dates[0]),
                   str(panel.dates[-1])], "panel_codes": N, "stride": config.stride,
                   "sample_start": config.start, "sample_end": config.end},
        "config": config.to_dict(),
        "fingerprint": fingerprint,
    }
    write_json(tmp / layout.MANIFEST, manifest)
    (tmp / PROGRESS).unlink(missing_ok=True)
    publish_dir(tmp, out)
    return manifest
