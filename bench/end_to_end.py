"""``lasps alpha compute`` end to end vs py-alpha-lib end to end, side by side in one run.

Called by ``bench/compare_peers.py --end-to-end`` (see there for the command line). Steps:

1. *Setup, not timed*: a synthetic market (``lasps data init --source synthetic --stocks 4000 --years 12``)
   in ``--work`` (reused when it is already there); the panel that ``lasps alpha compute`` loads is
   exported once to Parquet for the peer (complete code x date rows, NaN where a code did not trade,
   ``vol`` = share volume, ``vwap`` = traded value / volume, ``cap``, ``indclass`` = the sector id).
   One untimed ``lasps alpha compute --alphas 1`` run fills numba's on-disk kernel cache (a user's
   second run; the peer is compiled Rust).
2. *Timed, each in a fresh process*: ``lasps alpha compute`` (load from DuckDB + all 106 catalogue
   alphas + the Parquet store, ``alphas/`` emptied first) and the peer script
   ``bench/peers/pyalphalib_e2e.py`` (load the Parquet + its 101 transpiled paper formulas + a one-column
   Parquet file per alpha), in the order ours, peer, ours, peer (``--rounds``); wall seconds of the
   process, its CPU seconds (user + system of the child, from ``wait4``), its peak RSS, and the 1-minute
   load average before and after each run.

The ratio reported is the peer's end-to-end wall time / ours, per round and for the best round of
each side.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PEER_VENV = REPO / "bench" / "peers" / ".venv-pyalphalib"
PEER_SCRIPT = REPO / "bench" / "peers" / "pyalphalib_e2e.py"
PAPER_TSV = REPO.parent / "shared" / "conventions" / "alpha101_paper_formulas.tsv"
MARK_START, MARK_END = "<!-- e2e-peers:start -->", "<!-- e2e-peers:end -->"


@dataclass
class Run:
    side: str
    wall_s: float
    cpu_s: float
    peak_rss_gib: float
    load_before: float
    load_after: float
    returncode: int
    detail: dict[str, Any] = field(default_factory=dict)
    tail: str = ""


def lasps_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "lasps.cli.main", *args]


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ, LASPS_HOME=str(home), COLUMNS="160")
    src = str(REPO / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def timed(side: str, cmd: list[str], env: dict[str, str]) -> Run:
    """Run ``cmd`` in a fresh process; wall, CPU and peak RSS of that child alone (``os.wait4``)."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    run = Run(side, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024**2, load0,
              os.getloadavg()[0], proc.returncode, tail=out[-3000:])
    print(f"[{side}] {wall:.1f} s wall, {run.cpu_s:.1f} s CPU, peak RSS {run.peak_rss_gib:.2f} GiB, "
          f"load {load0:.2f} -> {run.load_after:.2f}, rc {proc.returncode}", flush=True)
    if proc.returncode != 0:
        print(out[-3000:], file=sys.stderr)
    return run


def ensure_market(home: Path, stocks: int, years: float, seed: int) -> None:
    if (home / "lasps.duckdb").exists():
        return
    print(f"generating the synthetic market ({stocks} stocks x {years} years) in {home}", flush=True)
    subprocess.run(lasps_cmd("data", "init", "--source", "synthetic", "--stocks", str(stocks), "--years",
                             str(years), "--seed", str(seed)), env=env_for(home), check=True)


def export_panel(home: Path, path: Path) -> tuple[int, int]:
    """The panel ``lasps alpha compute`` loads, as the peer's long Parquet (see the module docstring)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lasps.data.panel_loader import load_panel

    panel = load_panel(home=home)
    T, N = panel.shape
    if path.exists():
        meta = json.loads(pq.read_schema(path).metadata[b"lasps.bench"])
        if (meta["dates"], meta["codes"], meta["last"]) == (T, N, str(panel.dates[-1])):
            return T, N

    def col(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(a, dtype=np.float64).T).ravel()  # code-major rows

    industry = np.asarray(panel.industry, dtype=np.float64)
    table = pa.table({
        "securityid": np.repeat(np.array([str(c) for c in panel.codes]), T),
        "tradetime": np.tile(panel.dates.astype("datetime64[D]"), N),
        "open": col(panel.field("open")), "high": col(panel.field("high")), "low": col(panel.field("low")),
        "close": col(panel.field("close")), "vol": col(panel.field("volume")), "vwap": col(panel.field("vwap")),
        "cap": col(panel.field("cap")), "indclass": np.repeat(industry * 1_000_000, T),
    }).replace_schema_metadata({"lasps.bench": json.dumps({"dates": T, "codes": N,
                                                          "last": str(panel.dates[-1])})})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return T, N


def run_ours(home: Path) -> Run:
    import shutil

    shutil.rmtree(home / "alphas", ignore_errors=True)
    (home / "alphas").mkdir()
    run = timed("lasps", lasps_cmd("alpha", "compute"), env_for(home))
    files = list((home / "alphas").glob("*.parquet"))
    run.detail = {"files": len(files), "bytes": sum(f.stat().st_size for f in files)}
    for line in run.tail.splitlines():
        if "loaded in" in line or "written to" in line:
            run.detail.setdefault("log", []).append(line.strip())
    return run


def run_peer(panel: Path, out_dir: Path) -> Run:
    import shutil

    shutil.rmtree(out_dir, ignore_errors=True)
    result = out_dir.with_suffix(".json")
    result.unlink(missing_ok=True)
    run = timed("py-alpha-lib", [str(PEER_VENV / "bin" / "python"), str(PEER_SCRIPT), "--panel", str(panel),
                                 "--formulas", str(PAPER_TSV), "--out-dir", str(out_dir), "--json-out",
                                 str(result)], dict(os.environ))
    if result.exists():
        run.detail = json.loads(result.read_text())
        run.detail.pop("compute_by_alpha", None)
        run.detail["bytes"] = sum(f.stat().st_size for f in out_dir.glob("*.parquet"))
    return run


def report(runs: list[Run], shape: tuple[int, int], stocks: int, years: float) -> str:
    ours = [r for r in runs if r.side == "lasps" and r.returncode == 0]
    peer = [r for r in runs if r.side == "py-alpha-lib" and r.returncode == 0]
    T, N = shape
    L = ["### `lasps alpha compute` vs py-alpha-lib, end to end (`python bench/compare_peers.py --end-to-end`)",
         "",
         f"Measured {dt.date.today().isoformat()}, one run, {len(os.sched_getaffinity(0))} cores. Synthetic market "
         f"{stocks:,} stocks x {years:g} years -> panel {T:,} dates x {N:,} codes. Each row is a fresh process: "
         "ours = `lasps alpha compute` (load from DuckDB + all 106 catalogue alphas + the Parquet store, "
         "numba kernel cache warm); py-alpha-lib = `bench/peers/pyalphalib_e2e.py` (read the same panel from "
         "Parquet + its own transpiler over the paper's 101 formulas + one single-column Parquet file per "
         "alpha). CPU = user + system seconds of that process; load = 1-minute load average before -> after.",
         "",
         "| round | side | wall (s) | CPU (s) | peak RSS (GiB) | load | stored | detail |",
         "|---:|---|---:|---:|---:|---|---:|---|"]
    for i, r in enumerate(runs):
        d = r.detail
        if r.side == "lasps":
            info = "; ".join(d.get("log", []))[:300]
            stored = f"{d.get('files', 0)} files, {d.get('bytes', 0) / 1e9:.2f} GB"
        else:
            info = (f"load {d.get('load_s', float('nan')):.1f} s, compute {d.get('compute_s', float('nan')):.1f} s, "
                    f"store {d.get('store_s', float('nan')):.1f} s; {d.get('computed', '?')} computed, "
                    f"{len(d.get('failed', {}))} failed")
            stored = f"{d.get('written', 0)} files, {d.get('bytes', 0) / 1e9:.2f} GB"
        L.append(f"| {i // 2 + 1} | {r.side} | {r.wall_s:.1f} | {r.cpu_s:.1f} | {r.peak_rss_gib:.2f} | "
                 f"{r.load_before:.2f} -> {r.load_after:.2f} | {stored} | {info.replace('|', '/')} |")
    L.append("")
    if ours and peer:
        bo, bp = min(r.wall_s for r in ours), min(r.wall_s for r in peer)
        L.append(f"**Ratio (py-alpha-lib / lasps, best wall time of each side): {bp / bo:.2f}x** "
                 f"({bp:.1f} s vs {bo:.1f} s; CPU {min(r.cpu_s for r in peer):.1f} s vs "
                 f"{min(r.cpu_s for r in ours):.1f} s). Target: >= 3x.")
        failed = peer[0].detail.get("failed", {})
        if failed:
            L.append(f"py-alpha-lib could not compute {len(failed)} paper formulas "
                     f"({', '.join(str(k) for k in sorted(map(int, failed)))}); its time covers the others only.")
    L.append("")
    return "\n".join(L)


def write_section(doc: Path, text: str) -> None:
    body = doc.read_text() if doc.exists() else ""
    block = f"{MARK_START}\n{text}{MARK_END}"
    if MARK_START in body and MARK_END in body:
        a, b = body.index(MARK_START), body.index(MARK_END) + len(MARK_END)
        body = body[:a] + block + body[b:]
    else:
        body = body.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(body)


def main(work: Path, stocks: int, years: float, seed: int, rounds: int, doc: Path | None) -> int:
    home = work / f"market_{stocks}x{years:g}_s{seed}"
    ensure_market(home, stocks, years, seed)
    panel_path = work / "peer_panel.parquet"
    shape = export_panel(home, panel_path)
    print(f"panel {shape[0]} x {shape[1]} exported to {panel_path}", flush=True)
    subprocess.run(lasps_cmd("alpha", "compute", "--alphas", "1"), env=env_for(home), check=True,
                   stdout=subprocess.DEVNULL)  # fill the numba cache (not timed)
    runs: list[Run] = []
    for _ in range(rounds):
        runs.append(run_ours(home))
        runs.append(run_peer(panel_path, work / "peer_out"))
    text = report(runs, shape, stocks, years)
    print(text)
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    (REPO / "bench" / "results" / "e2e_peers.json").write_text(
        json.dumps([asdict(r) | {"tail": r.tail[-800:]} for r in runs], indent=1))
    if doc is not None:
        write_section(doc, text)
        print(f"wrote {doc}")
    return 0 if all(r.returncode == 0 for r in runs) else 1
