"""Benchmark and measurement of ``lasps alpha mine`` (results in docs/mining.md and docs/benchmarks.md).

Usage::

    python bench/mining_bench.py speed   [--stocks 1000 --days 1000 --trials 480 --batch 48]
    python bench/mining_bench.py planted [--stocks 300 --years 4 --budgets 100,200,400,800 --seeds 1,2,3]
    python bench/mining_bench.py null    [--stocks 300 --years 4 --trials 400 --seeds 1,2,3,4,5]

``speed``: candidate evaluations per second of the search loop (compile + values + train/valid IC +
fingerprint, and separately the whole generation including breeding and selection) on the random-walk
panel of ``bench/alpha_bench.py`` (``--days x --stocks``), with the process's peak RSS and CPU time;
``--batch`` sets the formulas per engine program (memory is bounded by it). Numba is warmed up on a
tiny panel first (compile time excluded).

``planted``: on default synthetic markets (``lasps data init`` with the given size and seeds), for
each trial budget, whether the shortlist holds a formula whose values have a mean daily cross-sectional
Spearman correlation >= 0.7 with a planted signal (recomputed from the panel as the generator defines
it), and the same for the naive in-sample top-K (the K fittest formulas, no validation filter).

``null``: on ``--signals none`` markets, the share of shortlisted formulas that pass (and runs with any
pass) beside what a naive in-sample top-K would have called significant (training Newey–West t >= 1.96)
and an uncorrected holdout test (holdout t >= 1.645).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
try:
    import lasps  # noqa: F401
except ImportError:  # standalone use from a source checkout
    sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from lasps.alpha.catalogue import AlphaSpec  # noqa: E402
from lasps.alpha.engine import compute  # noqa: E402
from lasps.data.panel_loader import load_panel  # noqa: E402
from lasps.data.sources.synthetic import config_for_signals, generate_synthetic  # noqa: E402
from lasps.data.store import MarketStore  # noqa: E402
from lasps.research.mining import scoring  # noqa: E402
from lasps.research.mining.grammar import DEFAULT_OPERATORS, TERMINALS, Grammar  # noqa: E402
from lasps.research.mining.run import mine, plan_mine  # noqa: E402
from lasps.research.mining.search import SearchConfig, run_search  # noqa: E402

K = 10


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def speed(args: argparse.Namespace) -> None:
    from alpha_bench import make_panel

    grammar = Grammar(DEFAULT_OPERATORS, tuple(TERMINALS), 4, 20, 60)
    t0 = time.perf_counter()
    run_search(make_panel(300, 60, seed=1), grammar, SearchConfig(trials=96, seed=0, batch=48))
    print(f"warm-up (numba compile/cache load) {time.perf_counter() - t0:.1f} s")
    panel = make_panel(args.days, args.stocks, seed=0)
    rss0 = rss_gib()
    spent = {"eval": 0.0}
    inner = scoring.score_formulas

    def timed(*a, **kw):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        for item in inner(*a, **kw):
            spent["eval"] += time.perf_counter() - t
            yield item
            t = time.perf_counter()
        spent["eval"] += time.perf_counter() - t

    import lasps.research.mining.search as search_mod

    search_mod.score_formulas = timed
    cfg = SearchConfig(trials=args.trials, seed=0, batch=args.batch, population=args.batch, patience=10**6)
    c0, w0 = time.process_time(), time.perf_counter()
    res = run_search(panel, grammar, cfg)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    n = res.n_trials
    print(f"panel {args.days} x {args.stocks}, batch {args.batch}, {n} trials in {res.state.generation} generations")
    print(f"  evaluation (compile + values + IC + fingerprint): {spent['eval']:.1f} s = {n / spent['eval']:.1f} "
          f"candidates/s")
    print(f"  whole search loop: {wall:.1f} s wall = {n / wall:.1f} candidates/s; CPU {cpu:.1f} s")
    print(f"  peak RSS {rss_gib():.2f} GiB (after building the panel: {rss0:.2f} GiB); "
          f"load average {os.getloadavg()[0]:.1f}")


def _store(root: Path, seed: int, stocks: int, years: float, signals: str) -> Path:
    home = root / f"{signals}-{seed}"
    home.mkdir(parents=True)
    with MarketStore(home) as store:
        store.write_bundle(generate_synthetic(stocks, years, seed, config=config_for_signals(signals)), kind="init")
    return home


def _planted(panel) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    C, V = pd.DataFrame(panel.close), pd.DataFrame(panel.volume)
    R = C / C.shift(1) - 1
    return {"reversal": -(C / C.shift(5) - 1), "divergence": -C.rolling(10).corr(V),
            "lowvol": -R.rolling(20).std(ddof=1)}


def _best_match(panel, planted, formulas: list[str]) -> tuple[float, str, str]:  # type: ignore[no-untyped-def]
    if not formulas:
        return (float("nan"), "", "")
    specs = [AlphaSpec.build(f"f{i}", f, id=None, kind="user") for i, f in enumerate(formulas)]
    vals = compute(panel, specs)
    best = (-1.0, "", "")
    for s in specs:
        v = pd.DataFrame(vals[s.name])
        for name, p in planted.items():
            m = v.notna() & p.notna() & panel.universe_mask
            ic = v.where(m).rank(axis=1).corrwith(p.where(m).rank(axis=1), axis=1)
            c = float(ic[m.sum(axis=1) >= 20].mean())
            best = max(best, (c, name, s.formula))
    return best


def _trials(run_dir: Path) -> list[dict]:
    return json.loads((run_dir / "checkpoint.json").read_text())["trials"]


def planted(args: argparse.Namespace) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            home = _store(Path(tmp), seed, args.stocks, args.years, "default")
            panel = load_panel(["open", "high", "low", "close", "volume", "value", "market_cap"], home=home)
            sig = _planted(panel)
            for budget in args.budgets:
                t0 = time.perf_counter()
                res = mine(plan_mine(home, SearchConfig(trials=budget, seed=seed)))
                c, name, f = _best_match(panel, sig, list(res.shortlist["formula"]))
                trials = _trials(res.directory)
                naive = sorted(trials, key=lambda t: -t["fitness"])[:K]
                naive_f = [t["formula"] if t["direction"] > 0 else f"-1 * ({t['formula']})" for t in naive]
                cn, _, _ = _best_match(panel, sig, naive_f)
                rows.append({"seed": seed, "budget": budget, "trials": res.run["trials"],
                             "shortlist_best_corr": round(c, 3), "signal": name, "found": c >= 0.7,
                             "naive_topk_best_corr": round(cn, 3), "passed": res.run["passed"],
                             "formula": f, "seconds": round(time.perf_counter() - t0, 1)})
                print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    found = df[df["found"]].groupby("seed")["budget"].min()
    print("smallest budget with a planted signal in the shortlist, per seed:", found.to_dict())


def null(args: argparse.Namespace) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            home = _store(Path(tmp), seed, args.stocks, args.years, "none")
            res = mine(plan_mine(home, SearchConfig(trials=args.trials, seed=seed)))
            trials = _trials(res.directory)
            naive = sorted(trials, key=lambda t: -t["fitness"])[:K]
            sl = res.shortlist
            rows.append({
                "seed": seed, "trials": res.run["trials"], "m_eff": round(res.run["method"]["m_eff"], 1),
                "t_threshold": round(res.run["method"]["t_threshold"], 2), "shortlisted": len(sl),
                "passed": int((sl["passed"] == "true").sum()),
                "naive_train_t>=1.96": sum(1 for t in naive if t["train_ic_t"] >= 1.96),
                "uncorrected_holdout_t>=1.645": int((sl["holdout_ic_t"].astype(float) >= 1.645).sum()),
            })
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    tot = df["shortlisted"].sum()
    print(f"false passes: {df['passed'].sum()} of {tot} shortlisted ({df['passed'].sum() / max(tot, 1):.1%}); "
          f"runs with any pass {int((df['passed'] > 0).sum())} of {len(df)}")
    print(f"naive in-sample top-{K} called significant: {df['naive_train_t>=1.96'].sum()} of {K * len(df)} "
          f"({df['naive_train_t>=1.96'].sum() / (K * len(df)):.1%}); uncorrected holdout t >= 1.645: "
          f"{df['uncorrected_holdout_t>=1.645'].sum()} of {tot}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--stocks", type=int, default=1000)
    s.add_argument("--days", type=int, default=1000)
    s.add_argument("--trials", type=int, default=480)
    s.add_argument("--batch", type=int, default=48)
    ints = lambda text: [int(x) for x in text.split(",")]  # noqa: E731
    for name in ("planted", "null"):
        p = sub.add_parser(name)
        p.add_argument("--stocks", type=int, default=300)
        p.add_argument("--years", type=float, default=4.0)
        p.add_argument("--seeds", type=ints, default=[1, 2, 3] if name == "planted" else [1, 2, 3, 4, 5])
        if name == "planted":
            p.add_argument("--budgets", type=ints, default=[100, 200, 400, 800])
        else:
            p.add_argument("--trials", type=int, default=400)
    args = ap.parse_args()
    {"speed": speed, "planted": planted, "null": null}[args.what](args)


if __name__ == "__main__":
    main()
