"""Benchmark: the executors (in-process, local process pool, Ray) on the 101 alphas and a 202-variant walk-forward.

Usage::

    python bench/scale_bench.py                                  # 1,000 days x 2,000 stocks (fits twice here)
    python bench/scale_bench.py --days 2900 --stocks 4000        # the DESIGN §11 reference panel
    python bench/scale_bench.py --no-ray --workers 2             # without the ray extra

Panel: ``alpha_bench.make_panel`` (deterministic random walk with every field the alphas read).

Part 1 — all 101 paper alphas, four ways (each checked bit for bit against the first):

* ``in-process``: one shared DAG, ``Program.run`` streaming (what ``lasps alpha compute`` does);
* ``local pool``: :class:`~lasps.scale.LocalExecutor` with ``--workers`` spawned processes, one batch
  per worker (:func:`~lasps.alpha.engine.plan_batches`), the panel in one shared-memory file;
* ``ray``: :class:`~lasps.scale.RayExecutor` on a local instance (``--workers`` CPUs), panel put once;
* ``ray, arrays back``: ``compute(panel, ids, executor=ray)`` — every ``(T, N)`` result travels to
  the driver through the object store (what ``compute()`` must do; the CLI writes in the workers).

The pool and Ray rows pass a sink that reduces each alpha to a SHA-1 digest in the worker — the
stand-in for ``lasps alpha compute --executor``, whose workers write their own Parquet files.

Part 2 — 202 variants: compute + evaluate the 101 alphas (IC, deciles, long-short, turnover), then a
walk-forward grid (``--grid-top`` x ``--grid-lookback``, default 3 x 3 = 9 configurations, top-K by
trailing IC_IR): in-process (``evaluate`` over the streamed alphas, then the grid one after another)
vs :func:`~lasps.research.evaluate.evaluate_alphas` + :func:`~lasps.research.walkforward.walk_forward_grid`
on the pool and on Ray (only statistics come back; the grid gets the Evaluation once).

Numba kernels are compiled (or loaded from the cache) on a tiny panel first, for writable **and**
read-only arrays (Ray hands tasks read-only views), so timings are steady state. Wall seconds are
what counts here; CPU seconds are the driver's only. The machine this was written on has 2 cores
shared with other jobs — the load average is printed; compare rows of one run only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:
    import lasps  # noqa: F401
except ImportError:  # standalone use from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from alpha_bench import make_panel
from lasps.alpha.engine import compile_alphas, compute, plan_batches, run_batches, tune_allocator
from lasps.data.panel import Panel
from lasps.research.evaluate import EvalConfig, evaluate, evaluate_alphas
from lasps.research.walkforward import grid_configs, grid_table, walk_forward_grid
from lasps.scale import LocalExecutor


def digest_sink(name: str, values: np.ndarray, panel: Panel) -> str:
    """Reduce one alpha to a digest where it was computed (stands in for writing it to shared storage)."""
    return hashlib.sha1(np.ascontiguousarray(values).tobytes()).hexdigest()


def warm_up(ids: list[int]) -> float:
    """JIT-compile or load every kernel for writable and read-only inputs (the latter is what Ray gives)."""
    t0 = time.perf_counter()
    p = make_panel(200, 40, seed=1)
    compute(p, ids)
    ro = make_panel(200, 40, seed=1)
    for arr in ro.fields.values():
        arr.setflags(write=False)
    for name in ("vwap", "returns", "cap"):
        ro.field(name).setflags(write=False)
    evaluate(ro, compute(ro, ids), EvalConfig())
    from lasps.research.evaluate import alpha_stats, eval_context
    from lasps.research.forward import panel_forward_returns

    ctx = eval_context(panel_forward_returns(ro, 5, "open"), ro.universe_mask, EvalConfig())
    for k in ("values", "mask", "forder", "fcount", "franks", "zrow"):
        getattr(ctx, k).setflags(write=False)
    alpha_stats(ctx, "x", np.ones(ro.shape))
    return time.perf_counter() - t0


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def same_evaluation(a: Any, b: Any) -> bool:
    fields = ("ic", "long", "short", "turnover", "qmean", "n_alpha", "n_pairs", "market", "n_universe")
    return a.alphas == b.alphas and all(getattr(a, f).tobytes() == getattr(b, f).tobytes() for f in fields) \
        and all(a.zranks[k].tobytes() == b.zranks[k].tobytes() for k in a.zranks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=1000)
    ap.add_argument("--stocks", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="pool processes and Ray CPUs (default 2)")
    ap.add_argument("--batches", type=int, default=None, help="alpha batches (default: workers)")
    ap.add_argument("--grid-top", default="5,10,20")
    ap.add_argument("--grid-lookback", default="63,126,252")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray rows")
    ap.add_argument("--no-pool", action="store_true", help="skip the local process-pool rows")
    ap.add_argument("--skip-walkforward", action="store_true", help="only part 1")
    args = ap.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    tune_allocator()
    ids = list(range(1, 102))
    console.print(f"cores: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.1f}")
    console.print(f"JIT warm-up (writable + read-only variants): {warm_up(ids):.1f} s")
    t0 = time.perf_counter()
    panel = make_panel(args.days, args.stocks, args.seed)
    for name in ("vwap", "returns", "cap"):
        panel.field(name)
    panel_bytes = sum(a.nbytes for a in {id(a): a for a in (*panel.fields.values(), *panel._derived.values())}.values())
    console.print(f"panel {args.days:,} x {args.stocks:,}: {panel_bytes / 2**20:,.0f} MiB of fields, built in "
                  f"{time.perf_counter() - t0:.1f} s")
    program = compile_alphas(ids, panel)
    n = args.batches or args.workers
    plan = plan_batches(program, n)
    console.print(f"{len(program.names)} alphas, {len(program.nodes)} DAG nodes; {len(plan.batches)} batches of "
                  f"{[len(b) for b in plan.batches]} alphas, ~{plan.recomputed:.1%} of the work recomputed, "
                  f"imbalance {plan.imbalance:.2f}")
    rows: list[tuple[str, str, float, float, str]] = []

    # ------------------------------------------------------------------- part 1: the 101 alphas
    def in_process() -> dict[str, str]:
        return {name: digest_sink(name, arr, panel) for name, arr in program.run(panel)}

    ref, w, c = timed(in_process)
    rows.append(("101 alphas", "in-process (one DAG)", w, c, "reference"))
    executors: list[tuple[str, Callable[[], Any]]] = []
    if not args.no_pool:
        executors.append((f"pool x{args.workers}", lambda: LocalExecutor(args.workers)))
    if not args.no_ray:
        from lasps.scale.ray_executor import RayExecutor

        executors.append((f"ray x{args.workers}", lambda: RayExecutor(num_cpus=args.workers)))
    opened = []
    tiny = make_panel(120, 30, seed=2)
    for label, make in executors:
        ex, w, _ = timed(make)
        opened.append((label, ex))
        rows.append(("", f"{label}: start", w, 0.0, ""))
        _, w, _ = timed(lambda ex=ex: (compute(tiny, ids, executor=ex, batches=ex.workers),
                                      evaluate_alphas(tiny, [1, 2], executor=ex, batches=ex.workers)))
        rows.append(("", f"{label}: workers import lasps, load kernels", w, 0.0, "tiny panel, not counted"))
        handle, w, c = timed(lambda ex=ex: ex.put(panel))
        rows.append(("", f"{label}: put panel once", w, c, f"{panel_bytes / 2**20:,.0f} MiB"))
        got, w, c = timed(lambda ex=ex, handle=handle: dict(run_batches(program, handle, ex, batches=n,
                                                                        sink=digest_sink)))
        rows.append(("101 alphas", f"{label}: {n} batches, digest in worker", w, c,
                     "identical" if got == ref else "DIFFERENT"))
        handle.release()
        if label.startswith("ray"):
            res, w, c = timed(lambda ex=ex: compute(panel, ids, executor=ex, batches=n))
            same = {k: digest_sink(k, v, panel) for k, v in res.items()} == ref
            back = sum(v.nbytes for v in res.values()) / 2**20
            rows.append(("101 alphas", f"{label}: {n} batches, arrays back", w, c,
                         f"{'identical' if same else 'DIFFERENT'}, {back:,.0f} MiB back"))
            del res

    # ------------------------------------------------------------ part 2: 202-variant walk-forward
    if not args.skip_walkforward:
        cfg = EvalConfig()
        configs = grid_configs([int(x) for x in args.grid_top.split(",")],
                               [int(x) for x in args.grid_lookback.split(",")])
        label_wf = f"walk-forward grid ({len(configs)} configs)"
        ev_ref, w, c = timed(lambda: evaluate(panel, program.run(panel), cfg))
        rows.append(("202 variants", "in-process: compute + evaluate", w, c, "reference"))
        grid_ref, w, c = timed(lambda: grid_table(walk_forward_grid(ev_ref, configs)))
        rows.append(("202 variants", f"in-process: {label_wf}", w, c, "reference"))
        for label, ex in opened:
            ev, w, c = timed(lambda ex=ex: evaluate_alphas(panel, ids, cfg, executor=ex, batches=n))
            rows.append(("202 variants", f"{label}: compute + evaluate", w, c,
                         "identical" if same_evaluation(ev, ev_ref) else "DIFFERENT"))
            grid, w, c = timed(lambda ex=ex, ev=ev: grid_table(walk_forward_grid(ev, configs, executor=ex)))
            rows.append(("202 variants", f"{label}: {label_wf}", w, c,
                         "identical" if grid.equals(grid_ref) else "DIFFERENT"))
            del ev
        console.print(grid_ref.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for _, ex in opened:
        ex.close()

    table = Table(title=f"scale bench: {args.days:,} days x {args.stocks:,} stocks, {args.workers} workers, "
                        f"{os.cpu_count()} CPUs")
    for col in ("workload", "how", "wall s", "driver CPU s", "check"):
        table.add_column(col, justify="right" if col.endswith("s") else "left")
    for wl, how, w, c, note in rows:
        table.add_row(wl, how, f"{w:.2f}", f"{c:.2f}", note)
    table.add_row("", "driver peak RSS (GiB)", f"{peak_rss_gib():.2f}", "", "")
    console.print(table)
    console.print(f"load average at the end: {os.getloadavg()[0]:.1f} (wall times are only comparable within one "
                  "run on an otherwise idle machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
