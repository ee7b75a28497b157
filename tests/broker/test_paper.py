"""The paper broker: fills against stored bars under KRX rules, costs, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from lasps.broker.base import BrokerError, OrderNotFound, OrderRejected, OrderState, Side
from lasps.broker.paper import PaperBroker
from lasps.broker.prices import Bar
from lasps.krx.costs import CostModel

from .clocks import ManualClock
from .helpers import TODAY, kst, memory_prices


def paper(tmp_path: Path, clock: ManualClock, bars: dict[str, Bar] | None = None, cash: float = 100_000_000,
          ) -> PaperBroker:
    return PaperBroker(tmp_path / "paper.sqlite", memory_prices(bars), clock, initial_cash=cash)


def bar(o: float, h: float, low: float, c: float, v: float = 1_000_000) -> Bar:
    return Bar(TODAY, o, h, low, c, v)


def test_limit_buy_fills_when_the_range_reaches_the_price(tmp_path: Path, clock: ManualClock) -> None:
    b = paper(tmp_path, clock, {"005380": bar(252_000, 255_000, 248_000, 250_000)})
    o = b.buy("005380", 10, 249_000.0, client_order_id="c1")
    assert o.state is OrderState.FILLED and o.filled_qty == 10 and o.avg_fill_price == 249_000.0
    fee = CostModel().fee(2_490_000)
    assert b.cash() == pytest.approx(100_000_000 - 2_490_000 - fee)
    [p] = b.positions()
    assert (p.code, p.qty, p.avg_price) == ("005380", 10, 249_000.0)
    assert b.fills("c1")[0].fee == fee


def test_limit_buy_below_the_low_expires(tmp_path: Path, clock: ManualClock) -> None:
    b = paper(tmp_path, clock, {"005380": bar(252_000, 255_000, 248_000, 250_000)})
    o = b.buy("005380", 10, 247_500.0)
    assert o.state is OrderState.CANCELLED and o.filled_qty == 0 and "stayed above" in (o.reason or "")
    assert b.cash() == 100_000_000 and b.positions() == []


def test_pre_open_orders_get_the_open_and_limit_above_range_gets_the_high(tmp_path: Path) -> None:
    bars = {"005380": bar(248_000, 255_000, 247_000, 250_000)}
    pre = paper(tmp_path / "a", ManualClock(kst(TODAY, 8, 45)), bars)
    assert pre.buy("005380", 1, 250_000.0).avg_fill_price == 248_000.0  # placed before the open
    mid = paper(tmp_path / "b", ManualClock(kst(TODAY, 11)), bars)
    assert mid.buy("005380", 1, 250_000.0).avg_fill_price == 250_000.0
    assert mid.buy("005380", 1, 300_000.0).avg_fill_price == 255_000.0  # at most the day's high


def test_market_orders_fill_at_the_open_and_sell_pays_tax(tmp_path: Path, clock: ManualClock) -> None:
    b = paper(tmp_path, clock, {"005380": bar(251_000, 255_000, 248_000, 250_000)})
    assert b.buy("005380", 10).avg_fill_price == 251_000.0
    s = b.sell("005380", 4)
    assert s.state is OrderState.FILLED and s.avg_fill_price == 251_000.0
    costs = CostModel()
    value = 4 * 251_000
    tax = costs.tax(value, TODAY)
    assert tax == pytest.approx(value * 0.002, abs=1)  # 2026 rate (settles 2026-02-27)
    expected = 100_000_000 - 2_510_000 - costs.fee(2_510_000) + value - costs.fee(value) - tax
    assert b.cash() == pytest.approx(expected)
    assert b.positions()[0].qty == 6


def test_locked_limits(tmp_path: Path, clock: ManualClock) -> None:
    up = bar(325_000, 325_000, 325_000, 325_000)  # locked at the upper limit all day
    b = paper(tmp_path / "u", clock, {"005380": up})
    assert b.buy("005380", 1).state is OrderState.CANCELLED
    assert b.buy("005380", 1, 325_000.0).state is OrderState.CANCELLED
    opened_locked = bar(325_000, 325_000, 320_000, 322_000)  # opened locked, the lock broke later
    b2 = paper(tmp_path / "u2", clock, {"005380": opened_locked})
    assert b2.buy("005380", 1).state is OrderState.CANCELLED  # market buy at a locked open: no fill
    assert b2.buy("005380", 1, 321_000.0).state is OrderState.FILLED
    down = bar(175_000, 175_000, 175_000, 175_000)
    b3 = paper(tmp_path / "d", ManualClock(kst(TODAY, 9, 30)), {"005380": down})
    b3.con.execute("INSERT INTO positions VALUES ('005380', 10, 250000)")
    assert b3.sell("005380", 5).state is OrderState.CANCELLED
    assert "lower limit" in (b3.sell("005380", 5, 175_000.0).reason or "")


def test_halted_and_partial_fills(tmp_path: Path, clock: ManualClock) -> None:
    bars = {"005380": bar(250_000, 251_000, 249_000, 250_000, v=0), "005930": bar(55_000, 55_500, 54_500, 55_000, v=7)}
    b = paper(tmp_path, clock, bars)
    h = b.buy("005380", 1, 250_000.0)
    assert h.state is OrderState.CANCELLED and "halted" in (h.reason or "")
    p = b.buy("005930", 10, 55_000.0)
    assert p.state is OrderState.CANCELLED and p.filled_qty == 7 and "partial" in (p.reason or "")


def test_live_orders_wait_for_the_bar_and_cancel_rules(tmp_path: Path, clock: ManualClock) -> None:
    prices = memory_prices()
    b = PaperBroker(tmp_path / "paper.sqlite", prices, clock)
    o1 = b.buy("005380", 10, 250_000.0, client_order_id="keep")
    o2 = b.buy("005380", 5, 240_000.0, client_order_id="drop")
    assert o1.state is OrderState.ACKNOWLEDGED and [o.client_order_id for o in b.open_orders()] == ["keep", "drop"]
    c = b.cancel(o2.broker_order_id or "")
    assert c.state is OrderState.CANCELLED
    with pytest.raises(BrokerError, match="nothing to cancel"):
        b.cancel("drop")
    with pytest.raises(OrderNotFound):
        b.cancel("P9999999")
    clock.at = kst(TODAY, 15, 20)
    k = b.cancel("keep")  # the close-of-day cancel: settled against the bar when it arrives
    assert k.state is OrderState.ACKNOWLEDGED and "cancel at close" in (k.reason or "")
    prices.add("005380", bar(252_000, 253_000, 249_500, 251_000))
    got = {o.client_order_id: o for o in b.recent_orders()}
    assert got["keep"].state is OrderState.FILLED and got["keep"].avg_fill_price == 250_000.0
    assert got["drop"].state is OrderState.CANCELLED


def test_acceptance_rules_and_idempotency(tmp_path: Path, clock: ManualClock) -> None:
    b = paper(tmp_path, clock, cash=1_000_000)
    with pytest.raises(OrderRejected, match="insufficient cash"):
        b.buy("005380", 10, 250_000.0)
    b.buy("005380", 3, 250_000.0, client_order_id="x")
    with pytest.raises(OrderRejected, match="insufficient cash"):  # the open buy reserves its cash
        b.buy("005380", 1, 250_000.0)
    with pytest.raises(OrderRejected, match="insufficient holdings"):
        b.sell("005380", 1, 250_000.0)
    with pytest.raises(OrderRejected, match="off the tick"):
        b.buy("005930", 1, 55_050.0)
    with pytest.raises(OrderRejected, match="unknown code"):
        b.buy("123450", 1, 1_000.0)
    again = b.buy("005380", 3, 250_000.0, client_order_id="x")
    assert again.broker_order_id == b.open_orders()[0].broker_order_id and len(b.open_orders()) == 1
    clock.at = kst(TODAY, 16)
    with pytest.raises(OrderRejected, match="market closed"):
        b.buy("005380", 1, 250_000.0)


def test_state_persists_across_instances(tmp_path: Path, clock: ManualClock) -> None:
    bars = {"005380": bar(250_000, 251_000, 249_000, 250_000)}
    b = paper(tmp_path, clock, bars)
    b.buy("005380", 2, 250_000.0)
    b.close()
    again = paper(tmp_path, clock, bars, cash=5)  # initial cash is ignored for an existing account
    assert again.positions()[0].qty == 2 and again.cash() < 100_000_000 - 500_000
    assert again.recent_orders()[0].side is Side.BUY
