"""Benchmark: the alpha value store - write and read time, bytes on disk, current format vs format 1.

Usage::

    python bench/alpha_store_bench.py                      # 101 paper alphas, 2,900 days x 4,000 stocks
    python bench/alpha_store_bench.py --days 500 --stocks 800 --alphas 1-20

The 101 paper alphas of ``bench/alpha_bench.py``'s random-walk panel are computed (streamed, not
timed) and each one is written to a scratch ``$LASPS_HOME`` synchronously (``lasps.alpha.store.
write_alpha``: encode + fsync + rename), then read back with ``read_alpha`` (what research and backtest
use) and compared bit for bit. ``--format1`` also writes each alpha the way store format 1 did (plain
string ``code`` column built with ``pyarrow.compute.take``, default pyarrow encodings and statistics,
zstd) and reads it back with the same ``read_alpha``, for the before/after table. To measure an older
store version on the same panel, run this script with ``PYTHONPATH`` pointing at that checkout's
``src``. Reported: wall and CPU seconds (this process, all threads) summed over the alphas, total
bytes, and the 1-minute load average
at start and end (the machine may be shared: CPU seconds are the robust figure).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))
try:
    import lasps  # noqa: F401
except ImportError:  # standalone use from a source checkout
    sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from alpha_bench import make_panel  # noqa: E402
from lasps.alpha import store  # noqa: E402
from lasps.alpha.engine import compile_alphas, tune_allocator  # noqa: E402
from lasps.data.panel import Panel  # noqa: E402


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def write_format1(home: Path, name: str, values: np.ndarray, panel: Panel, meta: dict) -> Path:
    """What store format 1 wrote (kept here only as the baseline of this benchmark)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    ti, ci = np.nonzero(~np.isnan(values))
    day = panel.dates.astype("datetime64[D]").astype(np.int32)
    table = pa.table({
        "date": pa.array(day[ti], type=pa.int32()).cast(pa.date32()),
        "code": pc.take(pa.array([str(c) for c in panel.codes], type=pa.string()), pa.array(ci)),
        "value": pa.array(values[ti, ci], type=pa.float64()),
    }).replace_schema_metadata({store.METADATA_KEY: json.dumps(meta).encode()})
    path = store.alpha_path(home, name)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 20)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=2900)
    ap.add_argument("--stocks", type=int, default=4000)
    ap.add_argument("--alphas", default="1-101")
    ap.add_argument("--format1", action="store_true", help="also time the format-1 writer (baseline)")
    ap.add_argument("--dir", type=Path, default=None, help="scratch directory (default: a temporary one)")
    args = ap.parse_args(argv)
    lo, _, hi = args.alphas.partition("-")
    ids = list(range(int(lo), int(hi or lo) + 1))
    tune_allocator()
    load0 = os.getloadavg()
    panel = make_panel(args.days, args.stocks, 0)
    scratch = Path(tempfile.mkdtemp(prefix="lasps_store_bench_", dir=args.dir))
    current = f"format {store.FORMAT_VERSION}"
    sides = {current: scratch / "current"} | ({"format 1": scratch / "f1"} if args.format1 else {})
    tot = {s: {"write_s": 0.0, "write_cpu": 0.0, "read_s": 0.0, "read_cpu": 0.0, "bytes": 0} for s in sides}
    n = 0
    try:
        for name, values in compile_alphas(ids, panel).run(panel):
            for side, home in sides.items():
                c0, t0 = cpu_s(), time.perf_counter()
                if side == current:
                    path = store.write_alpha(home, name, values, panel, {"name": name})
                else:
                    store.alphas_dir(home).mkdir(parents=True, exist_ok=True)
                    path = write_format1(home, name, values, panel, {"name": name})
                t1, c1 = time.perf_counter(), cpu_s()
                back = store.read_alpha(home, name, panel)
                t2, c2 = time.perf_counter(), cpu_s()
                if not np.array_equal(back, values, equal_nan=True):
                    raise SystemExit(f"{side}: {name} did not round-trip")
                d = tot[side]
                d["write_s"] += t1 - t0
                d["write_cpu"] += c1 - c0
                d["read_s"] += t2 - t1
                d["read_cpu"] += c2 - c1
                d["bytes"] += path.stat().st_size
                path.unlink()  # keep the scratch disk small; the page cache does not help the next read
            n += 1
            del values
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load1 = os.getloadavg()
    print(f"{n} alphas, panel {args.days} x {args.stocks}; load average {load0[0]:.2f} -> {load1[0]:.2f}")
    print("| store | write wall (s) | write CPU (s) | read wall (s) | read CPU (s) | size (GB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for side, d in tot.items():
        print(f"| {side} | {d['write_s']:.1f} | {d['write_cpu']:.1f} | {d['read_s']:.1f} | {d['read_cpu']:.1f} | "
              f"{d['bytes'] / 1e9:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
