"""Foundation benchmarks: synthetic generate+store, full-panel load, real-sample import.

Each stage runs in its own fresh Python process so that its peak RSS is its own. Results are printed
and, with ``--write``, written into the ``data`` section of ``docs/benchmarks.md``.

    python bench/data_bench.py --stocks 4000 --years 12 --write
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_SAMPLE = ROOT.parent / "shared" / "data" / "krx-2018-2021"

STAGES = {
    "generate+store": """
        import time, resource, json
        from lasps.data.sources.synthetic import generate_synthetic
        from lasps.data.store import MarketStore
        t0 = time.perf_counter()
        b = generate_synthetic(stocks={stocks}, years={years}, seed=1)
        t1 = time.perf_counter()
        with MarketStore(HOME) as s:
            n = s.write_bundle(b, kind="init", replace=True)
        t2 = time.perf_counter()
        print(json.dumps(dict(rows=n, generate_s=t1 - t0, store_s=t2 - t1, wall_s=t2 - t0,
                              peak_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)))
    """,
    "load panel (8 fields)": """
        import time, resource, json
        from lasps.data.panel_loader import load_panel
        t0 = time.perf_counter()
        p = load_panel(fields=["open", "high", "low", "close", "volume", "value", "market_cap", "shares"],
                       universe="all", home=HOME)
        t1 = time.perf_counter()
        import numpy as np
        print(json.dumps(dict(shape=list(p.shape), cells=int(np.isfinite(p.close).sum()), wall_s=t1 - t0,
                              peak_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)))
    """,
    "import real sample": """
        import time, resource, json
        from lasps.data.sources.files import read_import
        from lasps.data.validate import validate_bundle
        from lasps.data.store import MarketStore
        t0 = time.perf_counter()
        r = read_import(REAL, "auto")
        b = validate_bundle(r.bundle, str(REAL))
        t1 = time.perf_counter()
        with MarketStore(HOME2) as s:
            n = s.write_bundle(b, kind="import")
        t2 = time.perf_counter()
        print(json.dumps(dict(rows=n, read_validate_s=t1 - t0, store_s=t2 - t1, wall_s=t2 - t0,
                              peak_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)))
    """,
}


def run_stage(name: str, code: str, env_vars: dict[str, str]) -> dict:
    prelude = "".join(f"{k} = {v!r}\n" for k, v in env_vars.items())
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--stocks", type=int, default=4000)
    ap.add_argument("--years", type=float, default=12)
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {"HOME": str(Path(tmp) / "home"), "HOME2": str(Path(tmp) / "home2"), "REAL": str(REAL_SAMPLE)}
        for name, code in STAGES.items():
            if name == "import real sample" and not REAL_SAMPLE.exists():
                results[name] = {"skipped": "real sample absent"}
                continue
            results[name] = run_stage(name, code.format(stocks=args.stocks, years=args.years), env)
            print(name, json.dumps(results[name]), flush=True)
    if args.write:
        write_doc(args, results)


def write_doc(args: argparse.Namespace, results: dict) -> None:
    targets = {"generate+store": "≤ 60 s, ≤ 6 GiB", "load panel (8 fields)": "≤ 5 s, ≤ 6 GiB",
               "import real sample": "≤ 30 s, ≤ 6 GiB"}
    lines = [
        "<!-- data-bench:start -->",
        f"### Data layer (`python bench/data_bench.py --stocks {args.stocks} --years {args.years:g}`)",
        "",
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        "2 cores. Each stage in a fresh process; peak = that process's max RSS.",
        "",
        "| stage | wall (s) | detail | peak RSS (GiB) | target |",
        "|---|---:|---|---:|---|",
    ]
    for name, r in results.items():
        if "wall_s" not in r:
            lines.append(f"| {name} | – | {r} | – | {targets[name]} |")
            continue
        detail = ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                           if k not in {"wall_s", "peak_gib"})
        lines.append(f"| {name} | {r['wall_s']:.1f} | {detail} | {r['peak_gib']:.2f} | {targets[name]} |")
    lines.append("<!-- data-bench:end -->")
    block = "\n".join(lines)
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n\n"
    if "<!-- data-bench:start -->" in text:
        head, rest = text.split("<!-- data-bench:start -->", 1)
        tail = rest.split("<!-- data-bench:end -->", 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
