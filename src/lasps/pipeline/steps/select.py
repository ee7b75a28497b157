"""Step ``select``: the top-K variants by the trailing window metric, outcomes known at the close of D.

The window and the top-K rule are :mod:`lasps.research.selection`'s (the same rule walk-forward and the
backtest use); the scores are the window metrics the evaluate step wrote (``rank_window.csv``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from lasps.errors import LaspsError
from lasps.files import write_json
from lasps.pipeline import outputs as out
from lasps.pipeline.context import StepContext
from lasps.research.selection import top_k
from lasps.research.variants import base_alpha, direction

log = logging.getLogger("lasps.pipeline")


def run(ctx: StepContext) -> tuple[dict[str, Any], bool]:
    cfg = ctx.config
    ev_meta = out.read_json(ctx.file("evaluation.json")) or {}
    rank = pd.read_csv(ctx.file("rank_window.csv"))
    wfv = pd.read_csv(ctx.file("wf_variants.csv")).set_index("variant")
    min_known = int(ev_meta.get("min_known") or 2)
    score = pd.to_numeric(rank[cfg.metric], errors="coerce")
    ok = np.isfinite(score.to_numpy()) & (rank["n_days"].to_numpy() >= min_known)
    best = top_k(score.to_numpy(dtype=np.float64), cfg.top_k, counts=rank["n_days"].to_numpy(), min_count=min_known)
    chosen = rank.iloc[best].assign(_score=score.iloc[best].to_numpy())
    if chosen.empty:
        raise LaspsError(
            f"no variant has {min_known}+ known daily ICs in the selection window "
            f"{ev_meta.get('window_first')}..{ev_meta.get('window_last')}", where="--window",
            fix="choose a later --date or a shorter --window (codes enter the universe after "
                "`universe_min_history` sessions)")
    rows = []
    for i, (_, r) in enumerate(chosen.iterrows(), start=1):
        v = str(r["variant"])
        alpha = base_alpha(v)
        spec = ctx.catalogue.get(alpha)
        w = wfv.loc[v] if v in wfv.index else None
        rows.append({
            "rank": i, "variant": v, "alpha": alpha, "direction": direction(v),
            "score": float(r["_score"]),
            "metrics": {k: (None if pd.isna(r[k]) else float(r[k])) for k in
                        ("n_days", "coverage", "ic_mean", "ic_std", "ic_ir", "ic_t_nw", "hit_rate", "q_spread",
                         "ls_return", "lo_return", "turnover")},
            "times_chosen": int(w["times_chosen"]) if w is not None else 0,
            "oos_ic": (None if w is None or pd.isna(w["oos_ic"]) else float(w["oos_ic"])),
            "oos_days": int(w["oos_days"]) if w is not None else 0,
            "description": spec.description if spec is not None else "",
            "formula": spec.formula if spec is not None else "",
        })
    doc = {"date": ctx.date.isoformat(), "metric": cfg.metric, "window": [ev_meta.get("window_first"),
                                                                         ev_meta.get("window_last")],
           "min_known": min_known, "n_variants": len(rank), "n_eligible": int(ok.sum()), "variants": rows}
    write_json(ctx.file("selection.json"), doc)
    if len(rows) < cfg.top_k:
        ctx.warnings.append(f"only {len(rows)} of the requested {cfg.top_k} variants had enough known ICs")
    log.info("select: top %d of %d variants by trailing %s: %s", len(rows), len(rank), cfg.metric,
             ", ".join(r["variant"] for r in rows))
    return {"variants": [r["variant"] for r in rows], "n_eligible": int(ok.sum()),
            "line": f"top {len(rows)} of {len(rank)} variants by trailing {cfg.metric}"}, False
