"""Kiwoom OpenAPI+ adapter (``--broker kiwoom-ocx``): the COM control ``KHOPENAPI.KHOpenAPICtrl.1``.

Windows only, in a **32-bit** Python with PyQt5 (QAxWidget) and the Kiwoom OpenAPI+ module installed
and logged in through the Kiwoom login window. Off Windows, or without PyQt5, :func:`load_control`
raises a :class:`~lasps.errors.ConfigError` that says so; nothing else in LASPS needs it.

Protocol used (KOA Studio names):

* login: ``CommConnect()`` → event ``OnEventConnect(err_code)`` (0 = connected);
* orders: ``SendOrder(rqname, screen, account, order_type, code, qty, price, hoga, org_order_no)`` with
  order types 1 buy, 2 sell, 3 buy-cancel, 4 sell-cancel, 5 buy-modify, 6 sell-modify and hoga ``"00"``
  limit / ``"03"`` market (price 0). Return 0 = handed over; the order number arrives in
  ``OnReceiveTrData`` (``GetCommData(..., "주문번호")``) and ``OnReceiveChejanData``;
* executions: ``OnReceiveChejanData(gubun, item_cnt, fid_list)``; gubun "0" = order/fill with FIDs
  9201 account, 9203 order no., 9001 code (``A005930``), 913 status (접수/체결/확인), 900 order qty,
  901 order price, 902 unfilled qty, 904 original order no., 905 order kind, 907 side (1 sell, 2 buy),
  908 time (HHMMSS), 909 fill no., 910 fill price, **911 cumulative filled qty** (체결누계수량), 914/915
  this fill's price/qty (단위체결가/단위체결량); gubun "1" = balance with 9001 code, 930 holding qty,
  931 average price, 10 current price (:func:`parse_chejan`, :func:`parse_balance`). Status 913 "거부"
  (rejected) makes the order REJECTED;
* unfilled orders: TR ``OPT10075`` via ``SetInputValue``/``CommRqData``/``OnReceiveTrData`` and
  ``GetRepeatCnt``/``GetCommData`` (paging with prev_next "2"), with the newer input 거래소구분 ("0"
  통합: KRX and NXT); holdings ``OPW00018``; cash ``OPW00001``;
* limit: KOA allows 5 ``SendOrder``/``CommRqData`` calls per second and answers more with -308 or a
  penalty wait (about 17 s, longer than the 10 s timeout), so the adapter paces itself *below* it:
  :data:`OCX_CALLS_PER_SECOND` (4) in any one-second window.

The adapter's logic runs against any object with ``dynamicCall(signature, args)`` and the four event
signals, so it is tested with a fake control off Windows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from lasps.broker.base import (
    BrokerError,
    BrokerUncertain,
    Order,
    OrderNotFound,
    OrderRejected,
    OrderState,
    Position,
    Side,
)
from lasps.broker.order_numbers import same_order_no
from lasps.broker.ratelimit import RateLimiter
from lasps.broker.redact import get_logger, redact, register_secrets
from lasps.errors import ConfigError
from lasps.krx.calendar import KST

log = get_logger(__name__)

PROG_ID = "KHOPENAPI.KHOpenAPICtrl.1"
ORDER_BUY, ORDER_SELL, ORDER_BUY_CANCEL, ORDER_SELL_CANCEL, ORDER_BUY_MODIFY, ORDER_SELL_MODIFY = 1, 2, 3, 4, 5, 6
HOGA_LIMIT, HOGA_MARKET = "00", "03"
SIG_SEND_ORDER = "SendOrder(QString, QString, QString, int, QString, int, int, QString, QString)"
SIG_SET_INPUT = "SetInputValue(QString, QString)"
SIG_COMM_RQ = "CommRqData(QString, QString, int, QString)"
SIG_COMM_DATA = "GetCommData(QString, QString, int, QString)"
SIG_REPEAT_CNT = "GetRepeatCnt(QString, QString)"
SIG_CHEJAN = "GetChejanData(int)"
SIG_STATE = "GetConnectState()"

#: FIDs of OnReceiveChejanData (gubun "0": order/fill; "1": balance).
#: 911 is the cumulative filled quantity of the order; 914/915 are the price and quantity of this fill.
FID = {"account": 9201, "order_no": 9203, "code": 9001, "status": 913, "name": 302, "order_qty": 900,
       "order_price": 901, "unfilled_qty": 902, "orig_order_no": 904, "order_kind": 905, "side": 907,
       "time": 908, "fill_no": 909, "fill_price": 910, "filled_qty": 911, "unit_fill_price": 914,
       "unit_fill_qty": 915, "hold_qty": 930, "avg_price": 931, "current_price": 10}
#: Calls per second the adapter allows itself: below KOA's 5/s penalty boundary.
OCX_CALLS_PER_SECOND = 4
#: OPT10075 거래소구분: "0" 통합 (every venue), "1" KRX, "2" NXT.
OPT10075_EXCHANGE_ALL = "0"
#: SendOrder return codes worth naming (KOA Studio).
SEND_ERRORS = {-200: "시세조회 과부하", -300: "입력값 오류", -301: "계좌비밀번호 없음", -302: "타인계좌사용 오류",
               -303: "주문가격이 20억원을 초과", -304: "주문가격이 50억원을 초과",
               -305: "주문수량이 총발행주수의 1% 초과",
               -306: "주문수량은 총발행주수의 3% 초과오류", -307: "주문전송 실패",
               -308: "주문전송 과부하 (1초 5회 제한)", -309: "주문수량 300계약 초과",
               -310: "주문수량 500계약 초과", -340: "계좌정보 없음", -500: "종목코드 없음"}


class Signal(Protocol):
    def connect(self, slot: Callable[..., Any]) -> Any: ...


class OcxControl(Protocol):
    """What the adapter needs from ``QAxWidget(PROG_ID)``."""

    OnEventConnect: Signal
    OnReceiveTrData: Signal
    OnReceiveChejanData: Signal
    OnReceiveMsg: Signal

    def dynamicCall(self, signature: str, args: list[Any] | None = None) -> Any: ...


Waiter = Callable[[Callable[[], bool], float], bool]


def load_control() -> tuple[Any, Waiter]:
    """Create the OpenAPI+ control and a Qt event-pumping waiter; :class:`ConfigError` where impossible."""
    if sys.platform != "win32":
        raise ConfigError(
            f"--broker kiwoom-ocx needs Windows (this is {sys.platform}): Kiwoom OpenAPI+ is a Windows COM control",
            where="--broker", fix="use --broker kiwoom-rest (any OS) or paper")
    try:
        from PyQt5.QAxContainer import QAxWidget  # type: ignore[import-not-found]
        from PyQt5.QtWidgets import QApplication  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ConfigError(
            "--broker kiwoom-ocx needs PyQt5 (and pywin32) in a 32-bit Python with Kiwoom OpenAPI+ installed",
            where="--broker", fix="pip install PyQt5 pywin32 in a 32-bit Python, or use --broker kiwoom-rest") from exc
    app = QApplication.instance() or QApplication([])
    control = QAxWidget(PROG_ID)

    def wait(predicate: Callable[[], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= end:
                return False
            app.processEvents()
            time.sleep(0.01)
        return True

    return control, wait


def _int(v: Any) -> int:
    s = str(v or "").strip().replace(",", "")
    try:
        return int(float(s)) if s else 0
    except ValueError:
        return 0


def _code(v: Any) -> str:
    """``A005930`` (stock/ETF), ``J…`` (ELW), ``Q…`` (ETN) → the 6-character short code."""
    s = str(v or "").strip()
    return s[1:] if len(s) == 7 and s[0] in ("A", "J", "Q") else s


@dataclass(frozen=True)
class ChejanOrder:
    """One gubun-"0" chejan event (order accepted, filled, confirmed, rejected).

    ``filled_qty`` is the order's cumulative filled quantity (FID 911); ``fill_qty``/``fill_price`` are
    this event's single fill (FIDs 915/914; 910 when 914 is empty), 0 when the event is no fill.
    """

    order_no: str
    code: str
    side: Side
    status: str
    order_qty: int
    order_price: int
    unfilled_qty: int
    filled_qty: int
    fill_qty: int
    fill_price: int
    fill_no: str
    time: str
    orig_order_no: str
    order_kind: str


def parse_chejan(get: Callable[[int], str]) -> ChejanOrder:
    """Read a gubun-"0" chejan event through ``get(fid)`` (``GetChejanData``)."""
    side_code = str(get(FID["side"])).strip()
    kind = str(get(FID["order_kind"])).strip()
    side = Side.SELL if side_code == "1" or "매도" in kind else Side.BUY
    return ChejanOrder(
        order_no=str(get(FID["order_no"])).strip(), code=_code(get(FID["code"])), side=side,
        status=str(get(FID["status"])).strip(), order_qty=_int(get(FID["order_qty"])),
        order_price=abs(_int(get(FID["order_price"]))), unfilled_qty=_int(get(FID["unfilled_qty"])),
        filled_qty=_int(get(FID["filled_qty"])), fill_qty=_int(get(FID["unit_fill_qty"])),
        fill_price=abs(_int(get(FID["unit_fill_price"]))) or abs(_int(get(FID["fill_price"]))),
        fill_no=str(get(FID["fill_no"])).strip(), time=str(get(FID["time"])).strip(),
        orig_order_no=str(get(FID["orig_order_no"])).strip(), order_kind=kind)


def parse_balance(get: Callable[[int], str]) -> Position:
    """Read a gubun-"1" (balance) chejan event."""
    return Position(_code(get(FID["code"])), _int(get(FID["hold_qty"])), float(abs(_int(get(FID["avg_price"])))),
                    float(abs(_int(get(FID["current_price"])))) or None)


class KiwoomOcxBroker:
    """Kiwoom OpenAPI+ as a :class:`~lasps.broker.base.Broker` (see the module docstring).

    ``control`` and ``wait`` come from :func:`load_control` on Windows, or from a fake in tests.
    """

    name = "kiwoom-ocx"
    live = True

    def __init__(self, control: Any, account: str, *, wait: Waiter, timeout: float = 10.0,
                 limiter: RateLimiter | None = None, screen: str = "4989", max_pages: int = 20,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        register_secrets([account])
        self.ctl = control
        self._account = account
        self._wait = wait
        self.timeout = timeout
        self.limiter = limiter or RateLimiter(OCX_CALLS_PER_SECOND, 1.0)
        self.screen = screen
        self.max_pages = max_pages
        self._now = now or (lambda: dt.datetime.now(KST))
        self._seq = itertools.count(1)
        self._connect_err: int | None = None
        self._tr: dict[str, tuple[str, str]] = {}  # rqname -> (trcode, prev_next)
        self._msgs: dict[str, str] = {}
        self.orders: dict[str, Order] = {}
        self.balance: dict[str, Position] = {}
        control.OnEventConnect.connect(self._on_connect)
        control.OnReceiveTrData.connect(self._on_tr)
        control.OnReceiveChejanData.connect(self._on_chejan)
        control.OnReceiveMsg.connect(self._on_msg)

    @classmethod
    def create(cls, account: str, **kw: Any) -> KiwoomOcxBroker:
        """Load the real control (Windows) and log in."""
        control, wait = load_control()
        broker = cls(control, account, wait=wait, **kw)
        broker.connect()
        return broker

    def __repr__(self) -> str:
        return "KiwoomOcxBroker()"

    def _call(self, sig: str, *args: Any) -> Any:
        return self.ctl.dynamicCall(sig, list(args))

    # -- events ----------------------------------------------------------------------------------
    def _on_connect(self, err_code: int) -> None:
        self._connect_err = int(err_code)

    def _on_tr(self, screen: str, rqname: str, trcode: str, record: str, prev_next: str, *rest: Any) -> None:
        self._tr[str(rqname)] = (str(trcode), str(prev_next or ""))

    def _on_msg(self, screen: str, rqname: str, trcode: str, msg: str) -> None:
        self._msgs[str(rqname)] = redact(msg)

    def _on_chejan(self, gubun: str, item_cnt: int, fid_list: str) -> None:
        get = lambda fid: self._call(SIG_CHEJAN, fid)  # noqa: E731
        if str(gubun) == "1":
            p = parse_balance(get)
            if p.qty > 0:
                self.balance[p.code] = p
            else:
                self.balance.pop(p.code, None)
            return
        ev = parse_chejan(get)
        if not ev.order_no:
            return
        prev = self.orders.get(ev.order_no)
        done_before = prev.filled_qty if prev else 0
        filled = ev.filled_qty or (ev.order_qty - ev.unfilled_qty if ev.order_qty else done_before)
        avg = prev.avg_fill_price if prev else None
        unit = ev.fill_qty or max(filled - done_before, 0)  # this fill (915), else the cumulative step
        if unit and ev.fill_price and filled > done_before:
            avg = ((avg or 0.0) * done_before + ev.fill_price * unit) / (done_before + unit)
        if "거부" in ev.status:
            base = prev or Order(code=ev.code, side=ev.side, qty=ev.order_qty,
                                 price=float(ev.order_price) if ev.order_price else None, state=OrderState.REJECTED,
                                 broker=self.name, broker_order_id=ev.order_no, created_at=self._now())
            self.orders[ev.order_no] = base.with_(state=OrderState.REJECTED, updated_at=self._now(),
                                                  reason=f"rejected by Kiwoom OpenAPI+ ({ev.status})")
            return
        if "취소" in ev.order_kind or ("확인" in ev.status and ev.orig_order_no):
            orig = self.orders.get(ev.orig_order_no)
            if orig is not None and "취소" in ev.order_kind:
                self.orders[ev.orig_order_no] = orig.with_(state=OrderState.CANCELLED, updated_at=self._now())
            return
        if ev.unfilled_qty == 0 and filled >= ev.order_qty > 0:
            state = OrderState.FILLED
        elif filled > 0:
            state = OrderState.PARTIALLY_FILLED
        else:
            state = OrderState.ACKNOWLEDGED
        base = prev or Order(code=ev.code, side=ev.side, qty=ev.order_qty,
                             price=float(ev.order_price) if ev.order_price else None, state=state, broker=self.name,
                             broker_order_id=ev.order_no, created_at=self._now())
        self.orders[ev.order_no] = base.with_(state=state, filled_qty=filled, avg_fill_price=avg,
                                              updated_at=self._now())

    # -- session ---------------------------------------------------------------------------------
    def connect(self) -> None:
        """``CommConnect`` and wait for ``OnEventConnect``; :class:`BrokerError` if the login fails."""
        self._connect_err = None
        self._call("CommConnect()")
        if not self._wait(lambda: self._connect_err is not None, max(self.timeout, 60.0)):
            raise BrokerError("Kiwoom OpenAPI+ login timed out", where="CommConnect")
        if self._connect_err != 0:
            raise BrokerError(f"Kiwoom OpenAPI+ login failed (error {self._connect_err})", where="CommConnect",
                              fix="log in with the Kiwoom login window; check the version update")

    # -- orders ----------------------------------------------------------------------------------
    def _rqname(self, prefix: str) -> str:
        return f"lasps_{prefix}_{next(self._seq)}"

    def _send_order(self, order_type: int, code: str, qty: int, price: float | None, org_no: str = "") -> str:
        rq = self._rqname("ord")
        hoga = HOGA_MARKET if price is None else HOGA_LIMIT
        self.limiter.acquire()
        ret = self._call(SIG_SEND_ORDER, rq, self.screen, self._account, int(order_type), code, int(qty),
                         0 if price is None else round(price), hoga, org_no)
        ret = int(ret or 0)
        if ret != 0:
            raise OrderRejected(f"SendOrder returned {ret}: {SEND_ERRORS.get(ret, 'error')}", where="SendOrder")
        if not self._wait(lambda: rq in self._tr, self.timeout):
            raise BrokerUncertain(f"no answer from OpenAPI+ for {rq} within {self.timeout:.0f} s; the order may "
                                  "or may not have been placed", where="SendOrder")
        trcode, _ = self._tr.pop(rq)
        order_no = str(self._call(SIG_COMM_DATA, trcode, rq, 0, "주문번호") or "").strip()
        if not order_no:
            raise OrderRejected(f"OpenAPI+ refused the order: {self._msgs.get(rq, 'no order number returned')}",
                                where="SendOrder")
        return order_no

    def _new(self, side: Side, code: str, qty: int, price: float | None, cid: str | None) -> Order:
        order_no = self._send_order(ORDER_BUY if side is Side.BUY else ORDER_SELL, code, qty, price)
        now = self._now()
        o = self.orders.get(order_no) or Order(code=code, side=side, qty=int(qty), price=price,
                                               state=OrderState.ACKNOWLEDGED, broker=self.name,
                                               broker_order_id=order_no, created_at=now, updated_at=now)
        o = o.with_(client_order_id=cid)
        self.orders[order_no] = o
        return o

    def buy(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None) -> Order:
        """SendOrder type 1 (hoga "00" limit / "03" market)."""
        return self._new(Side.BUY, code, qty, price, client_order_id)

    def sell(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None) -> Order:
        """SendOrder type 2."""
        return self._new(Side.SELL, code, qty, price, client_order_id)

    def _open(self, order_id: str) -> Order:
        for o in self.open_orders():
            if same_order_no(o.broker_order_id, order_id):
                return o
        raise OrderNotFound(f"OpenAPI+ has no unfilled order {order_id}", where="order id")

    def cancel(self, order_id: str, *, known: Order | None = None) -> Order:
        """SendOrder type 3 (buy) / 4 (sell) for the unfilled quantity (read from OPT10075: the journal's
        ``known`` quantities may lag the fills)."""
        o = self._open(order_id)
        kind = ORDER_BUY_CANCEL if o.side is Side.BUY else ORDER_SELL_CANCEL
        try:
            self._send_order(kind, o.code, o.remaining_qty, 0.0, org_no=order_id)
        except OrderRejected as exc:
            raise BrokerError(f"OpenAPI+ refused to cancel {order_id}: {exc.what}", where="SendOrder") from None
        c = o.with_(state=OrderState.CANCELLED, updated_at=self._now())
        self.orders[order_id] = c
        return c

    def modify(self, order_id: str, qty: int, price: float, *, known: Order | None = None) -> Order:
        """SendOrder type 5 (buy) / 6 (sell): new price for ``qty`` shares; returns the new order."""
        o = self._open(order_id)
        kind = ORDER_BUY_MODIFY if o.side is Side.BUY else ORDER_SELL_MODIFY
        new_no = self._send_order(kind, o.code, qty, price, org_no=order_id)
        n = o.with_(broker_order_id=new_no, qty=int(qty), price=float(price), updated_at=self._now())
        self.orders[new_no] = n
        return n

    # -- TR queries ------------------------------------------------------------------------------
    def _request(self, trcode: str, inputs: dict[str, str], fields: tuple[str, ...], *, multi: bool = True
                 ) -> list[dict[str, str]]:
        """Run a TR with paging; rows of ``fields`` (``multi=False``: the single-row output)."""
        rows: list[dict[str, str]] = []
        prev_next = 0
        for _ in range(self.max_pages):
            rq = self._rqname(trcode)
            for k, v in inputs.items():
                self._call(SIG_SET_INPUT, k, v)
            self.limiter.acquire()
            ret = int(self._call(SIG_COMM_RQ, rq, trcode, prev_next, self.screen) or 0)
            if ret != 0:
                raise BrokerError(f"CommRqData {trcode} returned {ret}", where=trcode)
            if not self._wait(lambda rq=rq: rq in self._tr, self.timeout):  # type: ignore[misc]
                raise BrokerError(f"no answer to {trcode} within {self.timeout:.0f} s", where=trcode)
            _, more = self._tr.pop(rq)
            n = int(self._call(SIG_REPEAT_CNT, trcode, rq) or 0) if multi else 1
            for i in range(n):
                rows.append({f: str(self._call(SIG_COMM_DATA, trcode, rq, i, f) or "").strip() for f in fields})
            if more != "2" or not multi:
                return rows
            prev_next = 2
        raise BrokerError(f"{trcode} returned more than {self.max_pages} pages", where=trcode)

    def _tr_orders(self, fill_kind: str) -> list[Order]:
        rows = self._request("opt10075", {"계좌번호": self._account, "전체종목구분": "0", "매매구분": "0",
                                          "종목코드": "", "체결구분": fill_kind,
                                          "거래소구분": OPT10075_EXCHANGE_ALL},
                             ("주문번호", "종목코드", "주문수량", "주문가격", "미체결수량", "주문구분", "시간",
                              "체결량", "체결가", "주문상태"))
        today = self._now().astimezone(KST).date()
        out = []
        for r in rows:
            qty, left = _int(r["주문수량"]), _int(r["미체결수량"])
            filled = _int(r["체결량"]) or max(qty - left, 0)
            if "거부" in r["주문상태"]:
                state = OrderState.REJECTED
            elif left > 0:
                state = OrderState.PARTIALLY_FILLED if filled else OrderState.ACKNOWLEDGED
            elif filled >= qty > 0:
                state = OrderState.FILLED
            else:
                state = OrderState.CANCELLED
            t = r["시간"]
            when = None
            if len(t) >= 6 and t[:6].isdigit():
                when = dt.datetime(today.year, today.month, today.day, int(t[:2]), int(t[2:4]), int(t[4:6]), tzinfo=KST)
            px = abs(_int(r["주문가격"]))
            fpx = abs(_int(r["체결가"]))
            out.append(Order(code=_code(r["종목코드"]), side=Side.SELL if "매도" in r["주문구분"] else Side.BUY,
                             qty=qty, price=float(px) if px else None, state=state, broker=self.name,
                             broker_order_id=r["주문번호"], filled_qty=filled,
                             avg_fill_price=float(fpx) if fpx and filled else None, created_at=when, updated_at=when))
        return out

    def open_orders(self) -> list[Order]:
        """OPT10075 with 체결구분 "1" (unfilled)."""
        return [o for o in self._tr_orders("1") if o.state.open]

    def recent_orders(self) -> list[Order]:
        """OPT10075 with 체결구분 "0" (all of today's orders)."""
        return self._tr_orders("0")

    def positions(self) -> list[Position]:
        """OPW00018 (계좌평가잔고내역): holdings."""
        rows = self._request("opw00018", {"계좌번호": self._account, "비밀번호": "", "비밀번호입력매체구분": "00",
                                          "조회구분": "2"}, ("종목번호", "보유수량", "매입가", "현재가"))
        return [Position(_code(r["종목번호"]), _int(r["보유수량"]), float(abs(_int(r["매입가"]))),
                         float(abs(_int(r["현재가"]))) or None) for r in rows if _int(r["보유수량"]) > 0]

    def cash(self) -> float:
        """OPW00001 (예수금상세현황): 주문가능금액."""
        rows = self._request("opw00001", {"계좌번호": self._account, "비밀번호": "", "비밀번호입력매체구분": "00",
                                          "조회구분": "3"}, ("주문가능금액", "예수금"), multi=False)
        r = rows[0] if rows else {}
        return float(_int(r.get("주문가능금액") or r.get("예수금")))


__all__ = ["FID", "HOGA_LIMIT", "HOGA_MARKET", "OCX_CALLS_PER_SECOND", "PROG_ID", "ChejanOrder", "KiwoomOcxBroker",
           "load_control", "parse_balance", "parse_chejan"]
