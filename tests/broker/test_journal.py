"""The journal (WAL, append-only audit) and the manager: write-before-send, idempotency, reconciliation."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from lasps.broker.base import (
    BrokerError,
    BrokerUncertain,
    Order,
    OrderRejected,
    OrderRequest,
    OrderState,
    Position,
    Side,
)
from lasps.broker.guard import Guard
from lasps.broker.journal import DuplicateClientOrderId, Journal
from lasps.broker.manager import OrderManager
from lasps.broker.paper import PaperBroker

from .clocks import ManualClock
from .helpers import TODAY, kst, memory_prices


class StubBroker:
    """A broker without client ids (like Kiwoom) whose send can be scripted."""

    name = "stub"
    live = False

    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal
        self.sent: list[tuple[str, int, float | None]] = []
        self.book: dict[str, Order] = {}
        self.fail: Exception | None = None
        self.place_anyway = False  # with ``fail``: the order reached the broker before the error
        self.seen_states: list[OrderState] = []
        self.now = kst(TODAY, 10)

    def _send(self, side: Side, code: str, qty: int, price: float | None, cid: str | None) -> Order:
        if self.journal is not None and cid:
            got = self.journal.get(cid)
            self.seen_states.append(got.state if got else OrderState.REJECTED)
        self.sent.append((code, qty, price))
        o = Order(code=code, side=side, qty=qty, price=price, state=OrderState.ACKNOWLEDGED, broker=self.name,
                  broker_order_id=f"B{len(self.sent):04d}", created_at=self.now, updated_at=self.now)
        if self.fail is not None:
            if self.place_anyway:
                self.book[o.broker_order_id or ""] = o
            raise self.fail
        self.book[o.broker_order_id or ""] = o
        return o

    def buy(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None) -> Order:
        return self._send(Side.BUY, code, qty, price, client_order_id)

    def sell(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None) -> Order:
        return self._send(Side.SELL, code, qty, price, client_order_id)

    def cancel(self, order_id: str, *, known: Order | None = None) -> Order:
        o = self.book[order_id].with_(state=OrderState.CANCELLED)
        self.book[order_id] = o
        return o

    def open_orders(self) -> list[Order]:
        return [o for o in self.book.values() if o.state.open]

    def recent_orders(self) -> list[Order]:
        return list(self.book.values())

    def positions(self) -> list[Position]:
        return [Position("005380", 3, 250_000.0)]

    def cash(self) -> float:
        return 1.0


def desk(tmp_path: Path, clock: ManualClock, broker: object | None = None, grace: float = 30.0) -> OrderManager:
    journal = Journal(tmp_path / "journal.sqlite")
    b = broker if broker is not None else StubBroker(journal)
    if isinstance(b, StubBroker):
        b.journal = journal
    return OrderManager(b, journal, Guard(clock, memory_prices(), 1e8), clock=clock, grace_s=grace)  # type: ignore[arg-type]


def test_wal_mode_and_append_only_audit(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    d.buy("005380", 1, 250_000.0)
    con = sqlite3.connect(tmp_path / "journal.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE audit SET event = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM audit")
    events = [e["event"] for e in d.journal.audit_log()]
    assert events[:3] == ["journaled", "sending", "acknowledged"]


def test_order_is_journaled_pending_before_it_is_sent(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    o = d.buy("005380", 2, 250_000.0, client_order_id="cid-1")
    stub = d.broker
    assert isinstance(stub, StubBroker)
    assert stub.seen_states == [OrderState.SENT]  # journaled (PENDING → SENT) before the broker saw it
    assert o.state is OrderState.ACKNOWLEDGED and o.broker_order_id == "B0001"
    assert d.journal.audit_log("cid-1")[0]["state"] == "PENDING"


def test_a_retried_send_never_creates_a_second_order(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    first = d.buy("005380", 2, 250_000.0, client_order_id="same")
    again = d.buy("005380", 2, 250_000.0, client_order_id="same")
    assert again.broker_order_id == first.broker_order_id
    assert len(d.broker.sent) == 1  # type: ignore[attr-defined]
    with pytest.raises(DuplicateClientOrderId):
        d.buy("005380", 3, 250_000.0, client_order_id="same")


def test_guard_rejection_is_journaled_and_nothing_sent(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    with pytest.raises(OrderRejected) as exc:
        d.buy("005380", 10.5, 250_000.0, client_order_id="bad")  # type: ignore[arg-type]
    assert exc.value.order is not None and exc.value.order.state is OrderState.REJECTED
    assert d.journal.get("bad").state is OrderState.REJECTED  # type: ignore[union-attr]
    assert "whole number" in (d.journal.get("bad").reason or "")  # type: ignore[union-attr]
    assert d.broker.sent == []  # type: ignore[attr-defined]


def test_declined_confirmation_sends_nothing(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    with pytest.raises(OrderRejected, match="aborted"):
        d.buy("005380", 1, 250_000.0, client_order_id="no", confirm=lambda report: False)
    assert d.journal.get("no").state is OrderState.CANCELLED  # type: ignore[union-attr]
    assert d.broker.sent == []  # type: ignore[attr-defined]


def test_broker_rejection_and_unreachable_broker(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    stub = d.broker
    assert isinstance(stub, StubBroker)
    stub.fail = OrderRejected("증거금 부족")
    with pytest.raises(OrderRejected):
        d.buy("005380", 1, 250_000.0, client_order_id="r1")
    assert d.journal.get("r1").state is OrderState.REJECTED  # type: ignore[union-attr]
    stub.fail = BrokerError("connection refused")
    with pytest.raises(OrderRejected, match="not placed"):
        d.buy("005380", 1, 250_000.0, client_order_id="r2")
    assert d.journal.get("r2").state is OrderState.REJECTED  # type: ignore[union-attr]


def test_timeout_gives_unknown_then_reconciles_by_attributes(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    stub = d.broker
    assert isinstance(stub, StubBroker)
    stub.fail, stub.place_anyway = BrokerUncertain("read timeout"), True
    o = d.buy("005380", 4, 250_000.0, client_order_id="t1")
    # found right away by code/side/qty/price/time: the broker has it
    assert o.state is OrderState.ACKNOWLEDGED and o.broker_order_id == "B0001"
    stub.place_anyway = True
    stub.fail = BrokerUncertain("read timeout")
    stub.book.clear()
    stub.place_anyway = False
    o2 = d.buy("005930", 1, 55_000.0, client_order_id="t2")
    assert o2.state is OrderState.UNKNOWN  # not reported yet: stays UNKNOWN, never re-sent
    clock.advance(60)
    d.reconcile()
    assert d.journal.get("t2").state is OrderState.CANCELLED  # type: ignore[union-attr]
    assert "not placed" in (d.journal.get("t2").reason or "")  # type: ignore[union-attr]
    assert len(stub.sent) == 2


def test_reconcile_does_not_claim_an_order_twice(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    stub = d.broker
    assert isinstance(stub, StubBroker)
    stub.fail, stub.place_anyway = BrokerUncertain("timeout"), True
    d.buy("005380", 1, 250_000.0, client_order_id="a")
    d.buy("005380", 1, 250_000.0, client_order_id="b")
    a, b = d.journal.get("a"), d.journal.get("b")
    assert a is not None and b is not None
    assert {a.broker_order_id, b.broker_order_id} == {"B0001", "B0002"}


def test_fills_cancel_and_foreign_orders(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    stub = d.broker
    assert isinstance(stub, StubBroker)
    d.buy("005380", 4, 250_000.0, client_order_id="f")
    stub.book["B0001"] = stub.book["B0001"].with_(state=OrderState.PARTIALLY_FILLED, filled_qty=3,
                                                  avg_fill_price=249_500.0)
    stub.book["X9"] = Order(code="005930", side=Side.SELL, qty=1, price=56_000.0, state=OrderState.ACKNOWLEDGED,
                            broker="stub", broker_order_id="X9")
    rep = d.reconcile()
    assert [o.broker_order_id for o in rep.foreign] == ["X9"]
    assert d.journal.get("f").filled_qty == 3  # type: ignore[union-attr]
    assert d.journal.fills("f")[0]["qty"] == 3 and d.journal.fills("f")[0]["price"] == 249_500.0
    done, errors = d.cancel_all()
    assert errors == [] and {o.broker_order_id for o in done} == {"B0001", "X9"}
    assert d.journal.get("f").state is OrderState.CANCELLED  # type: ignore[union-attr]
    with pytest.raises(BrokerError, match="already CANCELLED"):
        d.cancel("f")
    assert d.positions()[0].qty == 3 and d.journal.positions("stub")[0].qty == 3


def test_acknowledged_order_gone_from_broker(tmp_path: Path, clock: ManualClock) -> None:
    d = desk(tmp_path, clock)
    stub = d.broker
    assert isinstance(stub, StubBroker)
    d.buy("005380", 1, 250_000.0, client_order_id="gone")
    stub.book.clear()  # cancelled in the HTS, say
    d.reconcile()
    assert d.journal.get("gone").state is OrderState.CANCELLED  # type: ignore[union-attr]
    d.buy("005380", 1, 250_000.0, client_order_id="old")
    stub.book.clear()
    clock.at = clock.at + dt.timedelta(days=1)
    d.reconcile()
    assert d.journal.get("old").state is OrderState.UNKNOWN  # type: ignore[union-attr]


def test_pending_order_of_a_dead_process_is_settled_as_never_sent(tmp_path: Path, clock: ManualClock) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    journal.insert_pending(OrderRequest("005380", Side.BUY, 1, 250_000.0, "orphan"), "stub", clock.now(), TODAY)
    journal.con.execute("UPDATE orders SET writer_pid = 999999999 WHERE client_order_id = 'orphan'")
    journal.close()
    d = desk(tmp_path, clock)  # reconciles on start
    o = d.journal.get("orphan")
    assert o is not None and o.state is OrderState.CANCELLED and "never sent" in (o.reason or "")
    assert d.broker.sent == []  # type: ignore[attr-defined]


def test_with_the_paper_broker(tmp_path: Path, clock: ManualClock) -> None:
    prices = memory_prices()
    journal = Journal(tmp_path / "journal.sqlite")
    pb = PaperBroker(tmp_path / "paper.sqlite", prices, clock)
    d = OrderManager(pb, journal, Guard(clock, prices, 1e8), clock=clock)
    o = d.buy("005930", 10, 55_000.0, client_order_id="p1")
    assert o.state is OrderState.ACKNOWLEDGED and o.broker_order_id == "P0000001"
    from .test_paper import bar

    prices.add("005930", bar(55_000, 55_500, 54_000, 55_000))
    d.reconcile()
    j = d.journal.get("p1")
    assert j is not None and j.state is OrderState.FILLED and j.avg_fill_price == 55_000.0
    [f] = d.journal.fills("p1")
    assert f["fee"] == pytest.approx(82.0) and f["qty"] == 10
