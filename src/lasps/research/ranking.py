"""The ranking table: every variant × split, with the number of variants tried stated up front.

One row per variant (``alpha_044``, ``alpha_044_rev`` …) and split (``train``, ``val``, ``test``,
``all``) with the columns of ``$LASPS_HOME/research/rank_latest.csv`` (DESIGN §4):

==========  ====================================================================================
variant     alpha name, ``_rev`` for the reverse direction (-alpha)
split       train / val / test / all (purged; see :mod:`lasps.research.splits`)
n_days      signal days with a finite IC
coverage    share of universe cells with a known forward return where the alpha has a value
ic_mean     mean daily rank IC;  ic_std: its standard deviation;  ic_ir = ic_mean / ic_std (daily)
ic_t_nw     t-stat of ic_mean with Newey–West errors, lag h - 1
hit_rate    share of days with IC > 0
q_spread    mean h-day return of the top minus the bottom quantile
ls_return   annualised long-short (top minus bottom quantile) return, h-day holdings, no costs
lo_return   annualised long-only (top quantile) return, h-day holdings, no costs
turnover    mean share of the top quantile replaced at each h-day rebalance
==========  ====================================================================================

See :mod:`lasps.research.quantiles` for the holding-return convention. Selecting "the best" row of
this table *is* the in-sample selection the work log fell for; compare a split's winners on the next
split, and use :mod:`lasps.research.walkforward` for an honest estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lasps.errors import ConfigError
from lasps.research.evaluate import Evaluation
from lasps.research.ic import ic_stats
from lasps.research.quantiles import holding_return, mean_finite, quantile_means
from lasps.research.splits import SPLIT_NAMES

RANK_COLUMNS: tuple[str, ...] = (
    "variant", "split", "n_days", "coverage", "ic_mean", "ic_std", "ic_ir", "ic_t_nw", "hit_rate",
    "q_spread", "ls_return", "lo_return", "turnover",
)
METRICS: tuple[str, ...] = RANK_COLUMNS[2:]


@dataclass(frozen=True)
class RankTable:
    """Metrics of every variant in every split.

    Attributes
    ----------
    frame:
        :data:`RANK_COLUMNS`, one row per variant and split.
    quantiles:
        ``variant, split, q1 … qQ``: mean h-day forward return per bucket (q1 = lowest alpha).
    market:
        Split -> annualised return of the equal-weight universe with the same h-day holdings (the
        bar a long-only figure must clear).
    n_alphas, n_variants:
        Alphas evaluated and variants tried (2 per alpha).
    horizon, entry, n_quantiles:
        Timing and bucket count.
    split_note:
        The split boundaries in force (and whether the 60/20/20 fallback was used).
    unavailable:
        Alpha -> reason for alphas that could not be evaluated (they are not counted as tried).
    """

    frame: pd.DataFrame
    quantiles: pd.DataFrame
    market: dict[str, float]
    n_alphas: int
    n_variants: int
    horizon: int
    entry: str
    n_quantiles: int
    split_note: str
    unavailable: dict[str, str]

    @property
    def tried(self) -> str:
        """``"202 variants tried (101 alphas x 2 directions)"``."""
        return f"{self.n_variants} variants tried ({self.n_alphas} alphas × 2 directions)"

    def top(self, split: str = "test", by: str = "ic_ir", n: int | None = 20, ascending: bool = False) -> pd.DataFrame:
        """The rows of ``split`` sorted by ``by`` (NaN last), first ``n`` (all when None)."""
        if split not in SPLIT_NAMES:
            raise ConfigError(f"unknown split {split!r}", where="--split", fix=f"choose from {list(SPLIT_NAMES)}")
        if by not in METRICS:
            raise ConfigError(f"unknown metric {by!r}", where="--by", fix=f"choose from {list(METRICS)}")
        sub = self.frame[self.frame["split"] == split]
        sub = sub.sort_values(by, ascending=ascending, na_position="last", kind="mergesort")
        return (sub if n is None else sub.head(n)).reset_index(drop=True)


def variant_metrics(ev: Evaluation, v: int, rows: np.ndarray) -> dict[str, float]:
    """Metrics (:data:`METRICS`) of variant index ``v`` over the signal rows ``rows`` (``(T,)`` bool)."""
    h = ev.config.horizon
    a = v // 2
    st = ic_stats(ev.ic[v, rows], lag=h - 1)
    uni = ev.n_universe[rows].sum()
    coverage = float(ev.n_pairs[a, rows].sum() / uni) if uni > 0 else math.nan
    spread = ev.long[v] - ev.short[v]
    return {
        "n_days": st.n_days, "coverage": coverage, "ic_mean": st.ic_mean, "ic_std": st.ic_std,
        "ic_ir": st.ic_ir, "ic_t_nw": st.ic_t_nw, "hit_rate": st.hit_rate,
        "q_spread": mean_finite(spread[rows]),
        "ls_return": holding_return(spread, rows, h),
        "lo_return": holding_return(ev.long[v], rows, h),
        "turnover": mean_finite(ev.turnover[v, rows]),
    }


def rank_table(ev: Evaluation) -> RankTable:
    """Build the :class:`RankTable` of an :class:`~lasps.research.evaluate.Evaluation`."""
    h = ev.config.horizon
    Q = ev.config.quantiles
    records = []
    qrecords = []
    for v, name in enumerate(ev.variants):
        for split in SPLIT_NAMES:
            rows = ev.splits.masks[split]
            records.append({"variant": name, "split": split, **variant_metrics(ev, v, rows)})
            qm = quantile_means(ev.qmean[v], rows) if rows.any() else np.full(Q, np.nan)
            qrecords.append({"variant": name, "split": split, **{f"q{q + 1}": qm[q] for q in range(Q)}})
    frame = pd.DataFrame.from_records(records, columns=list(RANK_COLUMNS))
    frame["n_days"] = frame["n_days"].astype("int64")
    qframe = pd.DataFrame.from_records(qrecords, columns=["variant", "split", *[f"q{q + 1}" for q in range(Q)]])
    market = {s: holding_return(ev.market, ev.splits.masks[s], h) for s in SPLIT_NAMES}
    return RankTable(frame=frame, quantiles=qframe, market=market, n_alphas=len(ev.alphas),
                     n_variants=ev.n_variants, horizon=h, entry=ev.config.entry, n_quantiles=Q,
                     split_note=ev.splits.note, unavailable=dict(ev.unavailable))
