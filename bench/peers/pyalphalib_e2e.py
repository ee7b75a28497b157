"""py-alpha-lib end to end on a LASPS panel export: load Parquet, compute the paper's 101 alphas, store.

Runs in the peer virtualenv (Python >= 3.12, ``pip install py-alpha-lib pyarrow``), started as a fresh
process by ``bench/compare_peers.py --end-to-end``; it imports nothing from LASPS. Steps, each timed:

1. **load**: read the panel Parquet (one row per code x date, sorted by ``securityid`` then
   ``tradetime``, complete: NaN rows where a code did not trade) and build the peer's own
   ``alpha.ExecContext`` (``groups`` = number of codes);
2. **compute**: every formula of the paper transcription (TSV ``id<TAB>formula``) is transpiled with the
   peer's own ``alpha.lang.to_python`` (identifiers upper-cased, as its CLI does) and evaluated on the
   context; a formula the peer cannot parse or evaluate is recorded as failed, not retried;
3. **store**: each result is written as soon as it is computed (then dropped) as a one-column Parquet
   file (``pyarrow.parquet.write_table`` with its defaults) in row order of the input - the lightest
   store one could write (no date/code columns).

Prints one JSON object (seconds, CPU seconds, peak RSS, failures) on the last line of stdout
(``--json-out``: also to a file, with the seconds of each alpha).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panel", type=Path, required=True, help="panel Parquet written by compare_peers.py")
    ap.add_argument("--formulas", type=Path, required=True, help="TSV: alpha id, formula")
    ap.add_argument("--out-dir", type=Path, required=True)
    ap.add_argument("--json-out", type=Path, help="also write the result JSON here")
    args = ap.parse_args(argv)
    t_start, c_start = time.perf_counter(), cpu_s()

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from alpha.context import ExecContext
    from alpha.lang import to_python

    import alpha

    t0 = time.perf_counter()
    table = pq.read_table(args.panel)
    meta = json.loads(table.schema.metadata[b"lasps.bench"])
    securities, trades = int(meta["codes"]), int(meta["dates"])
    alpha.set_ctx(groups=securities)
    ctx = ExecContext(table, securities=securities, trades=trades)
    del table
    load_s = time.perf_counter() - t0

    formulas = []
    for line in args.formulas.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            k, formula = line.split("\t", 1)
            formulas.append((int(k), formula.strip()))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    t1 = time.perf_counter()
    failed: dict[int, str] = {}
    compute_by_alpha: dict[int, float] = {}
    store_s = 0.0
    written = 0
    np.seterr(all="ignore")
    for k, formula in formulas:
        ta = time.perf_counter()
        try:
            code = to_python(f"alpha_{k:03d}", formula, as_function=True, optimize=True,
                             name_convertor=lambda s: s.upper())
            scope: dict[str, object] = {"np": np}
            exec(code, scope)  # the peer's transpiled formula
            value = np.asarray(scope[f"alpha_{k:03d}"](ctx), dtype=np.float64)  # type: ignore[operator]
            if value.shape != (securities * trades,):
                value = np.broadcast_to(value, (securities * trades,)).copy()
        except Exception as exc:
            failed[k] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
            if os.environ.get("PEER_DEBUG"):
                traceback.print_exc()
            compute_by_alpha[k] = time.perf_counter() - ta
            continue
        tb = time.perf_counter()
        compute_by_alpha[k] = tb - ta
        # stored as soon as computed (streamed, like ours), then dropped
        pq.write_table(pa.table({f"alpha_{k:03d}": value}), args.out_dir / f"alpha_{k:03d}.parquet")
        del value
        store_s += time.perf_counter() - tb
        written += 1
    compute_s = time.perf_counter() - t1 - store_s

    out = {
        "peer": "py-alpha-lib", "version": _version("py-alpha-lib"), "python": sys.version.split()[0],
        "codes": securities, "dates": trades, "load_s": load_s, "compute_s": compute_s, "store_s": store_s,
        "in_process_s": time.perf_counter() - t_start, "cpu_s": cpu_s() - c_start,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "computed": len(formulas) - len(failed), "written": written, "failed": failed,
        "compute_by_alpha": compute_by_alpha,
    }
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(out, indent=1))
    out.pop("compute_by_alpha")
    print(json.dumps(out))
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
