"""Positions stuck in a halt at the end of a backtest (issue 15): count, share, sessions, value at zero."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.backtest.market import SimMarket
from lasps.backtest.simulator import SimConfig, simulate
from lasps.backtest.strategies import Targets
from lasps.backtest.stuck import stuck_positions

NAN = np.nan
DATES = np.array(["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11"],
                 dtype="datetime64[D]")


def test_position_halted_to_the_end_is_reported_with_value_at_zero() -> None:
    # A trades throughout; B is bought on row 1 and halted from row 3 to the end (close carried: NaN open)
    open_ = np.array([[1_000, 2_000], [1_000, 2_000], [1_000, 2_000], [1_000, NAN], [1_000, NAN], [1_000, NAN]],
                     dtype=float)
    close = np.array([[1_000, 2_000], [1_000, 2_000], [1_000, 2_200], [1_000, 2_200], [1_000, 2_200],
                      [1_000, 2_200]], dtype=float)
    volume = np.where(np.isfinite(open_), 1_000.0, 0.0)
    market = SimMarket.from_arrays(DATES, np.array(["A", "B"], dtype=object), open_, close, volume)
    targets = Targets(np.array([0], dtype=np.int64), np.array([[0, 1]], dtype=np.int64), np.array([True]))
    res = simulate(market, targets, SimConfig(1, 5, 1_000_000.0))
    rep = stuck_positions(market, res)
    assert rep.count == 1
    p = rep.positions[0]
    # B: floor(500,000 / (2,000 * 1.00015)) = 249 shares, marked at its last close 2,200
    assert p.code == "B" and p.qty == 249 and p.value == 249 * 2_200
    assert p.halted_sessions == 3 and p.since == "2024-03-07"
    final = float(res.total_value[-1])
    assert p.share == pytest.approx(249 * 2_200 / final)
    assert rep.final_value_at_zero == pytest.approx(final - 249 * 2_200)
    assert rep.total_return_at_zero == pytest.approx((final - 249 * 2_200) / 1_000_000 - 1)
    d = rep.as_dict()
    assert d["count"] == 1 and d["positions"][0]["halted_sessions"] == 3
    assert "valued at zero" in rep.line().lower() and "B" in rep.line()


def test_nothing_stuck_when_the_last_session_trades() -> None:
    open_ = np.full((6, 2), 1_000.0)
    market = SimMarket.from_arrays(DATES, np.array(["A", "B"], dtype=object), open_, open_.copy(),
                                   np.full((6, 2), 1_000.0))
    targets = Targets(np.array([0], dtype=np.int64), np.array([[0, 1]], dtype=np.int64), np.array([True]))
    rep = stuck_positions(market, simulate(market, targets, SimConfig(1, 5, 1_000_000.0)))
    assert rep.count == 0 and rep.line() == "" and rep.total_return == rep.total_return_at_zero
