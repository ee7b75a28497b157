"""Metrics: equal to empyrical-reloaded and to hand formulas."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest

from lasps.backtest.metrics import METRIC_KEYS, compute_metrics, period_pnl
from lasps.backtest.simulator import SimResult
from lasps.backtest.strategies import Targets


def _result(total: list[float], fills: list[int], capital: float = 100.0, bench: list[float] | None = None,
            bought: float = 0.0, sold: float = 0.0) -> SimResult:
    D = len(total)
    tv = np.array(total, dtype=float)
    z = np.zeros(D)
    b = np.full(D, np.nan) if bench is None else np.array(bench, dtype=float)
    buy = z.copy()
    buy[0] = bought
    sell = z.copy()
    sell[-1] = sold
    fr = np.array(fills, dtype=np.int64)
    targets = Targets(fr - 1, np.zeros((len(fr), 1), dtype=np.int64), np.ones(len(fr), dtype=bool))
    return SimResult(dates=np.arange(D).astype("datetime64[D]"), cash=tv.copy(), positions_value=z.copy(),
                     total_value=tv, fees=z + 1.0, taxes=z + 2.0, bought=buy, sold=sell,
                     n_held=np.zeros(D, dtype=np.int64), benchmark=b, trades=pd.DataFrame(),
                     blocked={}, final_qty=np.zeros(1, dtype=np.int64), capital=capital, targets=targets,
                     start_row=10)


def test_equal_to_empyrical_and_by_hand() -> None:
    total = [101.0, 99.0, 102.0, 104.0, 103.0, 107.0]
    res = _result(total, fills=[10, 13], bench=[100.0, 101.0, 102.0, 103.0, 104.0, 105.0], bought=100.0,
                  sold=60.0)
    m = compute_metrics(res)
    r = np.array(total) / np.array([100.0, *total[:-1]]) - 1.0
    assert m["total_return"] == pytest.approx(empyrical.cum_returns_final(r)) == pytest.approx(0.07)
    assert m["annual_return"] == pytest.approx(empyrical.annual_return(r, annualization=252))
    assert m["annual_return"] == pytest.approx(1.07 ** (252 / 6) - 1)
    assert m["volatility"] == pytest.approx(empyrical.annual_volatility(r, annualization=252))
    assert m["volatility"] == pytest.approx(r.std(ddof=1) * np.sqrt(252))
    assert m["sharpe"] == pytest.approx(empyrical.sharpe_ratio(r, annualization=252))
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(252))
    assert m["max_drawdown"] == pytest.approx(empyrical.max_drawdown(r)) == pytest.approx(99 / 101 - 1)
    # holding periods: fills at window offsets 0 and 3 -> [100 -> 102] and [102 -> 107]: both win
    assert period_pnl(res).tolist() == [2.0, 5.0]
    assert m["win_rate"] == 1.0 and m["profit_factor"] is None
    # turnover: (100 + 60) / 2 / mean(total) * 252 / 6
    assert m["turnover"] == pytest.approx(80.0 / np.mean(total) * 252 / 6)
    assert m["fees"] == 6.0 and m["taxes"] == 12.0
    assert m["benchmark_return"] == pytest.approx(0.05)
    assert m["excess_return"] == pytest.approx(0.02)
    assert set(METRIC_KEYS) <= set(m)


def test_win_rate_and_profit_factor() -> None:
    # periods from offsets 0, 2, 4: [100 -> 96] = -4, [96 -> 96] = 0 (not counted), [96 -> 105] = +9
    res = _result([98.0, 96.0, 97.0, 96.0, 100.0, 105.0], fills=[10, 12, 14])
    assert period_pnl(res).tolist() == [-4.0, 0.0, 9.0]
    m = compute_metrics(res)
    assert m["win_rate"] == 0.5
    assert m["profit_factor"] == pytest.approx(9 / 4)
    assert m["excess_return"] is None  # no benchmark


def test_flat_book() -> None:
    m = compute_metrics(_result([100.0] * 5, fills=[10]))
    assert m["total_return"] == 0.0 and m["win_rate"] is None and m["sharpe"] is None
