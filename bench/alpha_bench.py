"""Benchmark: all 101 paper alphas (and the relative-strength alphas 201–205) on a random-walk panel.

Usage::

    python bench/alpha_bench.py                       # 2,900 days x 4,000 stocks (the DESIGN §11 size)
    python bench/alpha_bench.py --days 500 --stocks 800 --per-alpha

The panel is synthetic and deterministic (``--seed``, default 0): log-normal random-walk closes with
fat-tailed returns, open/high/low around them, log-normal volume, ``value = vwap * volume``, market cap,
26 industry groups, a KOSPI-like index, staggered listings and sparse trading halts (NaN). Kernels are
JIT-compiled on a tiny panel first so that the timing is the steady state; the compile time is printed
separately. Results are streamed (``Program.run``) and dropped, as ``lasps alpha compute`` does when it
writes Parquet, so peak memory is the panel plus the live intermediates — ``--keep`` collects all
results in memory instead (about 93 MB per alpha at full size).

Reports wall time, peak RSS (``resource.getrusage``; the process high-water mark) and, with
``--per-alpha``, the marginal seconds per alpha (time from the previous finished alpha; shared nodes are
charged to the first alpha that needs them). Target (DESIGN §11): <= 60 s and <= 8 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

try:
    import lasps  # noqa: F401
except ImportError:  # standalone use from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lasps.alpha.catalogue import CUSTOM_IDS
from lasps.alpha.conventions import DEFAULT
from lasps.alpha.engine import compile_alphas, tune_allocator
from lasps.alpha.operators import FAST_OPS
from lasps.data.panel import Panel


def make_panel(days: int, stocks: int, seed: int = 0, groups: int = 26) -> Panel:
    """Random-walk ``(days, stocks)`` panel with every field the alphas read (see module docstring)."""
    rng = np.random.default_rng(seed)
    T, N = days, stocks
    market = rng.normal(0.0003, 0.01, T)
    ret = market[:, None] + rng.standard_t(4, size=(T, N)) * 0.015
    close = np.exp(np.cumsum(ret, axis=0)) * rng.lognormal(9.0, 1.2, N)
    del ret
    open_ = close * np.exp(rng.normal(0.0, 0.008, (T, N)))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.01, (T, N))))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.01, (T, N))))
    volume = np.round(rng.lognormal(11.0, 1.0, (T, N)))
    vwap = low + (high - low) * rng.uniform(0.25, 0.75, (T, N))
    value = vwap * volume
    del vwap
    market_cap = close * rng.lognormal(16.0, 1.0, N)
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": volume, "value": value,
              "market_cap": market_cap}
    # staggered listings (20 % of codes start later) and 0.1 % halted days
    start = np.where(rng.random(N) < 0.2, rng.integers(0, T // 2, N), 0)
    missing = (np.arange(T)[:, None] < start[None, :]) | (rng.random((T, N)) < 0.001)
    for arr in fields.values():
        arr[missing] = np.nan
    index = 2000.0 * np.exp(np.cumsum(market))
    dates = np.datetime64("2015-01-02") + np.arange(T)
    codes = np.array([f"{i:06d}" for i in range(N)], dtype=object)
    return Panel(dates=dates, codes=codes, fields=fields, industry=rng.integers(0, groups, N),
                 index={"1001": index})


def peak_rss_gib() -> float:
    """Peak resident set size of this process in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


_LAST: dict[str, object] = {}


def run(panel: Panel, ids: list[int], keep: bool, numpy_elementwise: bool = False
        ) -> tuple[float, dict[str, float], int, int]:
    t0 = time.perf_counter()
    program = compile_alphas(ids, panel, DEFAULT)
    _LAST["program"] = program
    seconds: dict[str, float] = {}
    kept: dict[str, np.ndarray] = {}
    last = time.perf_counter()
    # a copy of the registry turns the engine's parallel elementwise kernels off (numpy ufuncs instead)
    for name, arr in program.run(panel, ops=dict(FAST_OPS) if numpy_elementwise else None):
        now = time.perf_counter()
        seconds[name] = now - last
        last = now
        if keep:
            kept[name] = arr
    return time.perf_counter() - t0, seconds, len(program.nodes), program.peak_live


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=2900)
    ap.add_argument("--stocks", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-custom", action="store_true", help="only the 101 paper alphas")
    ap.add_argument("--per-alpha", action="store_true", help="print the marginal time of every alpha")
    ap.add_argument("--keep", action="store_true", help="hold every result in memory (like compute())")
    ap.add_argument("--no-tune", action="store_true", help="keep glibc's default allocator settings")
    ap.add_argument("--by-op", action="store_true", help="print wall seconds and node count per operator")
    ap.add_argument("--numpy-elementwise", action="store_true",
                    help="evaluate elementwise nodes with the numpy FAST_OPS instead of the parallel kernels")
    args = ap.parse_args(argv)
    if not args.no_tune:
        print(f"allocator tuned for reuse: {tune_allocator()}")

    print(f"cores available: {len(os.sched_getaffinity(0))}; numba threads: ", end="")
    import numba

    print(numba.get_num_threads())
    t0 = time.perf_counter()
    warm = make_panel(300, 70, seed=1)
    run(warm, list(range(1, 102)) + list(CUSTOM_IDS), keep=False)
    print(f"JIT warm-up (compile or load cached kernels): {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    panel = make_panel(args.days, args.stocks, args.seed)
    for name in ("vwap", "returns", "cap"):
        panel.field(name)  # derived inputs are part of loading, not of computing alphas
    print(f"panel {args.days} x {args.stocks} built in {time.perf_counter() - t0:.1f} s; "
          f"RSS so far {peak_rss_gib():.2f} GiB")

    ids = list(range(1, 102))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    total, seconds, n_nodes, live = run(panel, ids, args.keep, args.numpy_elementwise)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(f"101 paper alphas: {total:.1f} s wall ({cpu:.1f} s CPU), {n_nodes} DAG nodes (after CSE), "
          f"peak live nodes {live}, peak RSS {peak_rss_gib():.2f} GiB")
    if args.by_op:
        program = _LAST["program"]
        counts: dict[str, int] = {}
        for node in program.nodes:  # type: ignore[attr-defined]
            counts[node.op] = counts.get(node.op, 0) + 1
        by_op = program.seconds_by_op  # type: ignore[attr-defined]
        print("wall seconds by operator (101 paper alphas; slowest first):")
        for op, s in sorted(by_op.items(), key=lambda kv: -kv[1]):
            print(f"  {op:14s} {s:7.2f} s  {counts.get(op, 0):4d} nodes  {s / max(counts.get(op, 1), 1):.3f} s/node")
    if not args.no_custom:
        t_c, sec_c, n_c, _ = run(panel, list(CUSTOM_IDS), args.keep)
        seconds.update(sec_c)
        print(f"alphas 201-205: {t_c:.1f} s wall, {n_c} DAG nodes, peak RSS {peak_rss_gib():.2f} GiB")
    if args.per_alpha:
        print("marginal seconds per alpha (slowest first):")
        for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
            print(f"  {name}  {s:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
