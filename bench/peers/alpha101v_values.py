"""Compute the 101 alphas with alpha101v on an ``.npz`` panel; save them as one ``.npz`` (peer venv).

Run with the alpha101v virtualenv's interpreter (the peer is not a product dependency)::

    bench/peers/.venv-alpha101v/bin/python bench/peers/alpha101v_values.py PANEL.npz OUT.npz

``PANEL.npz`` is what ``bench/make_bench_panel.py`` writes. Every factor goes through
``alpha101v.registry.run_factor_raw("alpha<k>", frames, dtype=None)`` (float64, its own ±inf kept):
``close Open high low volume vwap returns cap`` from the panel, ``amount`` = traded value (its adv
base, the paper's dollar volume) and the one industry level for ``ind_sector/industry/subindustry``.
Output keys ``alpha<k>`` ``(T, N)`` float64; a factor that raises is saved as ``error<k>`` (message).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from alpha101v import __version__, registry


def frames(panel: dict[str, np.ndarray]) -> dict[str, object]:
    index = pd.DatetimeIndex(panel["dates"].astype("datetime64[ns]"), name="date")
    columns = pd.Index(panel["codes"].astype(str), name="code")

    def frame(name: str) -> pd.DataFrame:
        return pd.DataFrame(panel[name], index=index, columns=columns)

    ind = pd.Series(panel["industry"].astype(np.int64), index=columns, name="industry")
    return {"close": frame("close"), "Open": frame("open"), "high": frame("high"), "low": frame("low"),
            "volume": frame("volume"), "vwap": frame("vwap"), "returns": frame("returns"),
            "amount": frame("value"), "cap": frame("cap"),
            "ind_sector": ind, "ind_industry": ind, "ind_subindustry": ind}


def main(argv: list[str]) -> int:
    src, dst = argv
    with np.load(src, allow_pickle=False) as z:
        panel = {k: z[k] for k in z.files}
    inputs = frames(panel)
    out: dict[str, np.ndarray] = {"version": np.array(__version__)}
    t0 = time.perf_counter()
    for k in range(1, 102):
        try:
            result = registry.run_factor_raw(f"alpha{k}", inputs, dtype=None)
            out[f"alpha{k}"] = np.asarray(result.to_numpy(dtype=np.float64))
        except Exception as exc:
            out[f"error{k}"] = np.array(f"{type(exc).__name__}: {exc}"[:500])
    np.savez(dst, **out)
    print(f"alpha101v {__version__}: 101 factors in {time.perf_counter() - t0:.1f} s -> {dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
