"""Benchmark: the ML data path — chart rasteriser vs mplfinance, and a full dataset build.

Usage::

    python bench/ml_data_bench.py [--stocks 4000] [--years 11.5] [--seed 0] [--stride 5]
                                  [--raster-n 20000] [--mpl-n 40] [--skip-build] [--keep DIR]

1. **Rasteriser** — ``render_charts`` (serial kernel = one core) on ``--raster-n`` random 60-session
   windows into a reused ``(1024, 224, 224, 3)`` buffer, and into freshly allocated arrays; then
   mplfinance (candles + volume, Agg canvas to an RGB array) on ``--mpl-n`` windows in the same run.
   Prints images/s per core and the ratio. Target: >= 2,000 images/s per core.
2. **Dataset build** — the synthetic market ``--stocks`` x ``--years`` (4,000 x 11.5 ≈ 2,900 sessions)
   is generated and stored in a temporary LASPS home (not timed as part of the build), then
   ``build_dataset`` runs in a **fresh process** (numba cache warm) whose wall time and peak RSS are
   reported, followed by ``check_dataset`` (hash + content scan). Charts are not rendered at build
   time (they are drawn on the fly). Target: <= 3 min, <= 8 GiB.

Not a test; the numbers go to ``docs/ml-data.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _peak_rss_gib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024**3 if sys.platform == "darwin" else 1024**2)


def _windows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 1000 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, 60)), axis=1))
    open_ = close * np.exp(rng.normal(0, 0.01, (n, 60)))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    vol = rng.lognormal(10, 0.5, (n, 60))
    return np.stack([open_, high, low, close, vol], axis=-1).astype(np.float32)


def bench_raster(n: int, mpl_n: int) -> dict[str, float]:
    from lasps.ml.charts import render_charts

    w = _windows(n)
    render_charts(w[:4])  # JIT warm-up (cached after the first run)
    buf = np.empty((1024, 224, 224, 3), dtype=np.uint8)
    t, c = time.perf_counter(), time.process_time()
    for a in range(0, n, 1024):
        b = min(n, a + 1024)
        render_charts(w[a:b], out=buf[: b - a])
    reuse, reuse_cpu = n / (time.perf_counter() - t), n / (time.process_time() - c)
    t, c = time.perf_counter(), time.process_time()
    for a in range(0, n, 1024):
        render_charts(w[a:a + 1024])
    fresh, fresh_cpu = n / (time.perf_counter() - t), n / (time.process_time() - c)
    out: dict[str, float] = {"lasps_reuse_per_s": reuse, "lasps_alloc_per_s": fresh,
                             "lasps_reuse_per_cpu_s": reuse_cpu, "lasps_alloc_per_cpu_s": fresh_cpu}
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import mplfinance as mpf
        import pandas as pd
    except ImportError:
        print("  mplfinance not installed: skipped (pip install mplfinance)")
        return out
    mc = mpf.make_marketcolors(up="red", down="blue", edge="inherit", wick="inherit", volume="inherit")
    style = mpf.make_mpf_style(marketcolors=mc, facecolor="white", figcolor="white", gridstyle="")
    idx = pd.bdate_range("2024-01-01", periods=60)

    def one(k: int) -> np.ndarray:
        df = pd.DataFrame(w[k].astype(np.float64), columns=["Open", "High", "Low", "Close", "Volume"], index=idx)
        fig, _ = mpf.plot(df, type="candle", style=style, volume=True, axisoff=True, figsize=(2.24, 2.24),
                          returnfig=True, tight_layout=True)
        fig.set_dpi(100)
        fig.canvas.draw()
        img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        plt.close(fig)
        return img

    one(0)
    t, c = time.perf_counter(), time.process_time()
    for k in range(mpl_n):
        one(k)
    out["mplfinance_per_s"] = mpl_n / (time.perf_counter() - t)
    out["mplfinance_per_cpu_s"] = mpl_n / (time.process_time() - c)
    return out


def _build_child(home: str, out: str, stride: int) -> None:
    """Run in a fresh process: build + check, print one JSON line."""
    from lasps.ml.builder import BuildConfig, build_dataset
    from lasps.ml.check import check_dataset

    t = time.perf_counter()
    stages: dict[str, float] = {}
    last = [t]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total:
            stages[stage] = stages.get(stage, 0.0) + now - last[0]
            last[0] = now

    m = build_dataset(out, BuildConfig(stride=stride, chunk_size=16384), home=home, progress=progress)
    build_s = time.perf_counter() - t
    build_rss = _peak_rss_gib()
    t = time.perf_counter()
    check_dataset(out, charts=16)
    check_s = time.perf_counter() - t
    size = sum(p.stat().st_size for p in Path(out).iterdir())
    print(json.dumps({"n": m["n"], "build_s": build_s, "build_peak_rss_gib": build_rss, "check_s": check_s,
                      "peak_rss_gib": _peak_rss_gib(), "bytes": size, "stages": stages,
                      "splits": m["splits"]["counts"], "split_mode": m["splits"]["mode"]}))


def bench_build(stocks: int, years: float, seed: int, stride: int, keep: str | None) -> dict[str, object]:
    from lasps.data.sources.synthetic import generate_synthetic
    from lasps.data.store import MarketStore

    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="lasps_ml_bench_"))
    home = work / "home"
    out = work / "dataset"
    try:
        if not (home / "lasps.duckdb").exists():
            home.mkdir(parents=True, exist_ok=True)
            t = time.perf_counter()
            bundle = generate_synthetic(stocks, years, seed)
            gen = time.perf_counter() - t
            t = time.perf_counter()
            with MarketStore(home) as store:
                store.write_bundle(bundle)
            store_s = time.perf_counter() - t
            del bundle
        else:
            gen = store_s = float("nan")
        if out.exists():
            shutil.rmtree(out)
        # warm the numba cache on a tiny market in a throwaway home (compile time is not build time)
        tiny = work / "tiny"
        if not (tiny / "lasps.duckdb").exists():
            tiny.mkdir(parents=True, exist_ok=True)
            with MarketStore(tiny) as store:
                store.write_bundle(generate_synthetic(40, 1.5, 0))
        subprocess.run([sys.executable, __file__, "--_child", str(tiny), str(work / "tiny_ds"), str(stride)],
                       check=True, capture_output=True, text=True)
        res = subprocess.run([sys.executable, __file__, "--_child", str(home), str(out), str(stride)],
                             check=True, capture_output=True, text=True)
        child = json.loads(res.stdout.strip().splitlines()[-1])
        child.update(generate_s=gen, store_s=store_s)
        return child
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_child":
        _build_child(argv[1], argv[2], int(argv[3]))
        return
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--stocks", type=int, default=4000)
    ap.add_argument("--years", type=float, default=11.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stride", type=int, default=5)
    ap.add_argument("--raster-n", type=int, default=20000)
    ap.add_argument("--mpl-n", type=int, default=40)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--skip-raster", action="store_true")
    ap.add_argument("--keep", default=None, help="Work directory to keep (store + dataset) instead of a temp dir.")
    args = ap.parse_args(argv)

    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    if not args.skip_raster:
        r = bench_raster(args.raster_n, args.mpl_n)
        print(f"chart rasteriser ({args.raster_n} windows of 60 sessions, 224x224 RGB, one thread)")
        print("                            images/s (wall)   images per CPU-second (= per core)")
        print(f"  lasps, reused buffer      {r['lasps_reuse_per_s']:10,.0f}        {r['lasps_reuse_per_cpu_s']:10,.0f}"
              "   (target >= 2,000 per core)")
        print(f"  lasps, fresh arrays       {r['lasps_alloc_per_s']:10,.0f}        {r['lasps_alloc_per_cpu_s']:10,.0f}")
        if "mplfinance_per_s" in r:
            print(f"  mplfinance ({args.mpl_n} images)   {r['mplfinance_per_s']:10,.1f}        "
                  f"{r['mplfinance_per_cpu_s']:10,.1f}")
            print(f"  ratio lasps / mplfinance  {r['lasps_reuse_per_s'] / r['mplfinance_per_s']:10,.0f} x      "
                  f"{r['lasps_reuse_per_cpu_s'] / r['mplfinance_per_cpu_s']:10,.0f} x")
    if not args.skip_build:
        b = bench_build(args.stocks, args.years, args.seed, args.stride, args.keep)
        print(f"dataset build (synthetic {args.stocks} x {args.years:g} years, stride {args.stride}, no charts)")
        print(f"  generate / store market   {b['generate_s']:8.1f} s / {b['store_s']:.1f} s (not part of the build)")
        print(f"  samples                   {b['n']:10,d}  splits {b['splits']} ({b['split_mode']})")
        print(f"  build wall                {b['build_s']:8.1f} s   (target <= 180 s)")
        stages = b["stages"]
        assert isinstance(stages, dict)
        print("  stages                    " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
        print(f"  build peak RSS            {b['build_peak_rss_gib']:8.2f} GiB (target <= 8 GiB)")
        print(f"  check (hash + scan)       {b['check_s']:8.1f} s, peak RSS {b['peak_rss_gib']:.2f} GiB")
        print(f"  on disk                   {int(b['bytes']) / 1024**3:8.2f} GiB")


if __name__ == "__main__":
    main()
