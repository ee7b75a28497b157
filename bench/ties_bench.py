"""Time the tie-aware kernels (rank, ts_rank, ts_argmax, ts_argmin) on a (2,900, 4,000) panel.

Run: ``python bench/ties_bench.py [--rows 2900] [--cols 4000] [--window 10] [--repeat 3]``.
Two inputs: ``random`` (price-like floats, almost no ties) and ``ticks`` (integer KRW prices on a
coarse tick, many exact ties, plus near-ties from float noise of 1 ulp on 2 % of cells), under
``Conventions(ties="tolerant")`` (the default) and ``ties="exact"``. Prints best and median wall time
and the process CPU time of the timed calls; say the machine's load when quoting the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from lasps.alpha.conventions import Conventions
from lasps.alpha.operators import FAST_OPS


def make_inputs(rows: int, cols: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = 1e5 * np.exp(np.cumsum(rng.standard_normal((rows, cols)) * 0.02, axis=0))
    x[rng.random((rows, cols)) < 0.05] = np.nan
    ticks = np.round(x / 500.0) * 500.0
    noisy = rng.random((rows, cols)) < 0.02
    ticks[noisy] = np.nextafter(ticks[noisy], np.inf)
    return {"random": x, "ticks": ticks}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2900)
    ap.add_argument("--cols", type=int, default=4000)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    inputs = make_inputs(args.rows, args.cols)
    modes = {"tolerant": Conventions(), "exact": Conventions(ties="exact")} if "ties" in Conventions.__slots__ \
        else {"exact (no tie rule)": Conventions()}
    print(f"panel {args.rows} x {args.cols}, window {args.window}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'op':<10} {'input':<7} {'ties':<20} {'best s':>8} {'median s':>9} {'cpu s':>7}")
    for op in ("rank", "ts_rank", "ts_argmax", "ts_argmin"):
        for name, x in inputs.items():
            for mode, conv in modes.items():
                f = FAST_OPS[op]
                call = (lambda f=f, x=x, conv=conv: f(x, conv=conv)) if op == "rank" else (
                    lambda f=f, x=x, conv=conv: f(x, args.window, conv=conv))
                call()  # compile or load the numba cache
                walls = []
                c0 = time.process_time()
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    call()
                    walls.append(time.perf_counter() - t0)
                cpu = (time.process_time() - c0) / args.repeat
                print(f"{op:<10} {name:<7} {mode:<20} {min(walls):>8.3f} {statistics.median(walls):>9.3f} {cpu:>7.2f}")


if __name__ == "__main__":
    main()
