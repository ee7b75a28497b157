"""KRX tick sizes and daily price limits (lasps.krx.rules): hand-computed examples at the table
boundaries in every regime, plus property tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lasps.krx.rules import (
    is_on_tick,
    limit_rate,
    price_limits,
    round_to_tick,
    tick_size,
    tick_table_id,
)

NEW = "2024-05-02"  # unified table, ±30 %
OLD = "2022-12-01"  # KOSPI/KOSDAQ tables, ±30 %
OLDEST = "2014-03-03"  # KOSPI/KOSDAQ tables, ±15 %


# -- tick tables --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("price", "tick"), [
    (1, 1), (1_999, 1), (2_000, 5), (4_995, 5), (5_000, 10), (19_990, 10), (20_000, 50), (49_950, 50),
    (50_000, 100), (199_900, 100), (200_000, 500), (499_500, 500), (500_000, 1_000), (3_000_000, 1_000),
])
def test_unified_table_boundaries(price: float, tick: float) -> None:
    for market in ("KOSPI", "KOSDAQ", "KONEX"):
        assert tick_size(price, NEW, market) == tick


@pytest.mark.parametrize(("price", "kospi", "kosdaq"), [
    (999, 1, 1), (1_000, 5, 5), (4_995, 5, 5), (5_000, 10, 10), (9_990, 10, 10), (10_000, 50, 50),
    (49_950, 50, 50), (50_000, 100, 100), (99_900, 100, 100), (100_000, 500, 100), (499_500, 500, 100),
    (500_000, 1_000, 100),
])
def test_old_tables_boundaries(price: float, kospi: float, kosdaq: float) -> None:
    assert tick_size(price, OLD, "KOSPI") == kospi
    assert tick_size(price, OLD, "KOSDAQ") == kosdaq
    assert tick_size(price, OLD, "KONEX") == kosdaq  # assumed: KONEX followed the KOSDAQ table


def test_table_switch_date() -> None:
    # 1,500 KRW: tick 5 under the old tables, 1 from 2023-01-25; 150,000 on KOSPI: 500 -> 100
    assert tick_size(1_500, "2023-01-24", "KOSPI") == 5
    assert tick_size(1_500, "2023-01-25", "KOSPI") == 1
    assert tick_size(150_000, "2023-01-24", "KOSPI") == 500
    assert tick_size(150_000, "2023-01-25", "KOSPI") == 100
    assert tick_size(15_000, "2023-01-24", "KOSDAQ") == 50
    assert tick_size(15_000, "2023-01-25", "KOSDAQ") == 10


def test_etf_etn_ticks() -> None:
    # flat 5 KRW, then 1 KRW below 2,000 from the December 2023 change
    assert tick_size(1_500, "2023-06-01", "KOSPI", kind="etf") == 5
    assert tick_size(30_005, "2023-06-01", "KOSPI", kind="etn") == 5
    assert tick_size(1_500, "2024-01-02", "KOSPI", kind="etf") == 1
    assert tick_size(2_500, "2024-01-02", "KOSPI", kind="etf") == 5
    assert tick_size(30_000, "2024-01-02", "KOSPI", kind="etf") == 5
    assert tick_size(30_000, "2024-01-02", "KOSPI", kind="stock") == 50


def test_vectorised_and_scalar_results() -> None:
    prices = np.array([1_500.0, 150_000.0, np.nan, 9_980.0])
    dates = np.array(["2023-01-24", "2022-01-03", "2024-01-02", "2024-01-02"], dtype="datetime64[D]")
    markets = np.array(["KOSPI", "KOSDAQ", "KOSPI", "KOSDAQ"])
    got = tick_size(prices, dates, markets)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, [5.0, 100.0, np.nan, 10.0])
    assert isinstance(tick_size(1_000, NEW), float)
    # dates as datetime.date, pandas Timestamp and DatetimeIndex
    assert tick_size(1_500, dt.date(2023, 1, 25)) == 1
    assert tick_size(1_500, pd.Timestamp("2023-01-24")) == 5
    np.testing.assert_array_equal(tick_size(1_500, pd.DatetimeIndex(["2023-01-24", "2023-01-25"])), [5, 1])
    np.testing.assert_array_equal(tick_table_id(["2022-01-03", "2024-01-02"], "KOSDAQ"), [2, 0])


# -- rounding -----------------------------------------------------------------------------------------
def test_round_to_tick_examples() -> None:
    # 2024: 12,345 is in the 10-KRW band -> 12,340 / 12,350 / 12,350 (1,234.5 rounds half up)
    assert round_to_tick(12_345, NEW, "KOSPI", "down") == 12_340
    assert round_to_tick(12_345, NEW, "KOSPI", "up") == 12_350
    assert round_to_tick(12_345, NEW, "KOSPI", "nearest") == 12_350
    # 2022 KOSPI: the 50-KRW band -> 12,300 / 12,350; nearest: 12,345 / 50 = 246.9 -> 247 -> 12,350
    assert round_to_tick(12_345, OLD, "KOSPI", "down") == 12_300
    assert round_to_tick(12_345, OLD, "KOSPI", "up") == 12_350
    assert round_to_tick(12_345, OLD, "KOSPI", "nearest") == 12_350
    # crossing into the next band stays valid: 1,999.5 up -> 2,000 (a multiple of the 5-KRW tick)
    assert round_to_tick(1_999.5, NEW, "KOSPI", "up") == 2_000
    assert round_to_tick(2_003, NEW, "KOSPI", "down") == 2_000
    assert round_to_tick(2_003, NEW, "KOSPI", "nearest") == 2_005  # 400.6 + 0.5 -> 401 -> 2,005
    assert round_to_tick(12_340, NEW, "KOSPI", "up") == 12_340  # on tick stays
    with pytest.raises(ValueError, match="mode"):
        round_to_tick(1_000, NEW, "KOSPI", "sideways")  # type: ignore[arg-type]


def test_is_on_tick() -> None:
    np.testing.assert_array_equal(
        is_on_tick([12_340, 12_345, 2_001, np.nan], NEW, "KOSPI"), [True, False, False, False])
    assert is_on_tick(10_005, OLD, "KOSPI", kind="etf")
    assert not is_on_tick(10_005, OLD, "KOSPI")


# -- price limits -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("base", "date", "market", "lower", "upper"), [
    # 2024: tick(9,980)=10; 9,980*30/100=2,994 -> 2,990; 9,980+2,990=12,970 (tick 10, on);
    #       9,980-2,990=6,990 (tick 10, on)
    (9_980, NEW, "KOSPI", 6_990, 12_970),
    # 2022 KOSPI: same width 2,990; 12,970 is in the 50-KRW band -> down to 12,950; 6,990 stays
    (9_980, OLD, "KOSPI", 6_990, 12_950),
    # 2024: tick(1,990)=1; width 597; 2,587 is in the 5-KRW band -> 2,585; 1,393 (tick 1)
    (1_990, NEW, "KOSDAQ", 1_393, 2_585),
    # 2014 (±15 %) KOSPI: 9,980*15/100=1,497 -> 1,490; 11,470 -> tick 50 -> 11,450; 8,490 (tick 10)
    (9_980, OLDEST, "KOSPI", 8_490, 11_450),
    # 2014 KOSDAQ: tick(150,000)=100; 22,500; 172,500 / 127,500 (tick 100 above 50,000)
    (150_000, OLDEST, "KOSDAQ", 127_500, 172_500),
    # 2014 KOSPI: tick(150,000)=500; 22,500; 172,500 / 127,500 (both multiples of 500)
    (150_000, OLDEST, "KOSPI", 127_500, 172_500),
    # 2024: tick(50,000)=100; 15,000; 65,000 (tick 100) / 35,000 (tick 50)
    (50_000, NEW, "KOSPI", 35_000, 65_000),
    # 2020 KOSPI: tick(4,990)=5; 1,497 -> 1,495; 6,485 -> tick 10 -> 6,480; 3,495 (tick 5, on)
    (4_990, "2020-03-02", "KOSPI", 3_495, 6_480),
    # 2020 KOSDAQ: tick(1,005)=5; 301.5 -> 300; 1,305 (tick 5); 705 -> tick 1 -> 705
    (1_005, "2020-03-02", "KOSDAQ", 705, 1_305),
    # 2024: tick(19,990)=10; 5,997 -> 5,990; 25,980 -> tick 50 -> 25,950; 14,000
    (19_990, NEW, "KOSDAQ", 14_000, 25_950),
])
def test_price_limits_examples(base: float, date: str, market: str, lower: float, upper: float) -> None:
    assert price_limits(base, date, market) == (lower, upper)


def test_limit_regime_switch() -> None:
    # base 10,000 KOSPI (tick 50): 2015-06-12 ±15 % -> 1,500 -> 8,500 / 11,500;
    # 2015-06-15 ±30 % -> 3,000 -> 7,000 / 13,000
    assert limit_rate("2015-06-12") == 0.15
    assert limit_rate("2015-06-15") == 0.30
    assert price_limits(10_000, "2015-06-12", "KOSPI") == (8_500, 11_500)
    assert price_limits(10_000, "2015-06-15", "KOSPI") == (7_000, 13_000)


def test_price_limits_vectorised_matches_scalar() -> None:
    bases = np.array([9_980.0, 9_980.0, 1_990.0, 150_000.0, np.nan])
    dates = np.array([NEW, OLD, NEW, OLDEST, NEW], dtype="datetime64[D]")
    markets = np.array(["KOSPI", "KOSPI", "KOSDAQ", "KOSDAQ", "KOSPI"])
    lo, up = price_limits(bases, dates, markets)
    for k in range(4):
        assert (lo[k], up[k]) == price_limits(bases[k], dates[k], markets[k])
    assert np.isnan(lo[4]) and np.isnan(up[4])


# -- properties ---------------------------------------------------------------------------------------
dates_st = st.dates(min_value=dt.date(2010, 1, 4), max_value=dt.date(2026, 12, 30))
markets_st = st.sampled_from(["KOSPI", "KOSDAQ", "KONEX"])
kinds_st = st.sampled_from(["stock", "preferred", "etf", "etn"])


@settings(max_examples=400, deadline=None)
@given(raw=st.floats(min_value=100, max_value=3_000_000), date=dates_st, market=markets_st, kind=kinds_st)
def test_limits_properties(raw: float, date: dt.date, market: str, kind: str) -> None:
    base = round_to_tick(raw, date, market, "nearest", kind=kind)
    lower, upper = price_limits(base, date, market, kind=kind)
    rate = limit_rate(date)
    assert is_on_tick(lower, date, market, kind=kind) and is_on_tick(upper, date, market, kind=kind)
    assert lower < base < upper
    assert upper <= base * (1 + rate) + 1e-6
    assert lower >= base * (1 - rate) - 1e-6
    assert base * (1 + rate) - upper < 2 * tick_size(base * (1 + rate), date, market, kind=kind) + \
        tick_size(base, date, market, kind=kind)


@settings(max_examples=400, deadline=None)
@given(p=st.floats(min_value=1, max_value=3_000_000), date=dates_st, market=markets_st, kind=kinds_st)
def test_rounding_properties(p: float, date: dt.date, market: str, kind: str) -> None:
    tick = tick_size(p, date, market, kind=kind)
    down = round_to_tick(p, date, market, "down", kind=kind)
    up = round_to_tick(p, date, market, "up", kind=kind)
    near = round_to_tick(p, date, market, "nearest", kind=kind)
    for q in (down, up, near):
        assert is_on_tick(q, date, market, kind=kind)
    assert down <= p + 1e-9 and up >= p - 1e-9
    assert up - down <= tick + 1e-9
    assert abs(near - p) <= tick / 2 + 1e-9


@settings(max_examples=200, deadline=None)
@given(a=st.floats(min_value=1, max_value=3_000_000), b=st.floats(min_value=1, max_value=3_000_000),
       date=dates_st, market=markets_st)
def test_tick_monotone_in_price(a: float, b: float, date: dt.date, market: str) -> None:
    lo, hi = min(a, b), max(a, b)
    assert tick_size(lo, date, market) <= tick_size(hi, date, market)
