"""Benchmark: generate the reference synthetic market (4,000 listings × 12 years ≈ 2,950 sessions).

Usage: ``python bench/synthetic_bench.py [--stocks 4000] [--years 12] [--seed 0]``

Prints the generation time (numba compile excluded: a tiny market is generated first so that the JIT
cache is warm), the rows of each table and the peak resident memory of the process (``ru_maxrss``).
The run is not a test; results go to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def _peak_rss_gib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (1024**3 if sys.platform == "darwin" else 1024**2)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stocks", type=int, default=4000)
    ap.add_argument("--years", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from lasps.data.sources.synthetic import generate_synthetic

    t = time.perf_counter()
    generate_synthetic(40, 0.5, 0)  # warm the numba cache and the calendar
    warm = time.perf_counter() - t
    base_rss = _peak_rss_gib()

    t = time.perf_counter()
    bundle = generate_synthetic(args.stocks, args.years, args.seed)
    elapsed = time.perf_counter() - t
    peak = _peak_rss_gib()
    print(f"synthetic market {args.stocks} listings x {args.years:g} years (seed {args.seed})")
    print(f"  warm-up (JIT/calendar)  {warm:8.2f} s")
    print(f"  generate                {elapsed:8.2f} s")
    print(f"  sessions                {bundle.prices['date'].nunique():8d}")
    print(f"  stocks rows             {len(bundle.stocks):8d}")
    print(f"  price rows              {len(bundle.prices):8d}")
    print(f"  flow rows               {len(bundle.flows):8d}")
    print(f"  index rows              {len(bundle.index):8d}")
    print(f"  peak RSS                {peak:8.2f} GiB (after warm-up {base_rss:.2f} GiB)")


if __name__ == "__main__":
    main()
