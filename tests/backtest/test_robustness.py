"""Robustness beside every strategy result (issue 15): the same rule by book size and rebalance phase."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lasps.backtest.market import SimMarket
from lasps.backtest.robustness import robustness
from lasps.backtest.runner import RunParams, run_backtest


def test_run_reports_breadth_and_phase_spread(market_home: Path) -> None:
    out = run_backtest(market_home, "voting", "12,33,101_rev", "2023-05-02", "2023-12-28",
                       RunParams(top=5, rebalance=5, write=False))
    rob = out.summary["robustness"]
    assert set(rob["top_n_total_return"]) == {"5", "20", "50"}
    # the headline run is one of the re-simulations: top 5, phase 0
    assert rob["top_n_total_return"]["5"] == pytest.approx(out.metrics["total_return"], abs=1e-12)
    assert rob["phase_total_return"][0] == pytest.approx(out.metrics["total_return"], abs=1e-12)
    assert len(rob["phase_total_return"]) == 5
    assert rob["phase_min"] <= rob["phase_median"] <= rob["phase_max"]
    assert any(n.startswith("voting: robustness (same rule)") for n in out.notes)


def test_phase_shift_by_hand() -> None:
    # one stock that doubles between the opens of rows 1 and 2 and never moves otherwise; a single-alpha
    # book that always wants it, rebalanced every 2 sessions over rows 1..5.
    dates = np.array(["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11"],
                     dtype="datetime64[D]")
    px = np.array([[1_000.0], [1_000.0], [2_000.0], [2_000.0], [2_000.0], [2_000.0]])
    market = SimMarket.from_arrays(dates, np.array(["A"], dtype=object), px, px.copy(), np.full((6, 1), 1e3))
    alphas = {"a": np.ones((6, 1))}
    rob = robustness(market, "single", alphas, ("a",), np.ones((6, 1), dtype=bool), (1, 5), 2, 1, 1_000_000.0,
                     top_ns=(1,))
    # phase 0: fill at the open of row 1 (1,000) → value doubles; phase 1: first fill at row 2 (2,000) → flat
    assert rob.phases[0] == pytest.approx(1.0, abs=0.01) and rob.phases[1] == pytest.approx(0.0, abs=0.01)
    assert rob.phase_min == rob.phases[1] and rob.phase_max == rob.phases[0]
