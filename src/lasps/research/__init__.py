"""Research: forward returns, IC, quantiles, ranking, walk-forward selection, overfitting statistics.

Timing and dating — the contract of every module here
-----------------------------------------------------
* An alpha value in row ``t`` of a ``(T, N)`` panel uses data through the **close of date t**.
* Its forward return ``fwd[t]`` (default: enter at the next open, hold ``h = 5`` sessions,
  ``open[t+1+h] / open[t+1] - 1``; ``entry="close"``: ``close[t+h] / close[t] - 1``) is dated by the
  **signal row t** but only **known at row** ``known_row[t] = t + 1 + h`` (``t + h`` for close entry).
* Everything computed from ``fwd[t]`` — the IC of date t, the quantile returns of date t, the return of
  a portfolio formed at t — is dated t and known at ``known_row[t]``. Files keep the signal date
  (``ic_daily_latest.parquet``: ``date`` = signal date); the DuckDB tables add ``known_date``.
* A decision at the close of row ``s`` (walk-forward selection) reads only values with
  ``known_row <= s``, i.e. signal rows ``t <= s - (h + 1)``. Tests perturb every price after ``s`` and
  check that no selection made at or before ``s`` and no value known by ``s`` changes.
* Train/val/test splits are by date and purged: a signal belongs to a split only when its outcome is
  known inside the same split.

Modules (pure functions returning small result objects; rendering is separate):
:mod:`~lasps.research.forward`, :mod:`~lasps.research.kernels` (numba), :mod:`~lasps.research.evaluate`,
:mod:`~lasps.research.ic`, :mod:`~lasps.research.quantiles`, :mod:`~lasps.research.splits`,
:mod:`~lasps.research.ranking`, :mod:`~lasps.research.walkforward`, :mod:`~lasps.research.overfit`,
:mod:`~lasps.research.correlation`, :mod:`~lasps.research.plots`, :mod:`~lasps.research.io`.
"""

from __future__ import annotations

from lasps.research.correlation import CorrelationResult, alpha_correlation
from lasps.research.evaluate import EvalConfig, Evaluation, evaluate, evaluate_arrays
from lasps.research.forward import ForwardReturns, forward_returns, known_rows, panel_forward_returns
from lasps.research.ic import ICStats, ic_stats, newey_west_se, newey_west_tstat, rank_ic
from lasps.research.overfit import (
    PBO,
    DeflatedSharpe,
    OverfitReport,
    deflated_sharpe,
    expected_max_sharpe,
    overfit_report,
    pbo_cscv,
)
from lasps.research.ranking import RANK_COLUMNS, RankTable, rank_table
from lasps.research.splits import Splits, SplitSpec, make_splits
from lasps.research.walkforward import WalkForwardConfig, WalkForwardResult, walk_forward

__all__ = [
    "PBO",
    "RANK_COLUMNS",
    "CorrelationResult",
    "DeflatedSharpe",
    "EvalConfig",
    "Evaluation",
    "ForwardReturns",
    "ICStats",
    "OverfitReport",
    "RankTable",
    "SplitSpec",
    "Splits",
    "WalkForwardConfig",
    "WalkForwardResult",
    "alpha_correlation",
    "deflated_sharpe",
    "evaluate",
    "evaluate_arrays",
    "expected_max_sharpe",
    "forward_returns",
    "ic_stats",
    "known_rows",
    "make_splits",
    "newey_west_se",
    "newey_west_tstat",
    "overfit_report",
    "panel_forward_returns",
    "pbo_cscv",
    "rank_ic",
    "rank_table",
    "walk_forward",
]
