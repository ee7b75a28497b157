"""Time every fast operator on a random (T, N) = (2,900, 4,000) float64 panel (seed 0).

Run: ``python bench/operators_bench.py [--rows 2900] [--cols 4000] [--window 10] [--repeat 3]``.
Each operator is called once to warm up (numba compile or cache load), then timed ``--repeat`` times;
the table shows the best and the median wall time. Inputs look like prices (level ~1e5, 5% NaN).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from lasps.alpha.operators import FAST_OPS


def make_inputs(rows: int, cols: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random price-like panels x, y (level ~1e5, 5% NaN cells), a boolean panel c and groups g."""
    rng = np.random.default_rng(seed)
    x = 1e5 * np.exp(np.cumsum(rng.standard_normal((rows, cols)) * 0.02, axis=0))
    y = rng.standard_normal((rows, cols))
    x[rng.random((rows, cols)) < 0.05] = np.nan
    c = (rng.random((rows, cols)) < 0.5).astype(np.float64)
    g = rng.integers(0, 26, size=cols)
    return {"x": x, "y": y, "c": c, "g": g}


def calls(inp: dict[str, np.ndarray], d: int) -> dict[str, tuple[str, Callable[[], np.ndarray]]]:
    """Operator name -> (argument description, zero-argument call)."""
    x, y, c, g = inp["x"], inp["y"], inp["c"], inp["g"]
    f = FAST_OPS
    table: dict[str, tuple[str, Callable[[], np.ndarray]]] = {
        "rank": ("x", lambda: f["rank"](x)),
        "scale": ("x", lambda: f["scale"](x)),
        "indneutralize": ("x, g (26 groups)", lambda: f["indneutralize"](x, g)),
        "correlation": (f"x, y, {d}", lambda: f["correlation"](x, y, d)),
        "covariance": (f"x, y, {d}", lambda: f["covariance"](x, y, d)),
        "signedpower": ("y, 2", lambda: f["signedpower"](y, 2.0)),
        "where": ("c, x, y", lambda: f["where"](c, x, y)),
    }
    for name in ("delay", "delta", "decay_linear", "ts_min", "ts_max", "ts_argmin", "ts_argmax"):
        table[name] = (f"x, {d}", lambda name=name: f[name](x, d))
    for name in ("ts_rank", "ts_sum", "product", "stddev"):
        table[name] = (f"x, {d}", lambda name=name: f[name](x, d))
    for name in ("abs", "log", "sign", "neg"):
        table[name] = ("x", lambda name=name: f[name](x))
    for name in ("power", "min2", "max2", "lt", "le", "gt", "ge", "eq", "ne", "and_", "or_"):
        table[name] = ("x, y", lambda name=name: f[name](x, y))
    for name in ("add", "sub", "mul", "div"):
        table[name] = ("x, y", lambda name=name: f[name](x, y))
    missing = set(FAST_OPS) - set(table)
    if missing:
        raise SystemExit(f"bench has no call for {sorted(missing)}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2900)
    parser.add_argument("--cols", type=int, default=4000)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    inp = make_inputs(args.rows, args.cols)
    print(
        f"panel {args.rows} x {args.cols} float64, window {args.window}, best/median of {args.repeat}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus"
    )
    print(f"{'op':<14} {'args':<18} {'warm-up s':>10} {'best s':>8} {'median s':>9}")
    total = 0.0
    for name, (desc, call) in calls(inp, args.window).items():
        t0 = time.perf_counter()
        call()
        warm = time.perf_counter() - t0
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        best = min(times)
        total += best
        print(f"{name:<14} {desc:<18} {warm:>10.3f} {best:>8.3f} {statistics.median(times):>9.3f}")
    print(f"{'total (best)':<33} {total:>19.3f}")


if __name__ == "__main__":
    main()
