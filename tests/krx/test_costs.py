"""Costs: the sell tax is charged at the rate in force on the T+2 settlement date (DESIGN §5)."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.errors import ConfigError
from lasps.krx.costs import CostModel, rate_on, settlement_dates

# (trade date, its settlement date on the XKRX calendar, rate) on both sides of every boundary.
# Year ends: KRX is closed on the last weekday of December, so T+2 of the second-to-last session
# lands on the first session of January.
BOUNDARIES = [
    # 2019-06-03: 0.30 % -> 0.25 %
    ("2019-05-29", "2019-05-31", 0.0030),
    ("2019-05-30", "2019-06-03", 0.0025),
    # 2020 -> 2021: 0.25 % -> 0.23 % (sessions 12-28, 12-29, 12-30, then 2021-01-04)
    ("2020-12-28", "2020-12-30", 0.0025),
    ("2020-12-29", "2021-01-04", 0.0023),
    ("2020-12-30", "2021-01-05", 0.0023),
    # 2022 -> 2023: 0.23 % -> 0.20 % (12-30 is the year-end holiday)
    ("2022-12-27", "2022-12-29", 0.0023),
    ("2022-12-28", "2023-01-02", 0.0020),
    ("2022-12-29", "2023-01-03", 0.0020),
    # 2023 -> 2024: 0.20 % -> 0.18 %
    ("2023-12-26", "2023-12-28", 0.0020),
    ("2023-12-27", "2024-01-02", 0.0018),
    ("2023-12-28", "2024-01-03", 0.0018),
    # 2024 -> 2025: 0.18 % -> 0.15 %
    ("2024-12-26", "2024-12-30", 0.0018),
    ("2024-12-27", "2025-01-02", 0.0015),
    ("2024-12-30", "2025-01-03", 0.0015),
    # 2025 -> 2026: 0.15 % -> 0.20 %
    ("2025-12-26", "2025-12-30", 0.0015),
    ("2025-12-29", "2026-01-02", 0.0020),
    ("2025-12-30", "2026-01-05", 0.0020),
    # inside a year: no change (2021 and 2022 are both 0.23 %)
    ("2021-12-29", "2022-01-03", 0.0023),
]


@pytest.mark.parametrize(("trade", "settle", "rate"), BOUNDARIES)
def test_tax_by_settlement_date(trade: str, settle: str, rate: float) -> None:
    assert settlement_dates(np.array([trade], dtype="datetime64[D]"))[0] == np.datetime64(settle)
    assert CostModel().sell_tax_rates(np.array([trade], dtype="datetime64[D]"))[0] == pytest.approx(rate)


def test_vectorised_over_many_dates() -> None:
    trades = np.array([t for t, _, _ in BOUNDARIES], dtype="datetime64[D]")
    expect = np.array([r for _, _, r in BOUNDARIES])
    np.testing.assert_allclose(CostModel().sell_tax_rates(trades), expect)
    np.testing.assert_array_equal(settlement_dates(trades), np.array([s for _, s, _ in BOUNDARIES],
                                                                      dtype="datetime64[D]"))


def test_schedule_rates_on_settlement_dates() -> None:
    d = np.array(["2015-01-05", "2019-06-02", "2019-06-03", "2020-12-31", "2021-01-01", "2023-06-01",
                  "2024-06-03", "2025-06-02", "2026-06-01", "2030-01-02"], dtype="datetime64[D]")
    np.testing.assert_allclose(rate_on(d), [0.003, 0.003, 0.0025, 0.0025, 0.0023, 0.002, 0.0018, 0.0015,
                                            0.002, 0.002])


def test_non_session_trade_date_counts_from_previous_session() -> None:
    # Saturday 2024-03-09: the next two sessions are Mon 03-11 and Tue 03-12
    assert settlement_dates(np.array(["2024-03-09"], dtype="datetime64[D]"))[0] == np.datetime64("2024-03-12")


def test_fee_and_tax_round_down_to_won() -> None:
    c = CostModel()
    # 490,000 KRW buy: 0.015 % = 73.5 -> 73 KRW
    assert c.fee(490_000.0) == 73.0
    # 485,100 KRW sale on 2024-03-08 (settles 03-12, 0.18 %): 873.18 -> 873 KRW
    assert c.tax(485_100.0, "2024-03-08") == 873.0
    assert CostModel(round_krw=False).fee(490_000.0) == pytest.approx(73.5)


def test_overrides() -> None:
    flat = CostModel(tax_rate=0.001)
    assert flat.sell_tax_rates(np.array(["2019-01-02", "2026-01-02"], dtype="datetime64[D]")).tolist() == [0.001,
                                                                                                              0.001]
    custom = CostModel(tax_schedule=(("1900-01-01", 0.01), ("2024-01-01", 0.0)))
    assert custom.sell_tax_rates(np.array(["2023-12-27"], dtype="datetime64[D]"))[0] == 0.0
    assert CostModel(slippage_bps=25).slippage == pytest.approx(0.0025)


@pytest.mark.parametrize("kwargs", [{"commission": -0.001}, {"commission": float("nan")}, {"slippage_bps": -1},
                                    {"tax_rate": 0.5}, {"tax_schedule": ()},
                                    {"tax_schedule": (("2024-01-01", 0.001), ("2023-01-01", 0.001))},
                                    {"tax_schedule": (("not a date", 0.001),)}])
def test_bad_cost_parameters(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        CostModel(**kwargs)
