"""Write the random-walk benchmark panel of ``bench/alpha_bench.py`` to an ``.npz`` for the peer benchmark.

Run with the project's interpreter (it imports ``lasps``)::

    .venv/bin/python bench/make_bench_panel.py                      # 4,000 codes x 2,900 dates, seed 0
    .venv/bin/python bench/make_bench_panel.py --stocks 800 --days 500 --out /tmp/small.npz

The panel is built by ``alpha_bench.make_panel`` itself (same seed and size logic), so the peers get
exactly the market our engine is benchmarked on. Saved arrays (float64 ``(T, N)`` unless noted):
``open high low close volume value vwap returns cap``, ``industry`` ``(N,)`` int64 (26 groups),
``dates`` ``(T,)`` datetime64[D], ``codes`` ``(N,)`` ``<U6``, ``index_close`` ``(T,)`` (KOSPI-like) and
``seed`` (scalar). ``vwap``, ``returns`` and ``cap`` are the panel's derived fields (``value / volume``,
the close-to-close return with NaN after a gap, ``market_cap``), i.e. bit-for-bit what the engine reads.
Cells before a code's listing and on halted days are NaN in every field. About 0.85 GB at full size
(uncompressed, so loading is fast); the default location is outside the repository.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))
try:
    import lasps  # noqa: F401
except ImportError:  # standalone use from a source checkout
    sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from alpha_bench import make_panel  # noqa: E402  (bench/ is not a package)

DEFAULT_DIR = Path("/tmp/lasps_bench")
FIELDS = ("open", "high", "low", "close", "volume", "value", "vwap", "returns", "cap")


def default_path(stocks: int, days: int, seed: int) -> Path:
    return DEFAULT_DIR / f"panel_{stocks}x{days}_s{seed}.npz"


def save_panel(path: Path, days: int, stocks: int, seed: int) -> dict[str, float]:
    """Build the panel with ``alpha_bench.make_panel`` and write it to ``path`` (uncompressed npz)."""
    t0 = time.perf_counter()
    panel = make_panel(days, stocks, seed)
    arrays: dict[str, np.ndarray] = {name: np.ascontiguousarray(panel.field(name), dtype=np.float64)
                                     for name in FIELDS}
    built = time.perf_counter() - t0
    arrays["industry"] = np.asarray(panel.industry, dtype=np.int64)
    arrays["dates"] = np.asarray(panel.dates, dtype="datetime64[D]")
    arrays["codes"] = np.asarray(panel.codes, dtype="<U6")
    arrays["index_close"] = np.asarray(panel.index["1001"], dtype=np.float64)
    arrays["seed"] = np.asarray(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return {"build_s": built, "total_s": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=2900)
    ap.add_argument("--stocks", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None,
                    help=f"output .npz (default {DEFAULT_DIR}/panel_<stocks>x<days>_s<seed>.npz)")
    args = ap.parse_args(argv)
    out = args.out or default_path(args.stocks, args.days, args.seed)
    t = save_panel(out, args.days, args.stocks, args.seed)
    size = out.stat().st_size / 1024**3
    print(f"panel {args.days} dates x {args.stocks} codes (seed {args.seed}) built in {t['build_s']:.1f} s, "
          f"written to {out} ({size:.2f} GiB) in {t['total_s']:.1f} s total")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
