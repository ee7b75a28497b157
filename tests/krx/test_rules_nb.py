"""The numba scalar rules (lasps.krx.rules_nb) agree with the vectorised ones (lasps.krx.rules) cell by cell."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.krx import rules
from lasps.krx.rules_nb import limits_nb, round_down_nb, round_nearest_nb, round_up_nb, tick_nb

TB = np.ascontiguousarray(rules.TICK_BOUNDS)
TV = np.ascontiguousarray(rules.TICK_VALUES)
# (date, market, kind) of every tick table
REGIMES = [("2024-03-04", "KOSPI", "stock"), ("2022-03-04", "KOSPI", "stock"), ("2022-03-04", "KOSDAQ", "stock"),
           ("2023-03-02", "KOSPI", "etf"), ("2024-03-04", "KOSDAQ", "etn"), ("2014-03-04", "KOSPI", "stock")]


def _prices() -> np.ndarray:
    rng = np.random.default_rng(7)
    bounds = np.unique(TB[np.isfinite(TB)])
    edges = np.concatenate([bounds, bounds - 1, bounds + 1, bounds - 0.5, bounds + 0.5])
    return np.concatenate([edges, np.exp(rng.uniform(np.log(10), np.log(2_000_000), 3_000)), [7.0, 9_980.0]])


@pytest.mark.parametrize(("date", "market", "kind"), REGIMES)
def test_scalar_kernels_match_the_vectorised_rules(date: str, market: str, kind: str) -> None:
    p = _prices()
    tid = int(rules.tick_table_id(date, market, kind))
    assert np.array_equal([tick_nb(x, tid, TB, TV) for x in p], rules.tick_size(p, date, market, kind))
    for mode, fn in (("nearest", round_nearest_nb), ("down", round_down_nb), ("up", round_up_nb)):
        assert np.array_equal([fn(x, tid, TB, TV) for x in p], rules.round_to_tick(p, date, market, mode, kind)), mode
    base = rules.round_to_tick(p, date, market, "nearest", kind)
    pct = float(round(100 * float(rules.limit_rate(date))))
    lo, up = rules.price_limits(base, date, market, kind)
    got = np.array([limits_nb(b, tid, pct, TB, TV) for b in base])
    assert np.array_equal(got[:, 0], lo) and np.array_equal(got[:, 1], up)


def test_hand_computed_limit() -> None:
    tid = int(rules.tick_table_id("2024-05-02", "KOSPI"))
    assert limits_nb(9_980.0, tid, 30.0, TB, TV) == (6_990.0, 12_970.0)  # DESIGN §5 example
