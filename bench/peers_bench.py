"""Time two pip-installable 101-alpha peers, alpha by alpha, on a panel written by ``make_bench_panel.py``.

Run with the PEER virtualenv's interpreter (the peers are not project dependencies)::

    python3 -m venv bench/.venv-peers
    bench/.venv-peers/bin/pip install alpha101v alpha101-pipeline 'duckdb<2'
    bench/.venv-peers/bin/python bench/peers_bench.py --panel /tmp/lasps_bench/panel_4000x2900_s0.npz \\
        --out bench/results/peers_times.json

Peers (APIs read from their installed sources):

* ``alpha101v`` (0.1.x, pandas): ``alpha101v.registry.run_factor_raw("alpha<k>", panel)`` where ``panel``
  maps the factor functions' parameter names to ``(T, N)`` DataFrames (index = DatetimeIndex, columns =
  codes): ``close Open high low volume vwap returns amount cap`` plus ``ind_sector ind_industry
  ind_subindustry`` (a Series of group labels indexed by code; all three get our one industry level).
  ``adv{d}`` is ``sma(amount, d)``; ``--amount value`` (default) passes traded value (the paper's dollar
  volume, which is that package's contract), ``--amount volume`` passes shares (our engine's default).
  ``run_factor_raw`` deep-copies its inputs on every call (``copy_inputs=True``, its default) - part of
  its cost.
* ``alpha101-pipeline`` (0.6.x, DuckDB SQL): ``alpha101_pipeline.engine.run_alpha101_duckdb`` with one
  formula of ``alpha101_pipeline.formulas.alphas(use_rank_pct=...)`` per call, reading a long
  ``(date, stock_id)``-sorted Parquet panel and writing a Parquet of the alpha - exactly what its
  ``compute_alphas`` / ``alpha101-compute`` does (one query per alpha, then a merge that is not timed
  here). Columns: ``date stock_id open high low close volume vwap cap sector industry subindustry``
  (NaN written as NULL; ``returns`` and ``adv{d}`` are built inside its formulas). The Parquet is built
  once per panel (not timed). Its time therefore includes a Parquet scan and write; ``_io_floor`` in
  the meta file times the identity formula ``close`` to show that floor.

Method: each peer runs in its own child process (isolated memory, ``ru_maxrss`` per peer). After a
global warm-up (imports, a first alpha) on a tiny slice of the panel (last 300 dates x 60 codes), every
alpha is first run on that tiny slice (untimed; catches failures cheaply) and then timed once on the
full panel. The budget (``--budget-s``) is the sum of timed seconds: a new alpha starts only while the
sum is below it, and the parent kills a child whose running alpha takes it past ``budget + grace``
(that alpha is reported as ``killed``). Alphas run in ``--order``: ``spread`` (default) puts alphas
101, 12, 1, 4 (the ones whose outputs are saved) first and then a fixed pseudo-random permutation of the
rest, so any prefix samples the whole catalogue and both peers share the same prefix.

Outputs: ``--out`` JSON ``{peer: {alpha_id: seconds}}`` (wall seconds of successful timed runs); next to
it ``<stem>.meta.json`` (settings, versions, per-alpha CPU seconds - user + system, all threads, robust
to other load on a shared machine -, failures, kills, warm-up times, peak RSS, load average, I/O floor)
and, in ``--workdir``, ``<stem>.<peer>.outputs.npz`` (its path is in the meta file) with the last ``--save-rows``
rows of the ``--save-alphas`` results (keys ``alpha<k>``, ``(rows, N)`` float64) plus ``dates`` and
``codes``, for eyeballing agreement (``compare_peers.py`` prints it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

PEERS = ("alpha101v", "alpha101-pipeline")
FIRST = (101, 12, 1, 4)
TINY_DATES, TINY_CODES = 300, 60


def alpha_order(kind: str, ids: list[int] | None) -> list[int]:
    if ids:
        return ids
    if kind == "natural":
        return list(range(1, 102))
    rest = [k for k in range(1, 102) if k not in FIRST]
    random.Random(0).shuffle(rest)
    return list(FIRST) + rest


def parse_ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = (int(v) for v in part.split("-"))
            out.extend(range(lo, hi + 1))
        elif part:
            out.append(int(part))
    return out


def load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def tiny_slice(panel: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Last ``TINY_DATES`` dates x first ``TINY_CODES`` codes (for warm-ups)."""
    T, N = panel["close"].shape
    rows, cols = slice(max(0, T - TINY_DATES), T), slice(0, min(N, TINY_CODES))
    out = {}
    for k, v in panel.items():
        if v.ndim == 2:
            out[k] = np.ascontiguousarray(v[rows, cols])
        elif k in ("industry", "codes"):
            out[k] = v[cols]
        elif k in ("dates", "index_close"):
            out[k] = v[rows]
        else:
            out[k] = v
    return out


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def cpu_s() -> float:
    """User + system CPU seconds of this process, all threads (DuckDB's included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ---------------------------------------------------------------------------------------------- peers


class Alpha101v:
    name = "alpha101v"

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        import alpha101v
        from alpha101v import registry

        self.version = alpha101v.__version__
        self.registry = registry
        self.amount = args.amount
        self.frames: dict[str, Any] = {}

    def settings(self) -> dict[str, Any]:
        return {"api": "alpha101v.registry.run_factor_raw(name, panel) (copy_inputs=True, float64)",
                "amount (adv base)": self.amount}

    def load(self, panel: dict[str, np.ndarray], tag: str) -> None:
        import pandas as pd

        index = pd.DatetimeIndex(panel["dates"].astype("datetime64[ns]"), name="date")
        columns = pd.Index(panel["codes"].astype(str), name="code")

        def frame(a: np.ndarray) -> pd.DataFrame:
            return pd.DataFrame(a, index=index, columns=columns, copy=False)

        ind = pd.Series(panel["industry"].astype(np.int64), index=columns, name="industry")
        amount = panel["value"] if self.amount == "value" else panel["volume"]
        self.frames[tag] = {
            "close": frame(panel["close"]), "Open": frame(panel["open"]), "high": frame(panel["high"]),
            "low": frame(panel["low"]), "volume": frame(panel["volume"]), "vwap": frame(panel["vwap"]),
            "returns": frame(panel["returns"]), "amount": frame(amount), "cap": frame(panel["cap"]),
            "ind_sector": ind, "ind_industry": ind, "ind_subindustry": ind,
        }

    def run(self, k: int, tag: str) -> np.ndarray:
        result = self.registry.run_factor_raw(f"alpha{k}", self.frames[tag])
        return np.asarray(result.to_numpy(dtype=np.float64))

    def tail(self, result: Any, rows: int) -> np.ndarray:
        return result[-rows:]

    def io_floor(self) -> float | None:
        return None

    def cleanup(self) -> None:
        pass


class Alpha101Pipeline:
    name = "alpha101-pipeline"

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        import alpha101_pipeline
        import duckdb
        from alpha101_pipeline.engine import run_alpha101_duckdb
        from alpha101_pipeline.formulas import alphas

        self.version = f"{alpha101_pipeline.__version__} (duckdb {duckdb.__version__})"
        self.run_duckdb = run_alpha101_duckdb
        self.rank_pct = args.rank == "pct"
        self.catalog = alphas(use_rank_pct=self.rank_pct)
        self.memory = args.duckdb_memory
        self.threads = args.duckdb_threads
        self.workdir = workdir
        self.outdir = workdir / f"pipeline_out_{os.getpid()}"
        self.tmpdir = workdir / f"duckdb_spill_{os.getpid()}"
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.paths: dict[str, Path] = {}
        self.keys: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.panel_path = args.panel

    def settings(self) -> dict[str, Any]:
        return {"api": "alpha101_pipeline.engine.run_alpha101_duckdb(one formula per call, parquet in/out, "
                       "exclude_input_columns=True, dtype float64, chunked auto)",
                "rank": "rank_pct ([0,1])" if self.rank_pct else "rank (ordinal 0..n-1, package default)",
                "duckdb memory_limit": self.memory, "duckdb threads": self.threads or self._default_threads()}

    @staticmethod
    def _default_threads() -> str:
        import duckdb

        con = duckdb.connect()
        try:
            return f"{con.execute('SELECT current_setting(' + repr('threads') + ')').fetchone()[0]} (its default)"
        finally:
            con.close()

    def load(self, panel: dict[str, np.ndarray], tag: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        T, N = panel["close"].shape
        dates = panel["dates"].astype("datetime64[us]")
        codes = panel["codes"].astype(str)
        self.keys[tag] = (dates, codes)
        stem = self.panel_path.stem
        path = self.workdir / f"{stem}.{tag}.long.parquet"
        marker = path.with_suffix(".ok")
        self.paths[tag] = path
        src_mtime = self.panel_path.stat().st_mtime
        if path.exists() and marker.exists() and marker.read_text().strip() == f"{src_mtime}:{T}x{N}":
            return
        # date-major, codes ascending: the layout alpha101-reorder produces (ORDER BY date, code)
        cols: dict[str, pa.Array] = {
            "date": pa.array(np.repeat(dates, N)),
            "stock_id": pa.array(np.tile(codes, T)),
        }
        for name in ("open", "high", "low", "close", "volume", "vwap", "cap"):
            cols[name] = pa.array(panel[name].reshape(-1), from_pandas=True)  # NaN -> NULL
        ind = np.tile(panel["industry"].astype(np.int64), T)
        for name in ("sector", "industry", "subindustry"):
            cols[name] = pa.array(ind)
        table = pa.table(cols)
        tmp = path.with_name(path.name + ".part")
        pq.write_table(table, tmp, compression="zstd", row_group_size=122_880)
        tmp.replace(path)
        marker.write_text(f"{src_mtime}:{T}x{N}")

    def _query(self, name: str, formula: str, tag: str) -> Path:
        out = self.outdir / f"{tag}_{name}.parquet"
        self.run_duckdb(input_path=self.paths[tag], output_path=out, formulas=[(name, formula)],
                        date_column="date", id_column="stock_id", memory_limit=self.memory,
                        threads=self.threads, temp_dir=str(self.tmpdir), dtype="float64", chunked="auto",
                        exclude_input_columns=True)
        return out

    def run(self, k: int, tag: str) -> Path:
        name = f"alpha{k}"
        return self._query(name, self.catalog[name], tag)

    def tail(self, result: Path, rows: int) -> np.ndarray:
        import pyarrow.parquet as pq

        dates, codes = self.keys["full"]
        cutoff = dates[len(dates) - rows]
        table = pq.read_table(result, filters=[("date", ">=", cutoff.astype(object))])
        name = next(c for c in table.column_names if c not in ("date", "stock_id"))
        d = table.column("date").to_numpy().astype("datetime64[us]")
        c = np.asarray(table.column("stock_id").to_pylist(), dtype=str)
        v = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        ti = np.searchsorted(dates, d)
        ci = np.searchsorted(codes, c)  # codes are sorted ("000000", "000001", ...)
        keep = ti >= len(dates) - rows
        out = np.full((rows, len(codes)), np.nan)
        out[ti[keep] - (len(dates) - rows), ci[keep]] = v[keep]
        return out

    def discard(self, result: Path) -> None:
        with contextlib.suppress(OSError):
            result.unlink()

    def io_floor(self) -> float | None:
        t0 = time.perf_counter()
        out = self._query("identity", "close", "full")
        dt = time.perf_counter() - t0
        self.discard(out)
        return dt

    def cleanup(self) -> None:
        shutil.rmtree(self.outdir, ignore_errors=True)
        shutil.rmtree(self.tmpdir, ignore_errors=True)


PEER_CLASSES = {"alpha101v": Alpha101v, "alpha101-pipeline": Alpha101Pipeline}


# ---------------------------------------------------------------------------------------------- child


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    tmp.replace(path)


def run_child(args: argparse.Namespace) -> int:
    """Benchmark one peer; progress is rewritten to ``args.progress`` after every step."""
    peer_name = args.peers[0]
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    progress: dict[str, Any] = {"peer": peer_name, "stage": "import", "times": {}, "cpu": {}, "failed": {},
                                "warmup": {}, "timed_sum": 0.0, "running": None, "running_since": None}
    write_json(args.progress, progress)
    t0 = time.perf_counter()
    peer = PEER_CLASSES[peer_name](args, workdir)
    progress.update(version=peer.version, settings=peer.settings(), import_s=time.perf_counter() - t0)

    progress["stage"] = "load"
    write_json(args.progress, progress)
    t0 = time.perf_counter()
    full = load_npz(args.panel)
    T, N = full["close"].shape
    peer.load(tiny_slice(full), "tiny")
    peer.load(full, "full")
    del full
    progress.update(shape=[T, N], load_s=time.perf_counter() - t0)

    order = alpha_order(args.order, args.alphas)
    save = set(args.save_alphas or [])
    saved: dict[str, np.ndarray] = {}
    progress["stage"] = "warm-up"
    write_json(args.progress, progress)
    t0 = time.perf_counter()
    try:
        r = peer.run(order[0], "tiny")
        if hasattr(peer, "discard"):
            peer.discard(r)
    except Exception as exc:  # the per-alpha loop reports it
        progress["warmup_error"] = repr(exc)
    progress["global_warmup_s"] = time.perf_counter() - t0
    if args.io_floor:
        progress["io_floor_s"] = peer.io_floor()

    progress["stage"] = "timing"
    progress["budget_s"] = args.budget_s
    progress["loadavg_at_start"] = os.getloadavg()
    for k in order:
        if progress["timed_sum"] >= args.budget_s:
            break
        key = str(k)
        t0 = time.perf_counter()
        try:
            r = peer.run(k, "tiny")
            if hasattr(peer, "discard"):
                peer.discard(r)
        except Exception as exc:
            progress["failed"][key] = f"tiny panel: {type(exc).__name__}: {str(exc)[:300]}"
            write_json(args.progress, progress)
            continue
        progress["warmup"][key] = time.perf_counter() - t0
        progress["running"], progress["running_since"] = k, time.time()
        write_json(args.progress, progress)
        c0, t0 = cpu_s(), time.perf_counter()
        try:
            result = peer.run(k, "full")
        except Exception as exc:
            dt = time.perf_counter() - t0
            progress["timed_sum"] += dt
            progress["failed"][key] = f"full panel after {dt:.1f} s: {type(exc).__name__}: {str(exc)[:300]}"
            progress["running"] = progress["running_since"] = None
            write_json(args.progress, progress)
            continue
        dt = time.perf_counter() - t0
        progress["cpu"][key] = cpu_s() - c0
        progress["times"][key] = dt
        progress["timed_sum"] += dt
        progress["running"] = progress["running_since"] = None
        progress["peak_rss_gib"] = peak_rss_gib()
        if k in save:
            saved[f"alpha{k}"] = peer.tail(result, args.save_rows)
        if hasattr(peer, "discard"):
            peer.discard(result)
        del result
        write_json(args.progress, progress)
        print(f"[{peer_name}] alpha {k:3d}: {dt:8.2f} s  (sum {progress['timed_sum']:7.1f} s)", flush=True)

    if saved:
        z = load_npz(args.panel)
        np.savez(args.outputs, dates=z["dates"][-args.save_rows:], codes=z["codes"], **saved)
        progress["outputs_npz"] = str(args.outputs)
    progress["stage"] = "done"
    progress["loadavg_at_end"] = os.getloadavg()
    progress["peak_rss_gib"] = peak_rss_gib()
    write_json(args.progress, progress)
    peer.cleanup()
    return 0


# --------------------------------------------------------------------------------------------- parent


def run_peer(args: argparse.Namespace, peer: str, stem: Path) -> dict[str, Any]:
    progress_path = stem.with_name(f"{stem.name}.{peer}.progress.json")
    outputs = args.workdir / f"{stem.name}.{peer}.outputs.npz"  # scratch, outside the repository
    with contextlib.suppress(OSError):
        outputs.unlink()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--peers", peer,
           "--panel", str(args.panel), "--progress", str(progress_path), "--outputs", str(outputs),
           "--budget-s", str(args.budget_s), "--order", args.order, "--save-rows", str(args.save_rows),
           "--workdir", str(args.workdir), "--amount", args.amount, "--rank", args.rank,
           "--duckdb-memory", args.duckdb_memory]
    if args.alphas:
        cmd += ["--alphas", ",".join(map(str, args.alphas))]
    if args.save_alphas:
        cmd += ["--save-alphas", ",".join(map(str, args.save_alphas))]
    if args.duckdb_threads:
        cmd += ["--duckdb-threads", str(args.duckdb_threads)]
    if not args.io_floor:
        cmd += ["--no-io-floor"]
    grace = args.grace_s if args.grace_s is not None else max(60.0, 0.5 * args.budget_s)
    print(f"== {peer}: budget {args.budget_s:.0f} s (+{grace:.0f} s grace for the alpha in flight)", flush=True)
    t_start = time.time()
    proc = subprocess.Popen(cmd, start_new_session=True)
    killed: dict[str, Any] | None = None
    while proc.poll() is None:
        time.sleep(1.0)
        try:
            prog = json.loads(progress_path.read_text())
        except (OSError, ValueError):
            continue
        since = prog.get("running_since")
        if since is not None and prog["timed_sum"] + (time.time() - since) > args.budget_s + grace:
            killed = {"alpha": prog["running"], "after_s": time.time() - since}
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            break
    try:
        prog = json.loads(progress_path.read_text())
    except (OSError, ValueError):
        prog = {"peer": peer, "times": {}, "failed": {}, "stage": "no progress file"}
    prog["returncode"] = proc.returncode
    prog["wall_s"] = time.time() - t_start
    if killed:
        prog["killed"] = killed
        prog["stage"] = "killed"
        print(f"== {peer}: killed alpha {killed['alpha']} after {killed['after_s']:.0f} s (past budget + grace)")
        shutil.rmtree(args.workdir / f"pipeline_out_{proc.pid}", ignore_errors=True)
        shutil.rmtree(args.workdir / f"duckdb_spill_{proc.pid}", ignore_errors=True)
    elif proc.returncode != 0:
        print(f"== {peer}: child exited with code {proc.returncode} during stage {prog.get('stage')}")
    with contextlib.suppress(OSError):
        progress_path.unlink()
    return prog


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panel", type=Path, required=True, help=".npz from bench/make_bench_panel.py")
    ap.add_argument("--out", type=Path, default=Path("bench/results/peers_times.json"))
    ap.add_argument("--peers", type=lambda s: [p.strip() for p in s.split(",") if p.strip()],
                    default=list(PEERS), help=f"comma-separated subset of {', '.join(PEERS)}")
    ap.add_argument("--budget-s", type=float, default=240.0, help="timed seconds per peer (default 240)")
    ap.add_argument("--grace-s", type=float, default=None,
                    help="extra seconds the alpha in flight may use past the budget (default max(60, budget/2))")
    ap.add_argument("--alphas", type=parse_ids, default=None, help="explicit ids/ranges, e.g. 1-10,41,101")
    ap.add_argument("--order", choices=("spread", "natural"), default="spread")
    ap.add_argument("--save-alphas", type=parse_ids, default=list(FIRST))
    ap.add_argument("--save-rows", type=int, default=50)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/lasps_bench"),
                    help="scratch space (long Parquet panel, DuckDB spill, per-alpha outputs)")
    ap.add_argument("--amount", choices=("value", "volume"), default="value",
                    help="alpha101v's `amount` input (its adv base): traded value (default) or shares")
    ap.add_argument("--rank", choices=("pct", "ordinal"), default="pct",
                    help="alpha101-pipeline catalogue: rank_pct in [0,1] (default) or its ordinal rank")
    ap.add_argument("--duckdb-memory", default="8GB", help="alpha101-pipeline memory_limit ('auto' = 70%% RAM)")
    ap.add_argument("--duckdb-threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    ap.add_argument("--no-io-floor", dest="io_floor", action="store_false",
                    help="skip timing alpha101-pipeline's identity formula")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--progress", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--outputs", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.panel = args.panel.resolve()
    unknown = [p for p in args.peers if p not in PEERS]
    if unknown:
        ap.error(f"unknown peer(s) {unknown}; choose from {PEERS}")
    if args.child:
        return run_child(args)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    stem = args.out.with_suffix("")
    meta_path = args.out.with_suffix(".meta.json")
    times: dict[str, dict[str, float]] = {}
    meta: dict[str, Any] = {}
    if args.out.exists() and meta_path.exists():  # keep results of peers not rerun now
        with contextlib.suppress(ValueError, OSError):
            times = json.loads(args.out.read_text())
            meta = json.loads(meta_path.read_text())
    meta["_run"] = {"panel": str(args.panel), "order": alpha_order(args.order, args.alphas),
                    "budget_s": args.budget_s, "cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version(), "machine": platform.machine()}
    for peer in args.peers:
        prog = run_peer(args, peer, stem)
        times[peer] = {k: round(v, 4) for k, v in prog.get("times", {}).items()}
        meta[peer] = {k: v for k, v in prog.items() if k not in ("times", "running", "running_since")}
        write_json(args.out, times)
        write_json(meta_path, meta)
        done, failed = len(times[peer]), len(prog.get("failed", {}))
        print(f"== {peer}: {done} alphas timed ({sum(times[peer].values()):.1f} s), {failed} failed; "
              f"peak RSS {prog.get('peak_rss_gib', float('nan')):.2f} GiB")
    print(f"wrote {args.out} and {meta_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
