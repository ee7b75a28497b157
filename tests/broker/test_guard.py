"""The guard: codes, quantities, hours, ticks, bands, value, stale prices; clocks; the countdown."""

from __future__ import annotations

import datetime as dt

import pytest

from lasps.broker.base import OrderRejected, OrderRequest, Side
from lasps.broker.clock import FixedClock, SystemClock, clock_from_env, parse_clock
from lasps.broker.guard import Guard, countdown
from lasps.errors import ConfigError

from .clocks import ManualClock
from .helpers import PREV, TODAY, kst, memory_prices


def guard_at(t: dt.datetime, max_value: float = 100_000_000) -> Guard:
    return Guard(ManualClock(t), memory_prices(), max_value)


def req(code: str = "005380", qty: object = 10, price: float | None = 250_000.0, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(code, side, qty, price)  # type: ignore[arg-type]


def test_accepts_a_valid_limit_order_and_reports_the_band() -> None:
    rep = guard_at(kst(TODAY, 10)).check(req())
    assert (rep.base_date, rep.base_price) == (PREV, 250_000.0)
    assert (rep.lower, rep.upper) == (175_000.0, 325_000.0)
    assert rep.value == 2_500_000.0
    assert "BUY 005380" in rep.describe()


@pytest.mark.parametrize(("request_", "fragment"), [
    (req(code="5380"), "invalid stock code"),
    (req(code="00538O"), "unknown stock code"),
    (req(code="999990"), "unknown stock code"),
    (req(qty=0), "must be > 0"),
    (req(qty=-5), "must be > 0"),
    (req(qty=10.5), "not a whole number"),
    (req(qty="ten"), "not a number"),
    (req(qty=True), "not a number"),
    (req(price=250_100.0), "not on the tick"),
    (req(price=-1.0), "positive number"),
    (req(price=float("nan")), "positive number"),
    (req(price=325_500.0), "outside today's limits"),
    (req(price=174_500.0), "outside today's limits"),
    (req(qty=500), "exceeds the maximum"),
    (req(qty=310, price=None), "valued at today's upper limit"),
])
def test_rejects_bad_input_with_the_reason(request_: OrderRequest, fragment: str) -> None:
    with pytest.raises(OrderRejected) as exc:
        guard_at(kst(TODAY, 10)).check(request_)
    assert fragment in exc.value.reason


def test_ticks_follow_market_and_kind() -> None:
    g = guard_at(kst(TODAY, 10))
    g.check(req(code="069500", price=30_005.0))  # ETF: 5 KRW tick
    with pytest.raises(OrderRejected, match="not on the tick"):
        g.check(req(code="005930", price=55_050.0))  # stock 50k–200k: 100 KRW tick
    g.check(req(code="091990", price=10_010.0))
    assert g.check(req(code="005930", qty=1, price=71_500.0)).upper == 71_500.0  # the upper limit itself is fine


@pytest.mark.parametrize(("t", "fragment"), [
    (kst(TODAY, 8, 29, 59), "not open yet"),
    (kst(TODAY, 15, 20), "closed for new orders"),
    (kst(TODAY, 18, 0), "closed for new orders"),
    (kst(dt.date(2026, 2, 28), 10), "not a KRX trading day"),  # Saturday
    (kst(dt.date(2026, 3, 2), 10), "not a KRX trading day"),  # 삼일절 substitute holiday
])
def test_market_hours(t: dt.datetime, fragment: str) -> None:
    with pytest.raises(OrderRejected) as exc:
        guard_at(t).check(req())
    assert fragment in exc.value.reason


def test_order_hours_edges_and_late_open() -> None:
    guard_at(kst(TODAY, 8, 30)).check(req())
    guard_at(kst(TODAY, 15, 19, 59)).check(req())
    first = dt.date(2026, 1, 2)  # first session of the year opens at 10:00 → orders from 09:30
    g = Guard(ManualClock(kst(first, 9, 0)), memory_prices(), 1e8)
    with pytest.raises(OrderRejected, match="not open yet"):
        g.check(req())


def test_stale_store_is_refused() -> None:
    g = Guard(ManualClock(kst(dt.date(2026, 3, 4), 10)), memory_prices(), 1e8)  # store ends 02-24
    with pytest.raises(OrderRejected, match="stale"):
        g.check(req())


def test_clock_from_env() -> None:
    assert isinstance(clock_from_env(live=True, env={}), SystemClock)
    c = clock_from_env(live=False, env={"LASPS_CLOCK": "2026-02-25T01:00:00Z"})
    assert isinstance(c, FixedClock) and c.now() == kst(TODAY, 10) and c.fixed
    with pytest.raises(ConfigError, match="real market"):
        clock_from_env(live=True, broker="kiwoom-ocx", env={"LASPS_CLOCK": "2026-02-25T10:00:00+09:00"})
    with pytest.raises(ConfigError, match="no UTC offset"):
        parse_clock("2026-02-25T10:00:00")
    with pytest.raises(ConfigError, match="cannot parse"):
        parse_clock("yesterday")


def test_countdown_counts_sends_and_aborts() -> None:
    rep = guard_at(kst(TODAY, 10)).check(req())
    lines: list[str] = []
    slept: list[float] = []
    assert countdown(rep, 3, echo=lines.append, sleep=slept.append) is True
    assert slept == [1.0, 1.0, 1.0]
    assert any("sending in 3 s" in s for s in lines) and any("sending in 1 s" in s for s in lines)

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    lines.clear()
    assert countdown(rep, 3, echo=lines.append, sleep=interrupt) is False
    assert "aborted" in lines[-1]
    assert countdown(rep, 0, echo=lines.append, sleep=interrupt) is True  # --yes
