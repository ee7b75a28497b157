"""Benchmark: evaluate 101 alphas = 202 variants (IC, deciles, long-short, turnover) on a big panel.

Usage::

    python bench/research_bench.py                          # 2,900 days x 4,000 stocks, 101 alphas
    python bench/research_bench.py --days 500 --stocks 800  # quick
    python bench/research_bench.py --engine                 # the real 101 alphas from the engine
    python bench/research_bench.py --alphalens              # also time alphalens-reloaded on one factor

Panel: a deterministic random walk (``--seed``) with next-open forward returns (h = 5), ~2 % missing
cells and a staggered universe. Alphas (default): 101 "random-ish" alphas cycling through the shapes
real alphas have — continuous, heavy-tailed, rank-like with many ties, binary, and with warm-up NaN
rows and 20 % missing cells — generated on the fly and dropped after use (their generation time is
excluded). ``--engine`` streams the 101 paper alphas from :func:`lasps.alpha.engine.compile_alphas`
instead (their computation time is reported separately, not counted as evaluation).

Timed (the DESIGN §11 target is <= 20 s and <= 8 GiB on 2 cores for the first line): the evaluation
(one kernel pass per alpha, both directions), then the ranking table of all variants x 4 splits, a
walk-forward (top 10, 252-day lookback), the overfitting statistics (DSR + PBO, 16 blocks) and the
correlation matrix. Kernels are JIT-compiled on a tiny panel first (compile time printed separately).
Peak memory is the process high-water mark (``resource.getrusage``).

``--alphalens`` times alphalens-reloaded on one factor at the same size (clean + forward returns,
IC, quantile mean returns) and prints the per-factor ratio against LASPS' per-alpha evaluation time.
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


def make_prices(days: int, stocks: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(open, close, universe)`` of a random-walk panel with missing cells and staggered listings."""
    rng = np.random.default_rng(seed)
    ret = rng.standard_t(4, size=(days, stocks)).astype(np.float64) * 0.015
    close = np.exp(np.cumsum(ret, axis=0)) * 10_000.0
    del ret
    open_ = close * np.exp(rng.normal(0.0, 0.008, (days, stocks)))
    missing = rng.random((days, stocks)) < 0.02
    open_[missing] = np.nan
    close[missing] = np.nan
    listed = rng.integers(0, days // 3, stocks)
    universe = np.arange(days)[:, None] >= listed[None, :] + 65
    return open_, close, universe


def random_alphas(n: int, days: int, stocks: int, seed: int, timer: list[float],  # type: ignore[no-untyped-def]
                  ctimer: list[float]):
    """Yield ``n`` (name, (T, N)) alphas of mixed shapes; time spent here is added to the timers."""
    rng = np.random.default_rng(seed + 1)
    base = rng.normal(size=(days, stocks))
    for i in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        kind = i % 5
        a = np.roll(base, shift=37 * i + 1, axis=1)
        if kind == 1:
            a = np.round(np.abs(a) * 10) / 50.0             # rank-like with many ties
        elif kind == 2:
            a = np.sign(a) * a * a * a                       # heavy tails
        elif kind == 3:
            a = (a > 0.5).astype(np.float64)                 # binary (~30 % ones)
        elif kind == 4:
            a = a.copy()
            a[: 20 + i] = np.nan                              # warm-up rows
            a[np.roll(np.abs(base) < 0.25, shift=i, axis=0)] = np.nan   # ~20 % missing
        timer[0] += time.perf_counter() - t0
        ctimer[0] += time.process_time() - c0
        yield f"alpha_{i + 1:03d}", a
        del a


def engine_alphas(days: int, stocks: int, seed: int, timer: list[float],  # type: ignore[no-untyped-def]
                  ctimer: list[float]):
    """Yield the 101 paper alphas computed by the engine on a full random-walk panel (the forward
    returns come from the bench's own random walk: only the speed matters here)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from alpha_bench import make_panel  # type: ignore[import-not-found]
    from lasps.alpha.engine import compile_alphas

    t0, c0 = time.perf_counter(), time.process_time()
    panel = make_panel(days, stocks, seed)
    program = compile_alphas(list(range(1, 102)), panel)
    it = program.run(panel)
    timer[0] += time.perf_counter() - t0
    ctimer[0] += time.process_time() - c0
    while True:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            name, values = next(it)
        except StopIteration:
            return
        finally:
            timer[0] += time.perf_counter() - t0
            ctimer[0] += time.process_time() - c0
        yield name, values


def warm_up() -> float:
    from lasps.research.evaluate import EvalConfig, evaluate_arrays
    from lasps.research.forward import forward_returns

    t0 = time.perf_counter()
    o, c, u = make_prices(60, 30, 0)
    f = forward_returns(o, c, 5, "open")
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + 60)
    evaluate_arrays({"a": np.random.default_rng(0).normal(size=(60, 30))}, f, u | True, dates,
                    np.arange(30).astype(str), EvalConfig())
    return time.perf_counter() - t0


def time_alphalens(alpha: np.ndarray, open_: np.ndarray, universe: np.ndarray, dates: np.ndarray) -> dict[str, float]:
    import warnings

    import alphalens as al
    import pandas as pd

    idx = pd.DatetimeIndex(dates)
    cols = [f"{i:06d}" for i in range(alpha.shape[1])]
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    factor = pd.DataFrame(np.where(universe, alpha, np.nan), index=idx, columns=cols).stack().dropna()
    factor.index.names = ["date", "asset"]
    prices = pd.DataFrame(open_, index=idx, columns=cols).shift(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fd = al.utils.get_clean_factor_and_forward_returns(factor, prices, quantiles=10, periods=(5,),
                                                           max_loss=1.0)
        out["clean + forward returns"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        al.performance.factor_information_coefficient(fd)
        out["IC"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        al.performance.mean_return_by_quantile(fd, by_date=True, demeaned=False)
        out["quantile returns"] = time.perf_counter() - t2
    out["total"] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=2900)
    ap.add_argument("--stocks", type=int, default=4000)
    ap.add_argument("--alphas", type=int, default=101)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="numba threads (default 2: the target machine)")
    ap.add_argument("--engine", action="store_true", help="evaluate the engine's 101 paper alphas")
    ap.add_argument("--alphalens", action="store_true", help="also time alphalens-reloaded on one factor")
    ap.add_argument("--skip-extras", action="store_true", help="only the evaluation (no walk-forward etc.)")
    args = ap.parse_args()

    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    from rich.console import Console
    from rich.table import Table

    from lasps.alpha.engine import tune_allocator
    from lasps.research.correlation import alpha_correlation
    from lasps.research.evaluate import EvalConfig, evaluate_arrays
    from lasps.research.forward import forward_returns
    from lasps.research.overfit import overfit_report
    from lasps.research.ranking import rank_table
    from lasps.research.walkforward import WalkForwardConfig, walk_forward

    tune_allocator()  # as `lasps eval` does: per-alpha buffers from the heap
    console = Console()
    compile_s = warm_up()
    T, N = args.days, args.stocks
    t0 = time.perf_counter()
    open_, close, universe = make_prices(T, N, args.seed)
    dates = np.busday_offset(np.datetime64("2015-01-02"), np.arange(T), roll="forward")
    gen_s = time.perf_counter() - t0

    rows: list[tuple[str, float, float]] = []   # (step, wall s, CPU s of all threads)
    t0, c0 = time.perf_counter(), time.process_time()
    fwd = forward_returns(open_, close, 5, "open")
    rows.append(("forward returns (h = 5, next open)", time.perf_counter() - t0, time.process_time() - c0))
    timer, ctimer = [0.0], [0.0]
    source = (engine_alphas(T, N, args.seed, timer, ctimer) if args.engine
              else random_alphas(args.alphas, T, N, args.seed, timer, ctimer))
    t0, c0 = time.perf_counter(), time.process_time()
    ev = evaluate_arrays(source, fwd, universe, dates, np.array([f"{i:06d}" for i in range(N)]), EvalConfig())
    eval_s = time.perf_counter() - t0 - timer[0]
    rows.append((f"evaluate {len(ev.alphas)} alphas = {ev.n_variants} variants (IC, deciles, LS, turnover)",
                 eval_s, time.process_time() - c0 - ctimer[0]))
    if not args.skip_extras:
        steps = [
            (f"ranking table ({ev.n_variants} variants x 4 splits)", lambda: rank_table(ev)),
            ("walk-forward (top 10, lookback 252) + comparisons",
             lambda: walk_forward(ev, WalkForwardConfig(top=10, lookback=252))),
            ("overfitting: DSR + PBO (16 blocks, 12,870 splits)", lambda: overfit_report(ev, "ls", 16)),
            ("correlation matrix + clusters (120 dates)", lambda: alpha_correlation(ev)),
        ]
        for name, fn in steps:
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            rows.append((name, time.perf_counter() - t0, time.process_time() - c0))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    table = Table(title=f"research bench: {T:,} days x {N:,} stocks, {numba.get_num_threads()} numba threads, "
                        f"{os.cpu_count()} CPUs")
    table.add_column("step")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    for name, w, c in rows:
        table.add_row(name, f"{w:.2f}", f"{c:.2f}")
    table.add_row("[dim]JIT compile (first call, cached afterwards)[/]", f"[dim]{compile_s:.2f}[/]", "")
    table.add_row(f"[dim]panel generation / alpha {'computation' if args.engine else 'generation'} "
                  "(not counted)[/]", f"[dim]{gen_s:.2f} / {timer[0]:.2f}[/]", "")
    table.add_row("peak RSS (GiB)", f"{peak:.2f}", "")
    console.print(table)
    per_alpha = eval_s / max(1, len(ev.alphas))
    console.print(f"per alpha (both directions): {per_alpha:.3f} s wall; target: evaluation <= 20 s, peak <= 8 GiB "
                  f"on 2 cores. Load average at the end: {load:.1f} (wall times are only meaningful on an "
                  "otherwise idle machine; CPU s / threads is the lower bound)")

    if args.alphalens:
        a = next(random_alphas(1, T, N, args.seed, [0.0], [0.0]))[1]
        res = time_alphalens(a, open_, universe, dates)
        t = Table(title="alphalens-reloaded, one factor at the same size")
        t.add_column("step")
        t.add_column("seconds", justify="right")
        for k, v in res.items():
            t.add_row(k, f"{v:.2f}")
        console.print(t)
        console.print(f"alphalens / LASPS per factor: {res['total'] / per_alpha:.0f}x "
                      f"({res['total']:.1f} s vs {per_alpha:.3f} s; LASPS also does the reverse direction)")


if __name__ == "__main__":
    main()
