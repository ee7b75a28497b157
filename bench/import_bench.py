"""Benchmark: import the real KRX sample (2.2 M rows) into a fresh store.

Runs ``read_import`` + ``validate_bundle`` + ``MarketStore(tmp).write_bundle`` and prints the seconds of
each step and the process's peak RSS. Target (DESIGN / data brief): the whole import in <= 30 s.

    python bench/import_bench.py [PATH]      # default: ../shared/data/krx-2018-2021
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from lasps.data.sources.files import import_path
from lasps.data.store import MarketStore
from lasps.data.validate import validate_bundle

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "krx-2018-2021"


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    if not path.exists():
        print(f"sample not found: {path}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    result = import_path(path)
    t1 = time.perf_counter()
    bundle = validate_bundle(result.bundle, str(path))
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, MarketStore(Path(tmp)) as store:
        rows = store.write_bundle(bundle, kind="import")
        t3 = time.perf_counter()
        stored = store.scalar("SELECT count(*) FROM daily_prices")
        adjustments = store.scalar("SELECT count(*) FROM adjustments")
    print(f"read_import      {t1 - t0:6.2f} s  ({len(result.bundle.prices):,} price rows, "
          f"{len(result.bundle.stocks):,} codes)")
    print(f"validate_bundle  {t2 - t1:6.2f} s")
    print(f"write_bundle     {t3 - t2:6.2f} s  ({rows:,} rows written, {stored:,} stored, "
          f"{adjustments} adjustments)")
    print(f"total            {t3 - t0:6.2f} s")
    print(f"peak RSS         {peak_rss_mib():8.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
