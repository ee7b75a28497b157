"""Step ``picks``: each selected variant nominates its top codes at D; most votes win (the work log's voting)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lasps.backtest.strategies import pct_rank_rows, topk_rows, variant_scores, voting
from lasps.data.store import with_store_retry
from lasps.files import atomic_write_text, write_json
from lasps.pipeline import outputs as out
from lasps.pipeline.context import StepContext

log = logging.getLogger("lasps.pipeline")


def vote(signals: pd.DataFrame, variants: Sequence[str], n_picks: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Voting picks at one date (the work log's strategy, :func:`lasps.backtest.strategies.voting`).

    Parameters
    ----------
    signals:
        One row per code: ``code, in_universe`` and one column per alpha (values at the date).
    variants:
        Selected variants (``alpha_012``, ``alpha_046_rev`` …).
    n_picks:
        Each variant nominates its top ``n_picks`` codes; the ``n_picks`` codes with the most votes win,
        ties broken by the summed percentile rank over all variants.

    Returns the picks (``rank, code, votes, rank_sum, score, nominated_by``) and the contributions
    ``{code: {variant: [percentile rank, nominated]}}``.
    """
    alphas = {c: signals[c].to_numpy(dtype=np.float64)[None, :] for c in signals.columns
              if c not in ("code", "name", "market", "sector", "close", "in_universe")}
    universe = signals["in_universe"].to_numpy(dtype=bool)[None, :]
    rows = np.array([0], dtype=np.int64)
    codes = signals["code"].astype(str).to_numpy()
    targets = voting(alphas, list(variants), universe, rows, n_picks)
    chosen = [int(j) for j in targets.codes[0] if j >= 0]
    votes = np.zeros(len(codes))
    ranksum = np.zeros(len(codes))
    nominated: dict[int, list[str]] = {}
    pct: dict[str, np.ndarray] = {}
    for v in variants:
        x = variant_scores(alphas, v, rows, universe)
        top = topk_rows(x, n_picks)[0]
        for j in top[top >= 0]:
            votes[j] += 1
            nominated.setdefault(int(j), []).append(v)
        p = pct_rank_rows(x)[0]
        pct[v] = p
        ranksum += np.nan_to_num(p, nan=0.0)
    recs = []
    contributions: dict[str, Any] = {}
    for i, j in enumerate(chosen, start=1):
        recs.append({"rank": i, "code": codes[j], "votes": int(votes[j]), "rank_sum": float(ranksum[j]),
                     "score": float(votes[j] * (len(variants) + 1) + ranksum[j]),
                     "nominated_by": ",".join(nominated.get(j, []))})
        contributions[codes[j]] = {v: [None if not np.isfinite(pct[v][j]) else float(pct[v][j]),
                                       v in nominated.get(j, [])] for v in variants}
    frame = pd.DataFrame(recs, columns=["rank", "code", "votes", "rank_sum", "score", "nominated_by"])
    return frame, contributions


def run(ctx: StepContext) -> tuple[dict[str, Any], bool]:
    cfg = ctx.config
    sel = out.read_json(ctx.file("selection.json")) or {}
    variants = [r["variant"] for r in sel.get("variants", [])]
    signals = pd.read_parquet(ctx.file("signals.parquet"))
    picks, contributions = vote(signals, variants, cfg.picks)
    meta = signals.set_index("code")[["name", "market", "sector", "close"]]
    picks = picks.merge(meta, left_on="code", right_index=True, how="left")
    picks = picks[["rank", "code", "name", "market", "sector", "close", "votes", "rank_sum", "score", "nominated_by"]]
    if len(picks) < cfg.picks:
        ctx.warnings.append(f"only {len(picks)} codes were nominated (asked for {cfg.picks})")
    universe = int(signals["in_universe"].sum())
    doc = {"date": ctx.date.isoformat(), "variants": variants, "n_picks": cfg.picks, "universe": universe,
           "picks": [dict(r) | {"nominated_by": [v for v in str(r["nominated_by"]).split(",") if v]}
                     for r in picks.to_dict(orient="records")],
           "contributions": contributions}
    atomic_write_text(ctx.file("picks.csv"), picks.to_csv(index=False))
    write_json(ctx.file("picks.json"), doc)
    if not cfg.dry_run:
        with_store_retry(lambda: _write_picks_table(ctx, picks))
        current = out.latest_date(ctx.home)
        if current is None or current <= ctx.date.isoformat():
            atomic_write_text(out.pipeline_root(ctx.home) / out.LATEST, ctx.date.isoformat() + "\n")
    log.info("picks: %s", ", ".join(f"{r.code} {r.name} ({r.votes} votes)" for r in picks.itertuples()))
    return {"picks": picks["code"].tolist(), "universe": universe,
            "line": f"{len(picks)} picks from {universe} codes: {', '.join(picks['code'])}"}, False


def _write_picks_table(ctx: StepContext, picks: pd.DataFrame) -> None:
    """Replace the ``picks`` rows of D in the market store (one short transaction)."""
    rows = picks[["rank", "code", "name", "votes", "rank_sum", "score", "close", "nominated_by"]].copy()
    rows.insert(0, "date", pd.Timestamp(ctx.date))
    rows["created_at"] = pd.Timestamp.now()
    with ctx.ws.store(write=True) as store:
        store.replace_picks(ctx.date, rows)
