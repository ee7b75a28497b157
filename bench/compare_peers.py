"""Time our engine alpha by alpha on the peers' panel and write the comparison table ``bench/results/peers.md``.

With ``--end-to-end``: ``lasps alpha compute`` vs py-alpha-lib end to end from cold processes, side by side
(``bench/end_to_end.py``; py-alpha-lib in ``bench/peers/.venv-pyalphalib``, see bench/README.md), written to
``docs/benchmarks.md``::

    .venv/bin/python bench/compare_peers.py --end-to-end [--stocks 4000 --years 12 --rounds 1]

Run with the PROJECT interpreter, after ``make_bench_panel.py`` and ``peers_bench.py`` (see bench/README.md)::

    .venv/bin/python bench/compare_peers.py --panel /tmp/lasps_bench/panel_4000x2900_s0.npz \\
        --times bench/results/peers_times.json

Our side, measured the way the peers are: the panel is rebuilt from the ``.npz`` (``value`` and
``market_cap`` as stored fields, so ``vwap``/``returns``/``cap`` derive bit-for-bit as the peers got them;
derived inputs are touched before timing, as ``alpha_bench.py`` does), the allocator is tuned as
``lasps alpha compute`` does, and every kernel is JIT-compiled first on a tiny panel
(``alpha_bench.make_panel(300, 70, seed=1)``, all alphas). Then

* per alpha: ``lasps.alpha.engine.compute(panel, [k])`` timed once per alpha (result kept in memory like
  ``compute`` does, then dropped) - the number the peers' per-alpha calls are compared with;
* all 101 at once: ``compile_alphas(range(1, 102))`` + ``Program.run`` (one shared DAG, common
  sub-expressions computed once, results streamed and dropped as ``lasps alpha compute`` does).

The table's ratio is peer seconds / our seconds (how many times longer the peer takes). Totals are over
the alphas both sides computed. It also compares the last rows of the alphas the peers saved (default
1, 4, 12, 101) with ours - not expected to be equal where conventions differ (see the note written
into the report).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))
try:
    import lasps
except ImportError:  # standalone use from a source checkout
    sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from alpha_bench import make_panel  # noqa: E402  (bench/ is not a package)
from lasps.alpha.catalogue import CUSTOM_IDS  # noqa: E402
from lasps.alpha.engine import compile_alphas, compute, tune_allocator  # noqa: E402
from lasps.data.panel import Panel  # noqa: E402

PEERS = ("alpha101v", "alpha101-pipeline")

CONVENTIONS = """\
**Conventions differ, so the peers' values are not ours** (the timings compare the same formulas, not
identical numbers). Ours (LASPS default `Conventions`): fractional windows floor to whole days (the
paper's rule), `rank` = average-tie rank / count in (0, 1], `ts_rank` = rank / d, `ts_argmax/argmin` =
1..d counted from the oldest row, sample `stddev`/`covariance` (ddof 1), a zero-variance `correlation` is
0, `adv{d}` = mean share volume, a window holding a NaN gives NaN, IndNeutralize = demeaning within our
single industry level. **alpha101v** also floors windows and keeps strict windows, but ranks are
(r-1)/(n-1) in [0, 1], `ts_argmax/argmin` count days ago (today = 0, the reverse order), `stddev`/
`covariance` use ddof 0, a zero-variance correlation is NaN, `decay_linear` treats a NaN as 0,
`x^y` drops the sign of a negative base, and `adv{d}` is the mean of its `amount` input (we pass the
traded value, the paper's dollar volume, unless `--amount volume`). **alpha101-pipeline** rounds
fractional windows to the nearest day, ranks with `rank_pct` = (row_number - 1)/(count - 1) (ties broken
by stock id, NULL rows counted; its default `rank` is the ordinal 0..n-1), uses SQL window aggregates
that skip NULLs and give values on partial windows (no warm-up NaN), computes `returns` itself
(`ts_pct_change(close, 1)`), uses `adv{d}` = mean(volume * close), rewrites alpha 7's condition to
`adv20 < volume * close`, and its `x^y` is the SQL `pow`. Its per-alpha time includes reading the long
Parquet panel and writing the alpha to Parquet (its API works file to file; see its I/O floor above);
ours and alpha101v's are in memory."""


def load_panel(path: Path) -> tuple[Panel, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as z:
        raw = {k: z[k] for k in z.files}
    fields = {name: np.ascontiguousarray(raw[name], dtype=np.float64)
              for name in ("open", "high", "low", "close", "volume", "value")}
    fields["market_cap"] = np.ascontiguousarray(raw["cap"], dtype=np.float64)
    panel = Panel(dates=raw["dates"], codes=raw["codes"].astype(object), fields=fields,
                  industry=raw["industry"].astype(np.int64), index={"1001": raw["index_close"]})
    for name in ("vwap", "returns", "cap"):
        derived = panel.field(name)
        if not np.array_equal(derived, raw[name], equal_nan=True):
            print(f"warning: derived {name} differs from the panel file's {name}", file=sys.stderr)
    return panel, raw


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def cpu_s() -> float:
    """User + system CPU seconds of this process, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def time_ours(panel: Panel, ids: list[int], save: set[int],
              rows: int) -> tuple[dict[int, float], dict[int, float], dict[int, Any]]:
    times: dict[int, float] = {}
    cpu: dict[int, float] = {}
    tails: dict[int, np.ndarray] = {}
    for k in ids:
        c0, t0 = cpu_s(), time.perf_counter()
        res = compute(panel, [k])
        times[k] = time.perf_counter() - t0
        cpu[k] = cpu_s() - c0
        if res.unavailable:
            raise RuntimeError(f"alpha {k} unavailable on the bench panel: {res.unavailable}")
        if k in save:
            tails[k] = np.array(next(iter(res.values()))[-rows:])
        del res
        print(f"[ours] alpha {k:3d}: {times[k]:7.3f} s", flush=True)
    return times, cpu, tails


def time_all(panel: Panel) -> tuple[float, float, int]:
    c0, t0 = cpu_s(), time.perf_counter()
    program = compile_alphas(list(range(1, 102)), panel)
    n = 0
    for _name, _arr in program.run(panel):
        n += 1
    return time.perf_counter() - t0, cpu_s() - c0, n


def agreement(ours: np.ndarray, peer: np.ndarray) -> dict[str, float]:
    """Pooled statistics over the cells both have finite; ``corr`` is Pearson, ``rank_corr`` Spearman-like
    (Pearson of per-row ranks, averaged over rows)."""
    a, b = np.asarray(ours, float), np.asarray(peer, float)
    fin_a, both = np.isfinite(a), np.isfinite(a) & np.isfinite(b)
    out: dict[str, float] = {"ours_finite": float(fin_a.mean()), "both_finite": float(both.mean())}
    if both.sum() < 3:
        return out | {"corr": float("nan"), "rank_corr": float("nan"), "max_abs_diff": float("nan"),
                      "equal": float("nan")}
    x, y = a[both], b[both]
    sx, sy = x.std(), y.std()
    out["corr"] = float(np.corrcoef(x, y)[0, 1]) if sx > 0 and sy > 0 else float("nan")
    out["max_abs_diff"] = float(np.max(np.abs(x - y)))
    out["equal"] = float(np.mean(np.abs(x - y) <= 1e-9 * np.maximum(1.0, np.abs(x))))
    rcs = []
    for r in range(a.shape[0]):
        m = both[r]
        if m.sum() < 3:
            continue
        ra = np.argsort(np.argsort(a[r, m])).astype(float)
        rb = np.argsort(np.argsort(b[r, m])).astype(float)
        if ra.std() > 0 and rb.std() > 0:
            rcs.append(np.corrcoef(ra, rb)[0, 1])
    out["rank_corr"] = float(np.mean(rcs)) if rcs else float("nan")
    return out


def fmt_s(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def fmt_ratio(peer: float | None, ours: float | None) -> str:
    if peer is None or ours is None or ours <= 0:
        return "-"
    r = peer / ours
    return f"{r:.0f}x" if r >= 100 else f"{r:.1f}x"


def build_report(args: argparse.Namespace, shape: tuple[int, int], ours: dict[int, float],
                 ours_cpu: dict[int, float], all_s: float, all_cpu: float, all_rss: float, warm_s: float,
                 peer_times: dict[str, dict[int, float]], meta: dict[str, Any],
                 agree: dict[str, dict[int, dict[str, float]]], env: dict[str, str]) -> str:
    T, N = shape
    L: list[str] = []
    L.append("# Our alpha engine vs two pip-installable 101-alpha peers")
    L.append("")
    L.append(f"Generated by `bench/compare_peers.py` on {env['date']}. Panel: `{args.panel.name}` = "
             f"{T:,} dates x {N:,} codes, the random-walk panel of `bench/alpha_bench.py` "
             f"(seed {env['seed']}; NaN before staggered listings and on 0.1 % halted days, 26 industries).")
    L.append(f"Machine: {env['cpu']}, {env['cores']} cores available, {env['mem']}; load average (1, 5, 15 "
             f"min) {env['load']} when our timing started, {env['load_end']} when it ended (shared machine, "
             "single runs: wall times are inflated when the load exceeds the cores; the CPU columns are not).")
    L.append("")
    L.append("| side | version | how it was called | threads |")
    L.append("|---|---|---|---|")
    L.append(f"| ours | lasps {env['lasps']} (numpy {np.__version__}, numba {env['numba']}) | "
             "`engine.compute(panel, [k])` per alpha, in memory | numba "
             f"{env['numba_threads']} + {env['cores']} elementwise workers |")
    for p in PEERS:
        m = meta.get(p)
        if not m:
            L.append(f"| {p} | not run | - | - |")
            continue
        settings = m.get("settings", {})
        extra = "; ".join(f"{k}: {v}" for k, v in settings.items() if k != "api")
        threads = (f"DuckDB: {settings.get('duckdb threads')}" if p == "alpha101-pipeline"
                   else "1 (pandas/numpy; BLAS not involved)")
        L.append(f"| {p} | {m.get('version', '?')} | `{settings.get('api', '?')}`; {extra} | {threads} |")
    L.append("")

    budgets = {p: meta[p].get("budget_s") for p in PEERS if p in meta}
    L.append("Each peer ran in its own process with a time budget "
             + ", ".join(f"{p} {b:.0f} s" for p, b in budgets.items() if b is not None)
             + " of timed seconds, alphas in `peers_bench.py`'s `spread` order (101, 12, 1, 4, then a fixed "
             "permutation), each warmed on a 300 x 60 slice first and timed once on the full panel; so the "
             "peers cover a sample of the catalogue. Our per-alpha times are for all 101 alphas.")
    L.append("")
    L.append("| alpha | ours (s) | alpha101v (s) | ratio | alpha101-pipeline (s) | ratio |")
    L.append("|---:|---:|---:|---:|---:|---:|")
    for k in sorted(ours):
        a, b = peer_times.get(PEERS[0], {}).get(k), peer_times.get(PEERS[1], {}).get(k)
        L.append(f"| {k} | {fmt_s(ours[k])} | {fmt_s(a)} | {fmt_ratio(a, ours[k])} | {fmt_s(b)} | "
                 f"{fmt_ratio(b, ours[k])} |")
    L.append("")
    L.append("**Totals** over the alphas both sides computed (ours = sum of the per-alpha `compute` calls). "
             "Wall seconds, and CPU seconds (user + system, all threads of the process), which other load on "
             "a shared machine barely changes:")
    L.append("")
    L.append("| peer | alphas | ours wall (s) | peer wall (s) | wall ratio | ours CPU (s) | peer CPU (s) | CPU ratio |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    both = [k for k in ours if all(k in peer_times.get(p, {}) for p in PEERS)]
    rows = [(p, p, [k for k in peer_times.get(p, {}) if k in ours]) for p in PEERS]
    rows += [(f"{p}, on the {len(both)} alphas all three computed", p, both)
             for p, _, common in list(rows) if both and len(common) > len(both)]
    for label, p, common in rows:
        if not common:
            L.append(f"| {label} | 0 | - | - | - | - | - | - |")
            continue
        pt, pc = peer_times[p], {int(k): v for k, v in meta.get(p, {}).get("cpu", {}).items()}
        so, sp = sum(ours[k] for k in common), sum(pt[k] for k in common)
        co = sum(ours_cpu[k] for k in common)
        cp = sum(pc[k] for k in common) if all(k in pc for k in common) else None
        cp_s = "-" if cp is None else f"{cp:.1f}"
        L.append(f"| {label} | {len(common)} | {so:.2f} | {sp:.1f} | {fmt_ratio(sp, so)} | {co:.2f} | {cp_s} | "
                 f"{fmt_ratio(cp, co)} |")
    L.append("")
    sum_ours = sum(ours.values())
    L.append(f"Ours for all {len(ours)} alphas: {sum_ours:.1f} s wall ({sum(ours_cpu.values()):.1f} s CPU) as "
             f"separate `compute(panel, [k])` calls; **{all_s:.1f} s wall ({all_cpu:.1f} s CPU) all 101 at "
             f"once** (one DAG, shared sub-expressions, results streamed; peak RSS of this process "
             f"{all_rss:.2f} GiB). JIT warm-up (compile or load cached kernels, not timed above): {warm_s:.1f} s.")
    for p in PEERS:
        pt = peer_times.get(p, {})
        if pt and len(pt) < 101:
            mean = sum(pt.values()) / len(pt)
            L.append(f"Rough full-catalogue estimate for {p}: {len(pt)} alphas timed, mean {mean:.1f} s/alpha "
                     f"-> ~{mean * 101:,.0f} s for 101 (an extrapolation from a sample, not a measurement).")
        elif pt:
            L.append(f"{p}: all {len(pt)} alphas timed, {sum(pt.values()):.1f} s in total.")
    pipe = meta.get("alpha101-pipeline", {})
    if pipe.get("io_floor_s") is not None:
        L.append(f"alpha101-pipeline I/O floor (its identity formula `close`: scan the long Parquet, write "
                 f"one column): {pipe['io_floor_s']:.2f} s per call - included in each of its times.")
    L.append("")

    notes = []
    for p in PEERS:
        m = meta.get(p, {})
        for k, why in sorted(m.get("failed", {}).items(), key=lambda kv: int(kv[0])):
            notes.append(f"- {p} alpha {k} failed: {why}")
        if m.get("killed"):
            kd = m["killed"]
            notes.append(f"- {p} alpha {kd['alpha']} was still running after {kd['after_s']:.0f} s past the "
                         "budget and was killed (not in the table).")
        if m.get("returncode") not in (0, None) and not m.get("killed"):
            notes.append(f"- {p}: the benchmark process exited with code {m['returncode']} "
                         f"(stage {m.get('stage')}).")
        if m.get("peak_rss_gib") is not None:
            la = [m.get("loadavg_at_start"), m.get("loadavg_at_end")]
            la_s = " -> ".join(f"{v[0]:.1f}" for v in la if v)
            notes.append(f"- {p}: peak RSS {m['peak_rss_gib']:.2f} GiB; panel conversion (not timed) "
                         f"{m.get('load_s', float('nan')):.1f} s; 1-min load average {la_s or '?'}.")
    if notes:
        L.append("Peer runs:")
        L.append("")
        L.extend(notes)
        L.append("")

    if agree:
        L.append(f"**Agreement** on the last {args.rows} dates (all codes), cells finite on both sides: Pearson "
                 "`corr`, mean per-date rank correlation `rank corr`, share of cells equal to 1e-9 relative. "
                 "Differences come from the conventions below, not from errors on either side.")
        L.append("")
        L.append("| alpha | peer | ours finite | both finite | corr | rank corr | equal | max abs diff |")
        L.append("|---:|---|---:|---:|---:|---:|---:|---:|")
        for p in PEERS:
            for k, st in sorted(agree.get(p, {}).items()):
                L.append(f"| {k} | {p} | {st['ours_finite']:.1%} | {st['both_finite']:.1%} | {st['corr']:.4f} | "
                         f"{st['rank_corr']:.4f} | {st['equal']:.1%} | {st['max_abs_diff']:.3g} |")
        L.append("")
        L.append("Alphas 12 and 101 involve no rank, window or tie convention, so they should match exactly. "
                 "Alpha 1 = rank(ts_argmax(...)) - 0.5: alpha101v counts ts_argmax in days ago (today = 0), the "
                 "reverse of ours, hence a correlation near -1; alpha101-pipeline counts like us but its "
                 "rank_pct breaks ties by stock id and its stddev/ts windows skip NULLs. Alpha 4 = "
                 "-ts_rank(rank(low), 9) differs by the rank scalings ((r-1)/(n-1) vs r/n) and ts_rank ties.")
        L.append("")
    L.append(CONVENTIONS)
    L.append("")
    L.append("Reproduce: see `bench/README.md` (build the panel, run `peers_bench.py` with the peer virtualenv, "
             "run this script).")
    L.append("")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panel", type=Path, default=Path("/tmp/lasps_bench/panel_4000x2900_s0.npz"))
    ap.add_argument("--times", type=Path, default=Path("bench/results/peers_times.json"),
                    help="peers_bench.py output (its .meta.json next to it is read too)")
    ap.add_argument("--out-md", type=Path, default=Path("bench/results/peers.md"))
    ap.add_argument("--alphas", default="1-101", help="our alphas to time one by one (default 1-101)")
    ap.add_argument("--rows", type=int, default=50, help="rows compared with the peers' saved outputs")
    ap.add_argument("--no-tune", action="store_true", help="keep glibc's default allocator settings")
    ap.add_argument("--ours-json", type=Path, default=Path("bench/results/peers_ours.json"),
                    help="where our timings are saved (and read back with --report-only)")
    ap.add_argument("--report-only", action="store_true",
                    help="do not time anything: rebuild the report from --ours-json and the peers' files")
    ap.add_argument("--end-to-end", action="store_true",
                    help="instead: `lasps alpha compute` vs py-alpha-lib end to end, both from cold processes "
                         "(bench/end_to_end.py), written to docs/benchmarks.md")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lasps_bench/e2e"),
                    help="--end-to-end: where the synthetic market, the peer's panel and outputs live")
    ap.add_argument("--stocks", type=int, default=4000, help="--end-to-end: synthetic market size")
    ap.add_argument("--years", type=float, default=12.0, help="--end-to-end: synthetic market length")
    ap.add_argument("--rounds", type=int, default=1, help="--end-to-end: ours+peer pairs to run")
    ap.add_argument("--doc", type=Path, default=BENCH_DIR.parent / "docs" / "benchmarks.md",
                    help="--end-to-end: markdown file whose e2e-peers section is replaced")
    args = ap.parse_args(argv)
    if args.end_to_end:
        import end_to_end

        return end_to_end.main(args.work, args.stocks, args.years, 0, args.rounds, args.doc)

    ids: list[int] = []
    for part in args.alphas.split(","):
        lo, _, hi = part.strip().partition("-")
        ids.extend(range(int(lo), int(hi or lo) + 1))

    peer_times: dict[str, dict[int, float]] = {}
    meta: dict[str, Any] = {}
    if args.times.exists():
        loaded = json.loads(args.times.read_text())
        peer_times = {p: {int(k): float(v) for k, v in d.items()} for p, d in loaded.items()}
        meta_path = args.times.with_suffix(".meta.json")
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
    else:
        print(f"note: {args.times} not found - reporting our engine only", file=sys.stderr)

    if args.report_only:
        if not args.ours_json.exists():
            ap.error(f"--report-only needs {args.ours_json} from an earlier timing run")
        ours_run = json.loads(args.ours_json.read_text())
    else:
        ours_run = time_our_engine(args, ids, meta)
        args.ours_json.parent.mkdir(parents=True, exist_ok=True)
        args.ours_json.write_text(json.dumps(ours_run, indent=1))
    args.rows = ours_run["rows"]
    args.panel = Path(ours_run["panel"])
    ours = {int(k): v for k, v in ours_run["times"].items()}
    ours_cpu = {int(k): v for k, v in ours_run["cpu"].items()}
    agree = {p: {int(k): st for k, st in d.items()} for p, d in ours_run["agree"].items()}
    report = build_report(args, tuple(ours_run["shape"]), ours, ours_cpu, ours_run["all_s"], ours_run["all_cpu"],
                          ours_run["all_rss"], ours_run["warm_s"], peer_times, meta, agree, ours_run["env"])
    args.out_md.parent.mkdir(parents=True, exist_ok=True)
    args.out_md.write_text(report)
    print()
    print(report)
    print(f"wrote {args.out_md} (our timings: {args.ours_json})")
    return 0


def time_our_engine(args: argparse.Namespace, ids: list[int], meta: dict[str, Any]) -> dict[str, Any]:
    """Warm up, load the panel, time our engine per alpha and all at once; compare with the peers' outputs."""
    import numba

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    tuned = False if args.no_tune else tune_allocator()
    print(f"allocator tuned: {tuned}; numba threads: {numba.get_num_threads()}; load average {load}")
    t0 = time.perf_counter()
    warm = make_panel(300, 70, seed=1)
    compute(warm, list(range(1, 102)) + list(CUSTOM_IDS))
    warm_s = time.perf_counter() - t0
    print(f"JIT warm-up: {warm_s:.1f} s")

    t0 = time.perf_counter()
    panel, raw = load_panel(args.panel)
    T, N = panel.shape
    print(f"panel {T} x {N} loaded in {time.perf_counter() - t0:.1f} s")

    save: set[int] = set()
    peer_tails: dict[str, dict[int, np.ndarray]] = {}
    for p in PEERS:
        path = meta.get(p, {}).get("outputs_npz")
        if path and Path(path).exists():
            with np.load(path, allow_pickle=False) as z:
                tails = {int(k[5:]): z[k] for k in z.files if k.startswith("alpha")}
                same = len(z["dates"]) > 0 and z["dates"][-1] == raw["dates"][-1] and len(z["codes"]) == N
            if not same:
                print(f"warning: {p} outputs are for another panel; skipping agreement", file=sys.stderr)
                continue
            peer_tails[p] = tails
            save |= set(tails)
    rows = min([args.rows] + [t.shape[0] for d in peer_tails.values() for t in d.values()])

    ours, ours_cpu, our_tails = time_ours(panel, ids, save, rows)
    all_s, all_cpu, n_all = time_all(panel)
    print(f"all 101 at once: {all_s:.1f} s wall, {all_cpu:.1f} s CPU ({n_all} alphas streamed)")

    agree: dict[str, dict[str, dict[str, float]]] = {}
    for p, tails in peer_tails.items():
        for k, arr in tails.items():
            if k in our_tails:
                agree.setdefault(p, {})[str(k)] = agreement(our_tails[k], arr[-rows:])
    env = {
        "date": _dt.date.today().isoformat(), "cpu": cpu_model(), "cores": str(len(os.sched_getaffinity(0))),
        "mem": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.0f} GiB RAM",
        "load": load, "load_end": ", ".join(f"{v:.1f}" for v in os.getloadavg()),
        "seed": str(int(raw["seed"])) if "seed" in raw else "?",
        "numba": numba.__version__, "numba_threads": str(numba.get_num_threads()),
        "lasps": getattr(lasps, "__version__", "?"),
    }
    return {"panel": str(args.panel), "shape": [T, N], "rows": rows, "times": ours, "cpu": ours_cpu,
            "all_s": all_s, "all_cpu": all_cpu, "all_rss": peak_rss_gib(), "warm_s": warm_s, "agree": agree,
            "env": env}


if __name__ == "__main__":
    raise SystemExit(main())
