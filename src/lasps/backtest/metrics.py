"""Performance metrics of a simulation (DESIGN §5), computed from the daily book values.

Daily returns ``r_t = total_t / total_{t-1} - 1`` (the first session against the initial capital).
Return, risk and drawdown statistics come from **empyrical-reloaded** (252 sessions a year, risk-free
rate 0):

=================  ==========================================================================
``total_return``   ``total_end / capital - 1`` (``empyrical.cum_returns_final``)
``annual_return``  compound annual growth rate (``empyrical.annual_return``)
``volatility``     annualised standard deviation of daily returns (``empyrical.annual_volatility``)
``sharpe``         annualised Sharpe ratio (``empyrical.sharpe_ratio``)
``max_drawdown``   worst peak-to-trough loss, a negative fraction (``empyrical.max_drawdown``)
=================  ==========================================================================

Defined here (the work log's conventions):

* ``win_rate`` — share of **holding periods** (from one rebalance fill to the next) with a positive
  return, among periods whose return is not exactly zero (all-cash periods do not count);
* ``profit_factor`` — summed KRW gains of winning periods over summed KRW losses of losing periods
  (None when no period lost);
* ``turnover`` — annualised one-way turnover: ``(bought + sold) / 2 / mean(total) * 252 / days``
  (1.0 = the whole book replaced once a year);
* ``fees``, ``taxes`` — KRW paid in total;
* ``benchmark_return`` — KOSPI (1001) over the same sessions, from the close before the first one;
  ``excess_return = total_return - benchmark_return`` (simple difference, as in the work log).
"""

from __future__ import annotations

import itertools
import math

import empyrical
import numpy as np

from lasps.backtest.simulator import SimResult

ANNUALIZATION = 252

#: Keys of the metrics block of ``summary.json``, in order.
METRIC_KEYS: tuple[str, ...] = (
    "total_return", "annual_return", "volatility", "sharpe", "max_drawdown", "win_rate", "profit_factor",
    "turnover", "fees", "taxes", "excess_return",
)


def _f(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def period_pnl(result: SimResult) -> np.ndarray:
    """KRW profit of each holding period: from the close before a rebalance fill (the capital for the
    first) to the close before the next fill (the last close for the last period)."""
    tv = result.total_value
    D = len(tv)
    if D == 0:
        return np.zeros(0)
    offs = result.targets.fill_rows - result.start_row
    bounds = np.unique(np.concatenate([[0], offs[(offs > 0) & (offs < D)], [D]]))
    prev = np.concatenate([[result.capital], tv[:-1]])
    return np.array([tv[b - 1] - prev[a] for a, b in itertools.pairwise(bounds)])


def compute_metrics(result: SimResult) -> dict[str, float | int | None]:
    """Metrics of one simulation (see the module docstring): :data:`METRIC_KEYS` plus
    ``benchmark_return, final_value, days, periods, n_trades``; None where undefined."""
    r = result.returns
    tv = result.total_value
    D = len(tv)
    pnl = period_pnl(result)
    moved = pnl[pnl != 0]
    wins = moved[moved > 0].sum()
    losses = -moved[moved < 0].sum()
    bench = result.benchmark
    bench_ret = bench[-1] / result.capital - 1.0 if D and np.isfinite(bench[-1]) else math.nan
    total = tv[-1] / result.capital - 1.0 if D else math.nan
    traded = float(result.bought.sum() + result.sold.sum())
    mean_tv = float(tv.mean()) if D else math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "total_return": _f(empyrical.cum_returns_final(r)) if D else None,
            "annual_return": _f(empyrical.annual_return(r, annualization=ANNUALIZATION)) if D else None,
            "volatility": _f(empyrical.annual_volatility(r, annualization=ANNUALIZATION)) if D > 1 else None,
            "sharpe": _f(empyrical.sharpe_ratio(r, annualization=ANNUALIZATION)) if D > 1 else None,
            "max_drawdown": _f(empyrical.max_drawdown(r)) if D else None,
            "win_rate": _f(len(moved[moved > 0]) / len(moved)) if len(moved) else None,
            "profit_factor": _f(wins / losses) if losses > 0 else None,
            "turnover": _f(traded / 2.0 / mean_tv * ANNUALIZATION / D) if D and mean_tv > 0 else None,
            "fees": float(result.fees.sum()),
            "taxes": float(result.taxes.sum()),
            "excess_return": _f(total - bench_ret),
            "benchmark_return": _f(bench_ret),
            "final_value": _f(tv[-1]) if D else None,
            "days": D,
            "periods": len(pnl),
            "n_trades": len(result.trades),
        }
    return out


def benchmark_metrics(result: SimResult) -> dict[str, float | None]:
    """Return and risk metrics of the KOSPI series of ``result`` over the same sessions (same
    definitions as :func:`compute_metrics`; trading metrics are None). All None without an index."""
    b = result.benchmark
    out: dict[str, float | None] = dict.fromkeys(METRIC_KEYS)
    if len(b) == 0 or not np.isfinite(b).all():
        return out
    r = b / np.concatenate([[result.capital], b[:-1]]) - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        out.update({
            "total_return": _f(empyrical.cum_returns_final(r)),
            "annual_return": _f(empyrical.annual_return(r, annualization=ANNUALIZATION)),
            "volatility": _f(empyrical.annual_volatility(r, annualization=ANNUALIZATION)) if len(r) > 1 else None,
            "sharpe": _f(empyrical.sharpe_ratio(r, annualization=ANNUALIZATION)) if len(r) > 1 else None,
            "max_drawdown": _f(empyrical.max_drawdown(r)),
        })
    return out


__all__ = ["ANNUALIZATION", "METRIC_KEYS", "benchmark_metrics", "compute_metrics", "period_pnl"]
