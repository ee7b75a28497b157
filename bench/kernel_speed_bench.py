"""Time the hottest fast kernels of the 101-alpha profile (rank, ts_rank, correlation, …) on (2,900, 4,000).

Run: ``python bench/kernel_speed_bench.py [--rows 2900] [--cols 4000] [--repeat 3]``.
Inputs: ``random`` (price-like floats, 5 % NaN, almost no ties) and ``ticks`` (the same prices on a
500 KRW tick with 1-ulp noise on 2 % of cells: many exact ties and near-ties), default
``Conventions`` (tolerant ties). ``ts_rank`` and ``correlation`` run at the windows the paper alphas
use most; ``ts_argmax``, ``ts_min``, ``ts_sum`` and ``decay_linear`` at d = 10. Prints best and median
wall time and the process CPU time per call (both cores count), and
the load average: the machine is shared, so compare CPU seconds, not wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from lasps.alpha.operators import FAST_OPS


def make_inputs(rows: int, cols: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = 1e5 * np.exp(np.cumsum(rng.standard_normal((rows, cols)) * 0.02, axis=0))
    x[rng.random((rows, cols)) < 0.05] = np.nan
    ticks = np.round(x / 500.0) * 500.0
    noisy = rng.random((rows, cols)) < 0.02
    ticks[noisy] = np.nextafter(ticks[noisy], np.inf)
    return {"random": x, "ticks": ticks}


def cases(inputs: dict[str, np.ndarray]) -> list[tuple[str, str, Callable[[], np.ndarray]]]:
    f = FAST_OPS
    out: list[tuple[str, str, Callable[[], np.ndarray]]] = []
    for name, x in inputs.items():
        y = np.roll(x, 1, axis=1)
        out.append(("rank", name, lambda x=x: f["rank"](x)))
        for d in (3, 10, 20):
            out.append((f"ts_rank d={d}", name, lambda x=x, d=d: f["ts_rank"](x, d)))
        for d in (6, 10):
            out.append((f"correlation d={d}", name, lambda x=x, y=y, d=d: f["correlation"](x, y, d)))
        for op in ("ts_argmax", "ts_min", "ts_sum", "decay_linear"):
            out.append((f"{op} d=10", name, lambda x=x, op=op: f[op](x, 10)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2900)
    ap.add_argument("--cols", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="run only cases whose name starts with this")
    args = ap.parse_args()
    inputs = make_inputs(args.rows, args.cols)
    print(f"panel {args.rows} x {args.cols}, load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cpus")
    print(f"{'kernel':<18} {'input':<7} {'best s':>8} {'median s':>9} {'cpu s':>7}")
    for op, name, call in cases(inputs):
        if not op.startswith(args.only):
            continue
        call()  # compile or load the numba cache
        walls = []
        c0 = time.process_time()
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            call()
            walls.append(time.perf_counter() - t0)
        cpu = (time.process_time() - c0) / args.repeat
        print(f"{op:<18} {name:<7} {min(walls):>8.3f} {statistics.median(walls):>9.3f} {cpu:>7.2f}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
