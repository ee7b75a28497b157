"""The OpenAPI+ adapter's logic against a fake control (no Windows needed)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from lasps.broker.base import BrokerError, BrokerUncertain, OrderRejected, OrderState, Side
from lasps.broker.kiwoom_ocx import FID, KiwoomOcxBroker, load_control, parse_chejan
from lasps.broker.ratelimit import RateLimiter
from lasps.errors import ConfigError

ACCOUNT = "8012345611"


class Sig:
    def __init__(self) -> None:
        self.slots: list[Callable[..., Any]] = []

    def connect(self, slot: Callable[..., Any]) -> None:
        self.slots.append(slot)

    def emit(self, *args: Any) -> None:
        for s in self.slots:
            s(*args)


class FakeControl:
    """Answers dynamicCall like KHOpenAPI, firing the events synchronously."""

    def __init__(self) -> None:
        self.OnEventConnect, self.OnReceiveTrData = Sig(), Sig()
        self.OnReceiveChejanData, self.OnReceiveMsg = Sig(), Sig()
        self.calls: list[tuple[str, list[Any]]] = []
        self.inputs: dict[str, str] = {}
        self.tr_rows: dict[str, list[dict[str, str]]] = {}
        self.chejan: dict[int, str] = {}
        self.next_no = 100
        self.send_ret = 0
        self.silent = False
        self.login_err = 0
        self.page_size = 2
        self._pages: dict[str, list[dict[str, str]]] = {}
        self._orders: dict[str, str] = {}

    def dynamicCall(self, sig: str, args: list[Any] | None = None) -> Any:
        args = args or []
        self.calls.append((sig, args))
        name = sig.split("(")[0]
        if name == "CommConnect":
            self.OnEventConnect.emit(self.login_err)
            return 0
        if name == "SendOrder":
            rq, screen, acc, otype, _code, _qty, _price, hoga, _org = args
            assert acc == ACCOUNT and hoga in ("00", "03") and 1 <= otype <= 6
            if self.send_ret:
                return self.send_ret
            if not self.silent:
                self.next_no += 1
                self._orders[rq] = f"{self.next_no:07d}"
                self.OnReceiveTrData.emit(screen, rq, "KOA_NORMAL_ORDER", "", "0")
            return 0
        if name == "SetInputValue":
            self.inputs[args[0]] = args[1]
            return None
        if name == "CommRqData":
            rq, trcode, prev_next, screen = args
            if prev_next == 0:
                self._pages[trcode] = list(self.tr_rows.get(trcode, []))
            rows = self._pages[trcode]
            page, self._pages[trcode] = rows[:self.page_size], rows[self.page_size:]
            self._pages[rq] = page
            self.OnReceiveTrData.emit(screen, rq, trcode, "", "2" if self._pages[trcode] else "0")
            return 0
        if name == "GetRepeatCnt":
            return len(self._pages[args[1]])
        if name == "GetCommData":
            trcode, rq, i, field = args
            if field == "주문번호" and rq in self._orders:
                return self._orders[rq]
            rows = self._pages.get(rq, [])
            return rows[i].get(field, "") if i < len(rows) else ""
        if name == "GetChejanData":
            return self.chejan.get(args[0], "")
        raise AssertionError(sig)


def broker(ctl: FakeControl) -> KiwoomOcxBroker:
    b = KiwoomOcxBroker(ctl, ACCOUNT, wait=lambda pred, timeout: pred(), timeout=0.1,
                        limiter=RateLimiter(1000, 1.0))
    b.connect()
    return b


def test_login_and_orders() -> None:
    ctl = FakeControl()
    b = broker(ctl)
    o = b.buy("005380", 10, 250_000.0, client_order_id="c1")
    assert (o.state, o.broker_order_id, o.client_order_id) == (OrderState.ACKNOWLEDGED, "0000101", "c1")
    m = b.sell("005930", 3)
    sends = [a for s, a in ctl.calls if s.startswith("SendOrder")]
    assert sends[0][3:] == [1, "005380", 10, 250000, "00", ""]
    assert sends[1][3:] == [2, "005930", 3, 0, "03", ""]
    assert m.side is Side.SELL
    ctl.send_ret = -308
    with pytest.raises(OrderRejected, match="과부하"):
        b.buy("005380", 1, 250_000.0)
    ctl.send_ret, ctl.silent = 0, True
    with pytest.raises(BrokerUncertain):
        b.buy("005380", 1, 250_000.0)
    bad = FakeControl()
    bad.login_err = -100
    with pytest.raises(BrokerError, match="login failed"):
        broker(bad)


def test_chejan_parsing_and_updates() -> None:
    ctl = FakeControl()
    b = broker(ctl)
    o = b.buy("005380", 10, 250_000.0)
    ctl.chejan = {FID["order_no"]: o.broker_order_id or "", FID["code"]: "A005380", FID["status"]: "체결",
                  FID["order_qty"]: "10", FID["order_price"]: "250000", FID["unfilled_qty"]: "4",
                  FID["side"]: "2", FID["order_kind"]: "+매수", FID["filled_qty"]: "6", FID["fill_price"]: "249500",
                  FID["unit_fill_qty"]: "6", FID["unit_fill_price"]: "249500",
                  FID["time"]: "101500", FID["fill_no"]: "77"}
    ev = parse_chejan(lambda fid: ctl.chejan.get(fid, ""))
    assert (ev.code, ev.side, ev.fill_qty, ev.fill_price, ev.unfilled_qty) == ("005380", Side.BUY, 6, 249500, 4)
    ctl.OnReceiveChejanData.emit("0", 10, "9203;9001")
    got = b.orders[o.broker_order_id or ""]
    assert got.state is OrderState.PARTIALLY_FILLED and got.filled_qty == 6 and got.avg_fill_price == 249_500.0
    ctl.chejan = {FID["code"]: "A005380", FID["hold_qty"]: "6", FID["avg_price"]: "249500",
                  FID["current_price"]: "-250000"}
    ctl.OnReceiveChejanData.emit("1", 4, "9001;930")
    assert b.balance["005380"].qty == 6 and b.balance["005380"].last_price == 250_000.0


def test_opt10075_paging_cancel_positions_cash() -> None:
    ctl = FakeControl()
    ctl.tr_rows["opt10075"] = [
        {"주문번호": f"{n:07d}", "종목코드": "005930", "주문수량": "5", "주문가격": "55000", "미체결수량": left,
         "주문구분": "+매수" if n % 2 else "-매도", "시간": "100000", "체결량": str(5 - int(left)), "체결가": "55000"}
        for n, left in ((1, "5"), (2, "2"), (3, "5"))]
    ctl.tr_rows["opw00018"] = [{"종목번호": "A005930", "보유수량": "000000000007", "매입가": "54000",
                                "현재가": "+55000"}]
    ctl.tr_rows["opw00001"] = [{"주문가능금액": "000001234567", "예수금": "1"}]
    b = broker(ctl)
    opens = b.open_orders()
    assert [(o.broker_order_id, o.side, o.state) for o in opens] == [
        ("0000001", Side.BUY, OrderState.ACKNOWLEDGED), ("0000002", Side.SELL, OrderState.PARTIALLY_FILLED),
        ("0000003", Side.BUY, OrderState.ACKNOWLEDGED)]
    rq = [a for s, a in ctl.calls if s.startswith("CommRqData")]
    assert [a[2] for a in rq] == [0, 2]  # second page requested with prev_next 2
    assert ctl.inputs["체결구분"] == "1" and ctl.inputs["계좌번호"] == ACCOUNT
    c = b.cancel("0000002")
    assert c.state is OrderState.CANCELLED
    cancel = [a for s, a in ctl.calls if s.startswith("SendOrder")][-1]
    assert cancel[3:] == [4, "005930", 2, 0, "00", "0000002"]  # sell-cancel of the 2 left
    assert [(p.code, p.qty, p.avg_price) for p in b.positions()] == [("005930", 7, 54_000.0)]
    assert b.cash() == 1_234_567.0


def test_rate_limit_five_per_second() -> None:
    t = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        t[0] += s

    lim = RateLimiter(5, 1.0, monotonic=lambda: t[0], sleep=sleep)
    for _ in range(12):
        lim.acquire()
    assert t[0] == pytest.approx(2.0) and len(waits) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="checks the off-Windows message")
def test_import_guard_off_windows() -> None:
    with pytest.raises(ConfigError, match="needs Windows"):
        load_control()


def _fill_event(order_no: str, filled: int, unfilled: int, unit_qty: int, unit_price: int) -> dict[int, str]:
    return {FID["order_no"]: order_no, FID["code"]: "A005380", FID["status"]: "체결", FID["order_qty"]: "10",
            FID["order_price"]: "250000", FID["unfilled_qty"]: str(unfilled), FID["side"]: "2",
            FID["order_kind"]: "+매수", FID["filled_qty"]: str(filled), FID["fill_price"]: str(unit_price),
            FID["unit_fill_qty"]: str(unit_qty), FID["unit_fill_price"]: str(unit_price), FID["time"]: "101500"}


def test_two_partial_fills_average_with_911_as_the_cumulative_quantity() -> None:
    ctl = FakeControl()
    b = broker(ctl)
    o = b.buy("005380", 10, 250_000.0)
    no = o.broker_order_id or ""
    ctl.chejan = _fill_event(no, filled=6, unfilled=4, unit_qty=6, unit_price=249_500)
    ctl.OnReceiveChejanData.emit("0", 10, "9203;911")
    ctl.chejan = _fill_event(no, filled=10, unfilled=0, unit_qty=4, unit_price=249_000)
    ctl.OnReceiveChejanData.emit("0", 10, "9203;911")
    got = b.orders[no]
    # (6 × 249,500 + 4 × 249,000) / 10 = 2,493,000 / 10 = 249,300 (reading 911 as one fill gave 249,187.5)
    assert got.state is OrderState.FILLED and got.filled_qty == 10 and got.avg_fill_price == 249_300.0


def test_rejected_chejan_and_opt10075_rows() -> None:
    ctl = FakeControl()
    b = broker(ctl)
    o = b.buy("005380", 10, 250_000.0)
    ctl.chejan = _fill_event(o.broker_order_id or "", filled=0, unfilled=10, unit_qty=0, unit_price=0)
    ctl.chejan[FID["status"]] = "거부"
    ctl.OnReceiveChejanData.emit("0", 10, "9203;913")
    got = b.orders[o.broker_order_id or ""]
    assert got.state is OrderState.REJECTED and "거부" in (got.reason or "")
    ctl.tr_rows["opt10075"] = [{"주문번호": "0000007", "종목코드": "Q500001", "주문수량": "5", "주문가격": "10000",
                                "미체결수량": "0", "주문구분": "+매수", "시간": "100000", "체결량": "0",
                                "체결가": "0", "주문상태": "거부"}]
    [row] = b.recent_orders()
    assert (row.code, row.state) == ("500001", OrderState.REJECTED)
    assert ctl.inputs["거래소구분"] == "0"  # the newer OPT10075 input: 통합 (KRX and NXT)


def test_default_pacing_stays_below_koa_five_per_second() -> None:
    b = KiwoomOcxBroker(FakeControl(), ACCOUNT, wait=lambda pred, timeout: pred())
    assert (b.limiter.max_calls, b.limiter.period) == (4, 1.0)
    t = [0.0]
    lim = RateLimiter(b.limiter.max_calls, b.limiter.period, monotonic=lambda: t[0],
                      sleep=lambda s: t.__setitem__(0, t[0] + s))
    stamps = []
    for _ in range(20):
        lim.acquire()
        stamps.append(t[0])
    # never 5 calls within any one-second window
    assert all(stamps[i + 4] - stamps[i] >= 1.0 for i in range(len(stamps) - 4))
