"""Benchmark: 100 one-year portfolio simulations on a 4,000-stock random panel (DESIGN §11: <= 10 s).

Usage::

    python bench/backtest_bench.py                      # 100 sims, 4,000 stocks, 252 sessions + warm-up
    python bench/backtest_bench.py --stocks 800 --sims 20
    pip install vectorbt                                # benchmark-only, not a LASPS dependency
    python bench/backtest_bench.py --vectorbt           # also time vectorbt on an equivalent strategy

The panel is random and deterministic (``--seed``): log-normal random-walk prices, ~1 % halted cells,
a few opens at the daily limits, twenty precomputed random alphas (plus their ``_rev`` variants). The
per-panel work is done once and reported separately: :class:`~lasps.backtest.market.SimMarket`
(fill masks, forward-filled closes, tax rates) and the daily ICs of the candidates (adaptive only).
Each timed simulation then runs the strategy (targets for its ~50 rebalances), the simulator (top-5,
5-session rebalance, 100,000,000 KRW) and the metrics. The 100 runs cycle through: single (each of
the 40 variants), ensemble and voting over random sets of 3–10 variants, and adaptive over all 40.
The numba kernels are compiled (or loaded from cache) on a small market first; that time is shown too.

``--vectorbt`` (if ``import vectorbt`` works) simulates a **single-alpha top-5 equal-weight** strategy
with ``Portfolio.from_orders(size_type='targetpercent', cash_sharing=True, call_seq='auto',
size_granularity=1)`` — target 20 % in each chosen code, 0 % in the others, at the next open, the
commission as a symmetric fee — on a copy of the panel without halts or locked opens (vectorbt has no
such rules) and with no sell tax and no KRW rounding (vectorbt's fees are symmetric). LASPS runs the
same targets with the same costs; the script prints both times, the ratio, and the difference in the
final values and trade counts. Known sources of difference: vectorbt sizes a target from the value at
the order price without reserving the fee (LASPS sizes ``floor(target / (price * (1 + fee)))``), and
vectorbt rebalances every code at every rebalance row in its own call order.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

try:
    import lasps  # noqa: F401
except ImportError:  # standalone use from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lasps.backtest.market import SimMarket
from lasps.backtest.metrics import compute_metrics
from lasps.backtest.selection import variant_ic
from lasps.backtest.simulator import SimConfig, simulate
from lasps.backtest.strategies import AdaptiveConfig, build_targets, rebalance_rows
from lasps.krx.calendar import sessions
from lasps.krx.costs import CostModel


def make_market(stocks: int, days: int, seed: int, clean: bool = False,
                costs: CostModel | None = None) -> tuple[SimMarket, np.ndarray]:
    """Random panel as a :class:`SimMarket` (``clean``: no halts, no locked opens) and its closes."""
    rng = np.random.default_rng(seed)
    dates = sessions("2023-01-02", "2026-12-31")[:days]
    T, N = len(dates), stocks
    ret = rng.normal(0.0003, 0.01, T)[:, None] + rng.standard_t(4, size=(T, N)) * 0.015
    close = np.exp(np.cumsum(ret, axis=0)) * rng.lognormal(9.0, 1.0, N)
    open_ = close * np.exp(rng.normal(0.0, 0.008, (T, N)))
    open_[1:] = np.clip(open_[1:], close[:-1] * 0.71, close[:-1] * 1.29)
    volume = np.round(rng.lognormal(11.0, 1.0, (T, N)))
    if not clean:
        lock = rng.random((T, N))
        open_[1:][lock[1:] < 0.002] = close[:-1][lock[1:] < 0.002] * 1.3  # at (or above) the upper limit
        open_[1:][lock[1:] > 0.998] = close[:-1][lock[1:] > 0.998] * 0.7
        halt = rng.random((T, N)) < 0.01
        open_[halt] = np.nan
        close[halt] = np.nan
        volume[halt] = np.nan
    market = SimMarket.from_arrays(dates, np.array([f"{j:06d}" for j in range(N)], dtype=object), open_, close,
                                   volume, costs=costs, benchmark=np.nanmean(close, axis=1),
                                   delist_row=np.full(N, -1))
    return market, close


def warm_up() -> float:
    t0 = time.perf_counter()
    m, _ = make_market(20, 30, 1)
    alphas = {"a": np.random.default_rng(0).normal(size=m.shape)}
    rows = rebalance_rows(10, 29, 5)
    t = build_targets("voting", alphas, ["a", "a_rev"], m.universe, rows, 3)
    compute_metrics(simulate(m, t, SimConfig(10, 29)))
    build_targets("single", alphas, ["a"], m.universe, rows, 3)
    return time.perf_counter() - t0


def plan(n: int, variants: list[str], rng: np.random.Generator) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    kinds = ["single", "single", "ensemble", "voting", "single", "ensemble", "voting", "single", "voting", "adaptive"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "single":
            out.append((kind, [variants[i % len(variants)]]))
        elif kind == "adaptive":
            out.append((kind, variants))
        else:
            k = int(rng.integers(3, 11))
            out.append((kind, list(rng.choice(variants, size=k, replace=False))))
    return out


def run_lasps(args: argparse.Namespace) -> float:
    """Time the LASPS simulations; return the mean seconds per full run (targets + simulate + metrics)."""
    compile_s = warm_up()
    warm = 40
    days = warm + args.days
    t0 = time.perf_counter()
    market, _ = make_market(args.stocks, days, args.seed)
    t1 = time.perf_counter()
    rng = np.random.default_rng(args.seed + 1)
    alphas = {f"alpha_{i:03d}": rng.normal(size=market.shape) for i in range(args.alphas)}
    variants = [v for a in alphas for v in (a, a + "_rev")]
    t2 = time.perf_counter()
    vic = variant_ic(alphas, variants, market.open, market.universe, 5)
    t3 = time.perf_counter()
    start, end = warm, days - 1
    rows = rebalance_rows(start, end, 5)
    cfg = AdaptiveConfig(lookback=20, n_select=3, min_days=10)
    runs = plan(args.sims, variants, rng)
    t_targets = t_sim = t_metrics = 0.0
    finals = []
    tt = time.perf_counter()
    for kind, vs in runs:
        a = time.perf_counter()
        targets = build_targets(kind, alphas, vs, market.universe, rows, 5, vic=vic if kind == "adaptive" else None,
                                adaptive_config=cfg)
        b = time.perf_counter()
        res = simulate(market, targets, SimConfig(start, end, 100_000_000.0))
        c = time.perf_counter()
        m = compute_metrics(res)
        d = time.perf_counter()
        t_targets += b - a
        t_sim += c - b
        t_metrics += d - c
        finals.append(m["total_return"])
    total = time.perf_counter() - tt
    print(f"machine: {os.cpu_count()} cores; panel {days} sessions x {args.stocks} stocks "
          f"({args.days} simulated), {args.alphas} alphas = {len(variants)} variants")
    print(f"numba compile / cache load (once):        {compile_s:6.2f} s")
    print(f"SimMarket (masks, ffill, tax; once):      {t1 - t0:6.2f} s   (random panel {t2 - t1:.2f} s)")
    print(f"daily ICs of {len(variants)} variants (adaptive; once): {t3 - t2:6.2f} s")
    print(f"{args.sims} simulations:                        {total:6.2f} s   "
          f"({1000 * total / args.sims:.1f} ms each; targets {t_targets:.2f} s, simulate {t_sim:.2f} s, "
          f"metrics {t_metrics:.2f} s)   target <= 10 s for 100")
    print(f"total returns: median {np.median(finals):+.3f}, min {np.min(finals):+.3f}, max {np.max(finals):+.3f}")
    return total / max(args.sims, 1)


def run_vectorbt(args: argparse.Namespace, per_run: float) -> None:
    try:
        import pandas as pd
        import vectorbt as vbt
    except ImportError as exc:
        print(f"--vectorbt: vectorbt is not importable ({exc}); `pip install vectorbt` to compare")
        return
    warm = 40
    days = warm + args.days
    fee = 0.00015
    costs = CostModel(commission=fee, tax_rate=0.0, round_krw=False)
    market, close = make_market(args.stocks, days, args.seed, clean=True, costs=costs)
    rng = np.random.default_rng(args.seed + 1)
    alpha = rng.normal(size=market.shape)
    start, end = warm, days - 1
    rows = rebalance_rows(start, end, 5)
    targets = build_targets("single", {"a": alpha}, ["a"], market.universe, rows, 5)
    t0 = time.perf_counter()
    ours = simulate(market, targets, SimConfig(start, end, 100_000_000.0))
    t_ours = time.perf_counter() - t0

    T, N = market.shape
    size = np.full((T, N), np.nan)
    for r, codes in zip(targets.fill_rows, targets.codes, strict=True):
        size[r] = 0.0
        size[r, codes[codes >= 0]] = 1.0 / targets.k
    sl = slice(start, end + 1)
    idx = pd.DatetimeIndex(market.dates[sl])
    kw = dict(close=pd.DataFrame(close[sl], index=idx), size=pd.DataFrame(size[sl], index=idx),
              size_type="targetpercent", price=pd.DataFrame(market.open[sl], index=idx), fees=fee,
              init_cash=100_000_000.0, cash_sharing=True, group_by=True, call_seq="auto", size_granularity=1.0,
              freq="1D")
    small = {k: (v.iloc[:, :50] if isinstance(v, pd.DataFrame) else v) for k, v in kw.items()}
    t0 = time.perf_counter()
    vbt.Portfolio.from_orders(**small)  # compile on a small frame
    vbt.Portfolio.from_orders(**kw).value()  # first full-size call (more compilation and caching)
    t_compile = time.perf_counter() - t0
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        pf = vbt.Portfolio.from_orders(**kw)
        value = np.asarray(pf.value()).ravel()
        times.append(time.perf_counter() - t0)
    t_vbt = min(times)
    n_orders = len(pf.orders.records)
    print(f"vectorbt {vbt.__version__}: compile + first full call {t_compile:.1f} s; one simulation {t_vbt:.2f} s "
          f"(best of 2) vs LASPS {1000 * t_ours:.1f} ms -> ratio {t_vbt / t_ours:.0f}x (100 sims: ~{100 * t_vbt:.0f} s "
          f"vs ~{100 * t_ours:.1f} s for the simulator alone); against a full LASPS run "
          f"(targets + simulate + metrics, {1000 * per_run:.0f} ms) {t_vbt / per_run:.0f}x")
    diff = value[-1] / ours.total_value[-1] - 1.0
    print(f"equivalent strategy (single alpha, top 5, every 5 sessions, fee {fee:.5f}, no tax, clean panel): "
          f"final value LASPS {ours.total_value[-1]:,.0f} vs vectorbt {value[-1]:,.0f} ({100 * diff:+.3f} %); "
          f"max daily |diff| {100 * np.max(np.abs(value / ours.total_value - 1)):.3f} %; "
          f"orders LASPS {len(ours.trades)} vs vectorbt {n_orders}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stocks", type=int, default=4_000)
    ap.add_argument("--days", type=int, default=252, help="simulated sessions per run")
    ap.add_argument("--sims", type=int, default=100)
    ap.add_argument("--alphas", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vectorbt", action="store_true", help="also time vectorbt on an equivalent strategy")
    args = ap.parse_args()
    per_run = run_lasps(args)
    if args.vectorbt:
        run_vectorbt(args, per_run)


if __name__ == "__main__":
    main()
