"""The Kiwoom REST adapter end to end against the fake server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from lasps.broker.base import BrokerError, BrokerUncertain, OrderNotFound, OrderRejected, OrderState, Side
from lasps.broker.guard import Guard
from lasps.broker.journal import Journal
from lasps.broker.kiwoom_rest import KiwoomRestBroker
from lasps.broker.manager import OrderManager
from lasps.errors import ConfigError
from lasps.krx.calendar import KST

from .clocks import ManualClock
from .fake_kiwoom import ACCOUNT, APPKEY, SECRETKEY, FakeKiwoom
from .helpers import TODAY, kst, memory_prices


def rest(fake: FakeKiwoom, slept: list[float] | None = None, **kw: object) -> KiwoomRestBroker:
    sink = slept if slept is not None else []
    return KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, fake.url, timeout=0.4, rps=1000, sleep=sink.append,
                            **kw)  # type: ignore[arg-type]


def desk(tmp_path: Path, clock: ManualClock, broker: KiwoomRestBroker, grace: float = 30.0) -> OrderManager:
    return OrderManager(broker, Journal(tmp_path / "journal.sqlite"), Guard(clock, memory_prices(), 1e8),
                        clock=clock, grace_s=grace)


def test_orders_headers_bodies_and_token_cache(fake: FakeKiwoom) -> None:
    b = rest(fake)
    o = b.buy("005380", 10, 250_000.0, client_order_id="c1")
    assert o.state is OrderState.ACKNOWLEDGED and o.broker_order_id == "0000002"
    m = b.sell("005930", 3)
    [tok] = fake.calls("au10001")
    assert tok.body == {"grant_type": "client_credentials", "appkey": APPKEY, "secretkey": SECRETKEY}
    buy, sell = fake.order_calls()
    assert buy.path == "/api/dostk/ordr" and buy.headers["api-id"] == "kt10000"
    assert buy.headers["authorization"].startswith("Bearer TOKEN-")
    assert buy.headers["content-type"].startswith("application/json")
    assert buy.body == {"dmst_stex_tp": "KRX", "stk_cd": "005380", "ord_qty": "10", "ord_uv": "250000",
                        "trde_tp": "0", "cond_uv": ""}
    assert sell.headers["api-id"] == "kt10001" and sell.body["trde_tp"] == "3" and sell.body["ord_uv"] == ""
    assert m.side is Side.SELL and m.price is None
    assert len(fake.calls("au10001")) == 1  # cached
    assert fake.errors == []


def test_token_refresh_on_rejection_and_on_expiry(fake: FakeKiwoom) -> None:
    now = [dt.datetime.now(KST)]
    b = rest(fake, now=lambda: now[0])
    b.cash()
    fake.expire_tokens()  # the server forgets the token: 401 → refresh once → retry
    assert b.cash() == 50_000_000
    assert len(fake.calls("au10001")) == 2
    now[0] = now[0] + dt.timedelta(hours=25)  # our clock passes expires_dt: refreshed before the call
    b.positions()
    assert len(fake.calls("au10001")) == 3
    assert fake.errors == []


def test_open_orders_follow_paging_headers(fake: FakeKiwoom) -> None:
    b = rest(fake)
    for i in range(5):
        b.buy("005930", i + 1, 55_000.0)
    fake.fill("0000002", 1, 55_000)  # first order fully filled: not open any more
    fake.fill("0000003", 1, 54_900)
    opens = b.open_orders()
    assert [o.qty for o in opens] == [2, 3, 4, 5]
    assert opens[0].state is OrderState.PARTIALLY_FILLED and opens[0].filled_qty == 1
    assert opens[0].created_at == kst(dt.datetime.now(KST).date(), 10)  # HHMMSS dated by the (wall) clock
    pages = fake.calls("ka10075")
    assert len(pages) == 2
    assert (pages[0].headers["cont-yn"], pages[0].headers["next-key"]) == ("N", "")
    assert (pages[1].headers["cont-yn"], pages[1].headers["next-key"]) == ("Y", "2")
    recent = {o.broker_order_id: o for o in b.recent_orders()}
    assert recent["0000002"].state is OrderState.FILLED and recent["0000002"].avg_fill_price == 55_000.0
    fake.page_size = 1
    with pytest.raises(BrokerError, match="more than 3 pages"):
        rest(fake, max_pages=3).open_orders()  # paging is bounded
    assert fake.errors == []


def test_cancel_modify_positions_cash(fake: FakeKiwoom) -> None:
    b = rest(fake)
    o = b.buy("005380", 10, 250_000.0)
    n = b.modify(o.broker_order_id or "", 10, 249_500.0)
    assert n.broker_order_id != o.broker_order_id and n.price == 249_500.0
    assert fake.calls("kt10002")[0].body == {"dmst_stex_tp": "KRX", "orig_ord_no": o.broker_order_id,
                                             "stk_cd": "005380", "mdfy_qty": "10", "mdfy_uv": "249500",
                                             "mdfy_cond_uv": ""}
    c = b.cancel(n.broker_order_id or "")
    assert c.state is OrderState.CANCELLED
    assert fake.calls("kt10003")[0].body["cncl_qty"] == "0"
    with pytest.raises(OrderNotFound):
        b.cancel("9999999")
    fake.holdings = {"005380": (10, 250_000), "005930": (5, 55_000), "091990": (7, 10_000)}
    pos = b.positions()
    assert [(p.code, p.qty, p.avg_price) for p in pos] == [("005380", 10, 250_000.0), ("005930", 5, 55_000.0),
                                                          ("091990", 7, 10_000.0)]
    assert len(fake.calls("kt00018")) == 2  # paged
    assert b.cash() == 50_000_000.0
    assert fake.errors == []


@pytest.mark.parametrize(("mode", "sign"), [("http", "429"), ("live", r"\[1700:")])
def test_http_429_waits_retry_after_and_is_bounded(fake: FakeKiwoom, mode: str, sign: str) -> None:
    fake.mode = mode  # HTTP 429, or the live host's HTTP 200 + return_code 5 "[1700:…]"
    slept: list[float] = []
    b = rest(fake, slept, max_retries=2)
    fake.inject("kt10000", "429", retry_after="0.25")
    assert b.buy("005380", 1, 250_000.0).state is OrderState.ACKNOWLEDGED
    assert 0.25 in slept and len(fake.calls("kt10000")) == 2
    fake.inject("kt10000", "429", times=3, retry_after="999")
    with pytest.raises(OrderRejected, match=sign):
        b.buy("005380", 1, 250_000.0)
    assert 30.0 in slept  # Retry-After is capped
    assert len(fake.order_calls()) == 5 and len(fake.orders) == 1
    fake.inject("ka10075", "429", times=3)
    with pytest.raises(BrokerError, match=sign):
        b.open_orders()


def test_errors_and_timeouts(fake: FakeKiwoom) -> None:
    b = rest(fake)
    fake.inject("kt10000", "error", return_code=20, msg="주문가능금액 부족")
    with pytest.raises(OrderRejected, match="주문가능금액 부족"):
        b.buy("005380", 1, 250_000.0)
    fake.inject("kt10000", "500")
    with pytest.raises(BrokerUncertain):
        b.buy("005380", 1, 250_000.0)
    fake.inject("kt10000", "timeout", delay=1.0)
    with pytest.raises(BrokerUncertain, match="may or may not"):
        b.buy("005380", 1, 250_000.0)
    fake.inject("ka10075", "500")
    assert b.open_orders() == []  # queries are retried
    dead = KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, "http://127.0.0.1:9", timeout=0.4, sleep=lambda s: None)
    with pytest.raises(BrokerError, match="token request failed"):
        dead.cash()


def test_manager_timeout_unknown_then_reconciled(tmp_path: Path, fake: FakeKiwoom) -> None:
    clock = ManualClock(kst(TODAY, 10))
    fake.order_time = "100000"
    d = desk(tmp_path, clock, rest(fake, clock=clock))
    fake.inject("kt10000", "timeout", delay=1.0, process=True)  # placed, but the answer never comes
    o = d.buy("005380", 3, 250_000.0, client_order_id="slow")
    assert o.state is OrderState.ACKNOWLEDGED and o.broker_order_id == "0000002"  # found by attributes
    assert [e["event"] for e in d.journal.audit_log("slow")][:4] == ["journaled", "sending", "outcome unknown",
                                                                     "reconciled"]
    fake.inject("kt10000", "timeout", delay=1.0)  # never placed
    lost = d.buy("005930", 1, 55_000.0, client_order_id="lost")
    assert lost.state is OrderState.UNKNOWN
    again = d.buy("005930", 1, 55_000.0, client_order_id="lost")  # the retry is not re-sent
    assert again.state is OrderState.UNKNOWN and len(fake.order_calls()) == 2
    clock.advance(120)
    d.reconcile()
    assert d.journal.get("lost").state is OrderState.CANCELLED  # type: ignore[union-attr]
    fake.fill("0000002", 3, 249_500)
    d.reconcile()
    slow = d.journal.get("slow")
    assert slow is not None and slow.state is OrderState.FILLED and slow.avg_fill_price == 249_500.0
    assert fake.errors == []


@pytest.mark.parametrize(("code", "qty", "price", "when"), [
    ("12345", 1, 250_000.0, 10),          # invalid code
    ("005380", 0, 250_000.0, 10),         # quantity <= 0
    ("005380", 2.5, 250_000.0, 10),       # fractional
    ("005380", 1, 250_250.0, 10),         # off tick
    ("005380", 1, 400_000.0, 10),         # outside the band
    ("005380", 401, 250_000.0, 10),       # over the maximum value
    ("005380", 1, 250_000.0, 16),         # market closed
])
def test_bad_orders_are_rejected_journaled_and_never_sent(tmp_path: Path, fake: FakeKiwoom, code: str, qty: object,
                                                         price: float, when: int) -> None:
    clock = ManualClock(kst(TODAY, when))
    d = desk(tmp_path, clock, rest(fake))
    with pytest.raises(OrderRejected) as exc:
        d.buy(code, qty, price, client_order_id="bad")  # type: ignore[arg-type]
    j = d.journal.get("bad")
    assert j is not None and j.state is OrderState.REJECTED and j.reason == exc.value.reason
    assert fake.order_calls() == []


def test_secrets_never_reach_logs_errors_or_the_journal(tmp_path: Path, fake: FakeKiwoom,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock(kst(TODAY, 10))
    b = rest(fake)
    d = desk(tmp_path, clock, b)
    d.buy("005380", 1, 250_000.0)
    fake.inject("kt10000", "error", msg=f"echo {APPKEY} {SECRETKEY} {ACCOUNT}")  # even if a broker echoes them
    with pytest.raises(OrderRejected) as exc:
        d.buy("005380", 1, 250_000.0, client_order_id="echo")
    fake.inject("kt10000", "timeout", delay=1.0)
    d.buy("005930", 1, 55_000.0)
    d.positions()
    d.cancel_all()
    bad = KiwoomRestBroker("WRONG-KEY-123456", SECRETKEY, ACCOUNT, fake.url, timeout=0.4)
    with pytest.raises(BrokerError) as exc2:
        bad.cash()
    tokens = list(fake.tokens)
    texts = [caplog.text, str(exc.value), str(exc2.value), repr(b), str(d.journal.audit_log())]
    d.journal.close()
    for f in tmp_path.glob("journal.sqlite*"):
        texts.append(f.read_bytes().decode("utf-8", "replace"))
    for text in texts:
        for secret in (APPKEY, SECRETKEY, ACCOUNT, "WRONG-KEY-123456", *tokens):
            assert secret not in text
    assert "***" in str(exc.value)


def test_host_rules(fake: FakeKiwoom) -> None:
    with pytest.raises(ConfigError, match="plain http"):
        KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, "http://mockapi.kiwoom.com")
    with pytest.raises(ConfigError, match="not an http"):
        KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, "ftp://127.0.0.1")
    assert KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, "https://api.kiwoom.com").live is True
    assert KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, "https://mockapi.kiwoom.com").live is False
    assert rest(fake).live is False
