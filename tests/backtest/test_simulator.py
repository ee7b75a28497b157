"""The simulator on tiny hand-computed markets: cash, shares, fees and taxes worked out in comments."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.backtest.market import SimMarket
from lasps.backtest.simulator import SimConfig, simulate
from lasps.backtest.strategies import Targets
from lasps.errors import ConfigError
from lasps.krx.costs import CostModel

NAN = np.nan
# Mon 2024-03-04 .. Mon 2024-03-11: six sessions; a sale settles two sessions later (still 2024: 0.18 %)
DATES = np.array(["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11"],
                 dtype="datetime64[D]")
CODES = np.array(["A", "B", "C"], dtype=object)


def _market(open_: np.ndarray, close: np.ndarray, volume: np.ndarray | None = None, **kw: object) -> SimMarket:
    vol = np.where(np.isfinite(open_), 1_000.0, NAN) if volume is None else volume
    return SimMarket.from_arrays(DATES[: open_.shape[0]], CODES[: open_.shape[1]], open_, close, vol, **kw)


def _targets(signal_rows: list[int], codes: list[list[int]]) -> Targets:
    c = np.array(codes, dtype=np.int64)
    return Targets(np.array(signal_rows, dtype=np.int64), c, (c >= 0).any(axis=1))


def test_three_stocks_by_hand() -> None:
    #            A (open, close)    B               C
    # 0 03-04   10000 10000        5000 5000       2000 2000
    # 1 03-05   10000 10500        5000 4900       2000 2010
    # 2 03-06   10600 11000        4900 4950       2010 2020
    # 3 03-07   10900 10000        4950 5050       2020 2000
    # 4 03-08    9900  9800        5100 5200       2000 1990
    # 5 03-11    9800 10200        5200 5300       1990 2005
    open_ = np.array([[10000, 5000, 2000], [10000, 5000, 2000], [10600, 4900, 2010], [10900, 4950, 2020],
                      [9900, 5100, 2000], [9800, 5200, 1990]], dtype=float)
    close = np.array([[10000, 5000, 2000], [10500, 4900, 2010], [11000, 4950, 2020], [10000, 5050, 2000],
                      [9800, 5200, 1990], [10200, 5300, 2005]], dtype=float)
    # signals at the closes of rows 0 and 3 -> fills at the opens of rows 1 and 4; K = 2
    res = simulate(_market(open_, close), _targets([0, 3], [[0, 1], [1, 2]]), SimConfig(1, 5, 1_000_000.0))
    # row 1: value 1,000,000 -> 500,000 per slot
    #   A: floor(500,000 / (10,000 * 1.00015)) = 49 shares = 490,000, fee floor(73.5) = 73
    #   B: floor(500,000 / (5,000 * 1.00015)) = 99 shares = 495,000, fee floor(74.25) = 74
    #   cash 1,000,000 - 490,073 - 495,074 = 14,853
    # row 4: value at the open 14,853 + 49 * 9,900 + 99 * 5,100 = 1,004,853 -> 502,426.5 per slot
    #   sell A 49 @ 9,900 = 485,100: fee floor(72.765) = 72, tax floor(0.18 % = 873.18) = 873 -> cash 499,008
    #   trim B to floor(502,426.5 / (5,100 * 1.00015)) = 98: sell 1 @ 5,100, fee 0, tax floor(9.18) = 9
    #   -> cash 504,099
    #   buy C floor(502,426.5 / (2,000 * 1.00015)) = 251 @ 2,000 = 502,000, fee floor(75.3) = 75 -> cash 2,024
    np.testing.assert_array_equal(res.cash, [14_853, 14_853, 14_853, 2_024, 2_024])
    np.testing.assert_array_equal(res.positions_value, [
        49 * 10_500 + 99 * 4_900, 49 * 11_000 + 99 * 4_950, 49 * 10_000 + 99 * 5_050,
        98 * 5_200 + 251 * 1_990, 98 * 5_300 + 251 * 2_005])
    np.testing.assert_array_equal(res.total_value, res.cash + res.positions_value)
    assert res.total_value[-1] == 1_024_679.0
    t = res.trades
    assert t[["date", "code", "side", "qty", "price", "fee", "tax", "reason"]].values.tolist() == [
        ["2024-03-05", "A", "buy", 49, 10_000.0, 73.0, 0.0, "rebalance"],
        ["2024-03-05", "B", "buy", 99, 5_000.0, 74.0, 0.0, "rebalance"],
        ["2024-03-08", "A", "sell", 49, 9_900.0, 72.0, 873.0, "exit"],
        ["2024-03-08", "B", "sell", 1, 5_100.0, 0.0, 9.0, "trim"],
        ["2024-03-08", "C", "buy", 251, 2_000.0, 75.0, 0.0, "rebalance"],
    ]
    assert res.fees.sum() == 294.0 and res.taxes.sum() == 882.0
    assert res.final_qty.tolist() == [0, 98, 251]


def test_slippage_moves_fill_prices() -> None:
    open_ = np.full((3, 1), 10_000.0)
    res = simulate(_market(open_, open_, costs=CostModel(slippage_bps=10)), _targets([0], [[0]]),
                   SimConfig(1, 2, 1_000_000.0))
    # buy at 10,000 * 1.001 = 10,010: floor(1,000,000 / (10,010 * 1.00015)) = 99 shares
    assert res.trades["price"].tolist() == pytest.approx([10_010.0])
    assert res.trades["qty"].tolist() == [99]


def test_upper_locked_stock_is_not_bought() -> None:
    # A opens at 13,000 = the upper limit of 10,000 on row 1: the buy does not fill, its slot stays cash
    open_ = np.array([[10_000, 5_000], [13_000, 5_000], [13_000, 5_000]], dtype=float)
    close = np.array([[10_000, 5_000], [13_000, 5_000], [13_500, 5_000]], dtype=float)
    res = simulate(_market(open_, close), _targets([0], [[0, 1]]), SimConfig(1, 2, 1_000_000.0))
    assert res.trades["code"].tolist() == ["B"]
    assert res.blocked["buy_locked_up"] == 1
    assert res.cash[0] == pytest.approx(1_000_000 - 99 * 5_000 - 74)


def test_lower_locked_stock_is_not_sold_then_retried() -> None:
    # hold A from row 1; at row 3 A opens at 7,000 = lower limit of 10,000 -> the exit waits;
    # row 4 opens at 7,500 (lower limit of 7,000 is 4,900): the pending sell fills, reason 'retry'
    open_ = np.array([[10_000], [10_000], [10_000], [7_000], [7_500], [7_600]], dtype=float)
    close = np.array([[10_000], [10_000], [10_000], [7_000], [7_600], [7_600]], dtype=float)
    res = simulate(_market(open_, close), _targets([0, 2], [[0], [-1]]), SimConfig(1, 5, 1_000_000.0))
    # rebalance 2 has no target at all -> inactive: the book is kept, nothing is sold
    assert res.trades["side"].tolist() == ["buy"]
    res = simulate(_market(open_, close), Targets(np.array([0, 2]), np.array([[0], [-1]]), np.array([True, True])),
                   SimConfig(1, 5, 1_000_000.0))
    assert res.trades[["date", "side", "price", "reason"]].values.tolist() == [
        ["2024-03-05", "buy", 10_000.0, "rebalance"], ["2024-03-08", "sell", 7_500.0, "retry"]]
    assert res.blocked["sell_locked_down"] == 1


def test_halted_stock_cannot_trade() -> None:
    # B is halted (no price, no volume) on row 1: not bought; A halted on row 3: held, sold on row 4
    open_ = np.array([[1_000, 1_000], [1_000, NAN], [1_000, 1_000], [NAN, 1_000], [1_000, 1_000]], dtype=float)
    close = open_.copy()
    res = simulate(_market(open_[:5, :2], close[:5, :2]), _targets([0, 2], [[0, 1], [1, -1]]),
                   SimConfig(1, 4, 1_000_000.0))
    assert res.blocked["buy_halted"] == 1
    assert res.blocked["sell_halted"] == 1
    sells = res.trades[res.trades["side"] == "sell"]
    assert sells[["date", "code", "reason"]].values.tolist() == [["2024-03-08", "A", "retry"]]
    # the halted position is marked at its last close meanwhile
    assert res.positions_value[2] > 0


def test_delisted_position_closed_at_last_price_and_flagged() -> None:
    # A's last traded session is row 2 (delisted afterwards): sold at its close 9,000 with costs
    open_ = np.array([[10_000], [10_000], [9_500], [NAN], [NAN]], dtype=float)
    close = np.array([[10_000], [10_000], [9_000], [NAN], [NAN]], dtype=float)
    res = simulate(_market(open_, close), _targets([0], [[0]]), SimConfig(1, 4, 1_000_000.0))
    t = res.trades
    assert t[["date", "side", "qty", "price", "reason"]].values.tolist() == [
        ["2024-03-05", "buy", 99, 10_000.0, "rebalance"], ["2024-03-06", "sell", 99, 9_000.0, "delisted"]]
    # 891,000 sold: fee floor(133.65) = 133, tax floor(0.18 % = 1,603.8) = 1,603
    assert t["fee"].iloc[1] == 133.0 and t["tax"].iloc[1] == 1_603.0
    cash_after_buy = 1_000_000 - 990_000 - 148
    assert res.cash[-1] == cash_after_buy + 891_000 - 133 - 1_603
    assert res.positions_value[1:].tolist() == [0.0, 0.0, 0.0]


def test_delisting_day_is_not_bought() -> None:
    open_ = np.array([[10_000], [10_000], [NAN]], dtype=float)
    res = simulate(_market(open_, open_, delist_row=np.array([1])), _targets([0], [[0]]), SimConfig(1, 2, 1e6))
    assert len(res.trades) == 0 and res.total_value[-1] == 1e6


def test_benchmark_scaled_to_capital_from_previous_close() -> None:
    open_ = np.full((4, 1), 1_000.0)
    bench = np.array([2_000.0, 2_100.0, 2_200.0, 2_000.0])
    res = simulate(_market(open_, open_, benchmark=bench), _targets([0], [[-1]]), SimConfig(1, 3, 1e6))
    np.testing.assert_allclose(res.benchmark, [1.05e6, 1.1e6, 1.0e6])


def test_bad_config() -> None:
    with pytest.raises(ConfigError):
        SimConfig(0, 3, capital=0.0)
    with pytest.raises(ConfigError):
        SimConfig(3, 1)
    open_ = np.full((3, 1), 1_000.0)
    with pytest.raises(ConfigError):
        simulate(_market(open_, open_), _targets([0], [[0]]), SimConfig(1, 5))
