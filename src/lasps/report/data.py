"""What a daily report shows: plain data, filled by the pipeline, rendered by :mod:`~lasps.report.markdown`
and :mod:`~lasps.report.html` (nothing is computed while rendering beyond formatting and cumulative
products).

Conventions of every figure in a report (they are printed in its *Method* section):

* a signal uses data through the close of its date; the forward return enters at the **next open** and is
  held ``horizon`` sessions, so a signal's outcome is known ``horizon + 1`` sessions later;
* *in sample* = measured on the very window the alphas were chosen on (the work log's illusion);
  *walk-forward* = the same selection rule re-applied every ``horizon`` sessions with only the data known
  then, and traded on the following period (the honest estimate);
* no costs in the research figures (``lasps backtest`` simulates KRX costs and rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class PickRow:
    """One voted pick.

    ``contributions`` maps each selected variant to ``(percentile rank of this code in that variant on
    the date, nominated?)``; a variant nominates its top ``n_picks`` codes.
    """

    rank: int
    code: str
    name: str
    market: str
    sector: str
    close: float
    votes: int
    rank_sum: float
    nominated_by: list[str]
    contributions: dict[str, tuple[float | None, bool]] = field(default_factory=dict)


@dataclass
class AlphaRow:
    """One selected variant: its in-sample metrics on the selection window and its walk-forward record."""

    rank: int
    variant: str
    alpha: str
    direction: int
    score: float
    description: str
    formula: str
    metrics: dict[str, float | None]
    times_chosen: int = 0
    oos_ic: float | None = None
    oos_days: int = 0
    coverage_today: float | None = None


@dataclass
class Series:
    """A dated series for a chart: ``dates`` ``datetime64[D]`` and float ``values`` (NaN = gap)."""

    label: str
    dates: np.ndarray
    values: np.ndarray


@dataclass
class PriceHistory:
    """Adjusted close and share volume of one pick over the last sessions."""

    code: str
    name: str
    dates: np.ndarray
    close: np.ndarray
    volume: np.ndarray


@dataclass
class ModelPicks:
    """Top-scored stocks of the configured model (``model_checkpoint``) on the report's date.

    ``rows``: dicts ``rank, code, name, score, pred_class``; ``warning``: the loud line when the model's
    evaluation says collapsed (or it was never evaluated); ``error``: why no predictions could be made.
    """

    checkpoint: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    collapsed: bool | None = None
    warning: str | None = None
    error: str | None = None


@dataclass
class DailyReport:
    """Everything a daily report shows (see the module docstring).

    Attributes
    ----------
    date:
        The trading date the picks are for (signals at its close).
    coverage:
        Data coverage facts, label -> value (printed as a table).
    settings:
        Parameters of the run, label -> value.
    picks, alphas:
        The voted picks and the selected variants.
    n_variants, n_alphas:
        Variants tried (2 per evaluated alpha) and alphas evaluated.
    wf_summary:
        Rows of the walk-forward vs in-sample comparison (``approach, label, first, last, n_periods,
        lo_total, lo_ann, lo_sharpe, ls_total, ls_ann, ls_sharpe, ls_hit, market_ann, turnover``).
    equity:
        Approach -> long-only wealth series (growth of 1), plus ``market``.
    equity_ls:
        Approach -> long-short wealth series.
    ic:
        Variant -> daily rank IC series (by signal date) for the selected variants.
    window:
        First and last signal date of the selection window.
    correlation:
        ``(labels, matrix)`` mean daily rank correlation of the selected variants (sign-adjusted).
    prices:
        Price histories of the picks.
    warnings, notes:
        What the reader must know (survivorship, unavailable alphas, fallbacks) and method notes.
    unavailable:
        Alpha -> reason for alphas that could not be computed.
    orders:
        Paper orders placed (dicts) or None when ``--orders`` was not given.
    overfit:
        Deflated Sharpe / PBO facts of the in-sample best variant, or None.
    ic_decay:
        Selected variant -> mean daily rank IC at horizons 1 … 20 sessions (sign-adjusted for ``_rev``);
        ``ic_decay_span`` the first and last signal date it was measured over.
    model_picks:
        The configured model checkpoint's top-scored stocks on the date (None when none is configured).
    """

    date: str
    generated_at: str
    coverage: dict[str, Any]
    settings: dict[str, Any]
    picks: list[PickRow]
    alphas: list[AlphaRow]
    n_variants: int
    n_alphas: int
    wf_summary: list[dict[str, Any]]
    equity: dict[str, Series]
    equity_ls: dict[str, Series]
    ic: dict[str, Series]
    window: tuple[str, str]
    correlation: tuple[list[str], np.ndarray] | None
    prices: list[PriceHistory]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    orders: list[dict[str, Any]] | None = None
    overfit: dict[str, Any] | None = None
    horizon: int = 5
    ic_decay: dict[str, list[float | None]] = field(default_factory=dict)
    ic_decay_span: tuple[str, str] | None = None
    model_picks: ModelPicks | None = None

    @property
    def title(self) -> str:
        return f"LASPS daily alpha report — {self.date}"


__all__ = ["AlphaRow", "DailyReport", "ModelPicks", "PickRow", "PriceHistory", "Series"]
