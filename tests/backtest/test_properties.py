"""Property tests: invariants of the simulator on random markets with halts, locks and delistings.

Every generated run is replayed from its trade list: cash, holdings and position values must follow,
no order may fill where the rules forbid it, and cash, fees and taxes are never negative.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lasps.backtest.market import SimMarket
from lasps.backtest.simulator import SimConfig, simulate
from lasps.backtest.strategies import Targets
from lasps.krx.calendar import sessions
from lasps.krx.costs import CostModel
from lasps.krx.rules import price_limits

DATES = sessions("2024-11-01", "2025-02-28")  # crosses the 2024 -> 2025 tax change


def _random_market(seed: int, T: int, N: int, costs: CostModel) -> tuple[SimMarket, np.ndarray]:
    rng = np.random.default_rng(seed)
    dates = DATES[:T]
    close = np.empty((T, N))
    open_ = np.empty((T, N))
    px = rng.uniform(500, 80_000, N).round(-1)
    for t in range(T):
        lo, hi = price_limits(px, dates[t], "KOSPI")
        r = rng.uniform(-0.12, 0.12, N)
        open_[t] = np.clip((px * (1 + r / 3)).round(-1), lo, hi)
        lock = rng.random(N)
        open_[t] = np.where(lock < 0.08, hi, np.where(lock > 0.92, lo, open_[t]))
        close[t] = np.clip((px * (1 + r)).round(-1), lo, hi)
        px = close[t]
    halt = rng.random((T, N)) < 0.1
    open_[halt] = np.nan
    close[halt] = np.nan
    volume = np.where(halt, np.nan, np.where(rng.random((T, N)) < 0.05, 0.0, 1_000.0))
    delist = np.where(rng.random(N) < 0.2, rng.integers(0, T, N), -1)
    for j in range(N):
        if delist[j] >= 0:
            open_[delist[j] + 1:, j] = np.nan
            close[delist[j] + 1:, j] = np.nan
            if not np.isfinite(close[delist[j], j]):
                delist[j] = -1
    m = SimMarket.from_arrays(dates, np.array([f"{j:06d}" for j in range(N)], dtype=object), open_, close, volume,
                              costs=costs, delist_row=delist)
    return m, close


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), T=st.integers(3, 40), N=st.integers(1, 7), K=st.integers(1, 4),
       every=st.integers(1, 6), capital=st.floats(1e4, 1e9), commission=st.sampled_from([0.0, 0.00015, 0.003]),
       slippage=st.sampled_from([0.0, 5.0, 80.0]), round_krw=st.booleans(), p_empty=st.floats(0, 0.5))
def test_invariants_hold_on_random_markets(seed: int, T: int, N: int, K: int, every: int, capital: float,
                                           commission: float, slippage: float, round_krw: bool,
                                           p_empty: float) -> None:
    costs = CostModel(commission=commission, slippage_bps=slippage, round_krw=round_krw)
    market, _ = _random_market(seed, T, N, costs)
    rng = np.random.default_rng(seed + 1)
    start = int(rng.integers(0, T - 1))
    rows = np.arange(max(start - 1, 0), T - 1, every, dtype=np.int64)
    codes = rng.integers(0, N, size=(len(rows), K))
    codes[rng.random(codes.shape) < p_empty] = -1
    targets = Targets(rows, codes, rng.random(len(rows)) < 0.9)
    res = simulate(market, targets, SimConfig(start, T - 1, capital))

    # invariants at every close
    assert (res.cash >= -1e-6).all()
    assert (res.fees >= 0).all() and (res.taxes >= 0).all() and (res.positions_value >= 0).all()
    np.testing.assert_allclose(res.total_value, res.cash + res.positions_value)

    # replay the trades
    row_of = {str(d): i for i, d in enumerate(market.dates)}
    m = market.masks
    qty = np.zeros(N, dtype=np.int64)
    mark = np.zeros(N)
    cash = capital
    tr = res.trades
    by_row: dict[int, list] = {}
    for rec in tr.itertuples(index=False):
        by_row.setdefault(row_of[rec.date], []).append(rec)
    codes_idx = {c: j for j, c in enumerate(market.codes)}
    for t in range(start, T):
        for rec in by_row.get(t, []):
            j = codes_idx[rec.code]
            val = rec.qty * rec.price
            assert rec.qty > 0
            assert rec.fee >= 0 and rec.tax >= 0
            fee = np.floor(val * commission + 1e-9) if round_krw else val * commission
            assert rec.fee == fee or abs(rec.fee - fee) < 1e-6 * max(1.0, val)
            if rec.side == "buy":
                assert not m.halted[t, j] and not m.locked_up[t, j]
                assert market.delist_row[j] < 0 or t < market.delist_row[j]
                assert rec.tax == 0
                cash -= val + rec.fee
                if qty[j] == 0:
                    mark[j] = market.open[t, j]
                qty[j] += rec.qty
            else:
                if rec.reason == "delisted":
                    assert t == market.delist_row[j] or t >= market.delist_row[j] >= 0
                else:
                    assert not m.halted[t, j] and not m.locked_down[t, j]
                cash += val - rec.fee - rec.tax
                qty[j] -= rec.qty
            assert qty[j] >= 0
            assert cash >= -1e-6
        d = t - start
        for j in np.flatnonzero(qty):
            if market.close_ff[t, j] > 0:
                mark[j] = market.close_ff[t, j]
        np.testing.assert_allclose(res.cash[d], cash, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(res.positions_value[d], float((qty * mark).sum()), rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(res.final_qty, qty)
    np.testing.assert_array_equal(res.n_held[-1], int((qty > 0).sum()))
