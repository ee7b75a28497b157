"""Cross-check every paper alpha against alpha101v under matching conventions; write the agreement table.

Run from the repository root with the project's interpreter (the peer runs in its own virtualenv)::

    python3 -m venv bench/peers/.venv-alpha101v && bench/peers/.venv-alpha101v/bin/pip install alpha101v
    .venv/bin/python bench/peers/crosscheck.py [--days 400] [--stocks 300] [--seed 0] [--ticks]

Steps: the ``bench/alpha_bench.py`` random-walk panel (``--ticks``: prices rounded to 10 KRW, which
makes exact ties common) is written to an ``.npz``; ``alpha101_values.py`` computes alpha101v's 101
factors on it in the peer venv; our engine computes them under ``PEERS["alpha101v"]`` (its window,
zero-variance, adv, tie, rank-scale, arg-position, ddof and decay rules) and under ``DEFAULT``. Per alpha
the table gives the share of cells that agree (relative 1e-9, absolute 1e-12, NaN == NaN) and the share
where exactly one side is NaN. Writes ``bench/results/peers_crosscheck.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

from lasps.alpha.conventions import DEFAULT, PEERS  # noqa: E402
from lasps.alpha.engine import compute  # noqa: E402
from lasps.data.panel import Panel  # noqa: E402
from make_bench_panel import FIELDS  # noqa: E402  (bench/ is not a package)

PEER_PYTHON = BENCH / "peers" / ".venv-alpha101v" / "bin" / "python"
RESULTS = BENCH / "results"
RTOL, ATOL = 1e-9, 1e-12


def build_panel(days: int, stocks: int, seed: int, ticks: bool) -> Panel:
    from alpha_bench import make_panel

    panel = make_panel(days, stocks, seed)
    if ticks:
        fields = dict(panel.fields)
        for name in ("open", "high", "low", "close"):
            fields[name] = np.round(fields[name] / 10.0) * 10.0
        fields["high"] = np.fmax(fields["high"], np.fmax(fields["open"], fields["close"]))
        fields["low"] = np.fmin(fields["low"], np.fmin(fields["open"], fields["close"]))
        panel = Panel(dates=panel.dates, codes=panel.codes, fields=fields, industry=panel.industry,
                      index=panel.index)
    return panel


def save_npz(panel: Panel, path: Path) -> None:
    arrays = {name: np.asarray(panel.field("market_cap" if name == "cap" else name), dtype=np.float64)
              for name in FIELDS}
    np.savez(path, **arrays, industry=np.asarray(panel.industry, dtype=np.int64),
             dates=panel.dates.astype("datetime64[D]"), codes=panel.codes.astype("<U6"))


def agreement(ours: np.ndarray, peer: np.ndarray) -> tuple[float, float]:
    ours = np.where(np.isfinite(ours), ours, np.nan)
    peer = np.where(np.isfinite(peer), peer, np.nan)
    ok = np.isclose(ours, peer, rtol=RTOL, atol=ATOL, equal_nan=True)
    one_nan = np.isnan(ours) ^ np.isnan(peer)
    return float(ok.mean()), float(one_nan.mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--stocks", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ticks", action="store_true", help="round prices to 10 KRW (many exact ties)")
    ap.add_argument("--keep", type=Path, default=None, help="keep panel.npz and alpha101v.npz in this folder")
    args = ap.parse_args(argv)
    if not PEER_PYTHON.exists():
        raise SystemExit(f"no peer venv at {PEER_PYTHON}; create it as the module docstring says")
    panel = build_panel(args.days, args.stocks, args.seed, args.ticks)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        src, dst = folder / "panel.npz", folder / "alpha101v.npz"
        save_npz(panel, src)
        t0 = time.perf_counter()
        subprocess.run([str(PEER_PYTHON), str(BENCH / "peers" / "alpha101v_values.py"), str(src), str(dst)],
                       check=True)
        peer_s = time.perf_counter() - t0
        with np.load(dst, allow_pickle=False) as z:
            peer = {k: z[k] for k in z.files}
    ids = list(range(1, 102))
    t0 = time.perf_counter()
    matched = compute(panel, ids, PEERS["alpha101v"])
    ours_s = time.perf_counter() - t0
    default = compute(panel, ids, DEFAULT)
    rows = []
    for k in ids:
        name = f"alpha_{k:03d}"
        if f"alpha{k}" not in peer:
            rows.append({"id": k, "error": str(peer.get(f"error{k}", "missing"))})
            continue
        agree, one_nan = agreement(matched[name], peer[f"alpha{k}"])
        agree_default, _ = agreement(default[name], peer[f"alpha{k}"])
        rows.append({"id": k, "agree": agree, "one_side_nan": one_nan, "agree_default": agree_default,
                     "finite_peer": float(np.isfinite(peer[f"alpha{k}"]).mean())})
    meta = {"peer": "alpha101v", "version": str(peer.get("version")), "days": args.days, "stocks": args.stocks,
            "seed": args.seed, "ticks": args.ticks, "peer_s": round(peer_s, 1), "ours_s": round(ours_s, 1),
            "load_average": os.getloadavg()[0], "rtol": RTOL, "atol": ATOL}
    RESULTS.mkdir(exist_ok=True)
    stem = "peers_crosscheck" + ("_ticks" if args.ticks else "")
    (RESULTS / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    lines = [f"# alpha101v {meta['version']} vs LASPS under `PEERS['alpha101v']`",
             "",
             f"Panel: `bench/alpha_bench.py` random walk, {args.days} dates x {args.stocks} codes, seed {args.seed}"
             + (", prices rounded to 10 KRW" if args.ticks else "") + f". Agreement: |a - b| <= {ATOL} + {RTOL}|b|"
             " or both NaN, share of all cells. `default` = LASPS's own conventions vs the peer.",
             "",
             "| alpha | agree (peer conventions) | one side NaN | agree (LASPS default) | peer finite |",
             "|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['id']} | peer error: {r['error'][:80]} | | | |")
        else:
            lines.append(f"| {r['id']} | {r['agree']:.4%} | {r['one_side_nan']:.4%} | {r['agree_default']:.4%} "
                         f"| {r['finite_peer']:.1%} |")
    full = sum(1 for r in rows if r.get("agree", 0) >= 0.9999)
    lines += ["", f"{full} of 101 alphas agree on >= 99.99 % of cells. Peer {peer_s:.1f} s (incl. start-up), "
              f"ours {ours_s:.1f} s; load average {meta['load_average']:.2f} (2 cores, shared)."]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
