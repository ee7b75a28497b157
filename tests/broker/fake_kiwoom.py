"""A fake Kiwoom REST server on 127.0.0.1 for end-to-end tests of the REST adapter.

It implements au10001 (token), kt10000–kt10003 (orders), ka10075 (unfilled, paged), ka10076
(executions), kt00018 (balance, paged) and kt00001 (deposit); it checks the headers (``api-id``,
``authorization``, ``content-type``, ``cont-yn``/``next-key``) and the bodies, and can inject throttling,
error return codes, 5xx answers and timeouts (optionally after having processed the order).

It answers the way the live host does by default (``mode="live"``):

* an invalid or expired token → HTTP 200, ``return_code`` 3, ``"[8005:Token이 유효하지 않습니다]"``;
* throttling → HTTP 200, ``return_code`` 5, ``"…[1700:허용된 요청 개수를 초과하였습니다…]"``;
* order answers (kt10000–kt10003) carry 5-digit order numbers (``"00002"``), lists (ka10075/ka10076)
  7-digit ones (``"0000002"``); ``orig_ord_no`` is accepted in either width;
* ``cntr_pric`` in the lists is the last fill's price, ``cntr_tot_amt`` the cumulative amount.

``mode="http"`` answers tokens with HTTP 401 and throttling with HTTP 429 instead. ``token_ttl`` sets
how long tokens live (``expire_tokens()`` expires them at once); ``throttle_every=N`` throttles every
N-th order request (kt10000–kt10003).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lasps.krx.calendar import KST

APPKEY = "APPKEY-fake-0123456789abcdef"
SECRETKEY = "SECRETKEY-fake-fedcba9876543210"
ACCOUNT = "5012345678"

PATHS = {"au10001": "/oauth2/token", "kt10000": "/api/dostk/ordr", "kt10001": "/api/dostk/ordr",
         "kt10002": "/api/dostk/ordr", "kt10003": "/api/dostk/ordr", "ka10075": "/api/dostk/acnt",
         "ka10076": "/api/dostk/acnt", "kt00018": "/api/dostk/acnt", "kt00001": "/api/dostk/acnt"}


@dataclass
class Fault:
    kind: str  # "429" (throttle, the live way or HTTP 429 by mode) | "error" | "500" | "timeout"
    retry_after: str | None = None
    return_code: int = 1
    msg: str = "fake error"
    delay: float = 1.0
    process: bool = False  # "timeout": handle the request before stalling (the order exists)


@dataclass
class Recorded:
    api_id: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOrder:
    ord_no: str
    code: str
    side: str  # "buy" | "sell"
    qty: int
    price: int  # 0 = market
    tm: str
    filled: int = 0
    fill_price: int = 0  # the last fill's price
    fill_amount: int = 0  # cumulative filled amount (KRW)
    cancelled: bool = False
    rejected: bool = False

    @property
    def open(self) -> bool:
        return not self.cancelled and not self.rejected and self.filled < self.qty


@dataclass
class FakeKiwoom:
    """State and behaviour of the fake server (thread-safe)."""

    token_ttl: dt.timedelta = dt.timedelta(hours=24)
    mode: str = "live"  # "live": errors in HTTP 200 bodies; "http": HTTP 401 / 429
    throttle_every: int = 0  # throttle every N-th order request (0: never)
    order_no_width: int = 5  # width of ord_no in order answers (lists always use 7)
    page_size: int = 2
    order_time: str = "100000"
    requests: list[Recorded] = field(default_factory=list)
    accepted: list[Recorded] = field(default_factory=list)  # requests answered with return_code 0
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    faults: dict[str, collections.deque[Fault]] = field(default_factory=lambda: collections.defaultdict(
        collections.deque))
    holdings: dict[str, tuple[int, int]] = field(default_factory=dict)
    cash: int = 50_000_000
    tokens: dict[str, dt.datetime] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _seq: int = 0
    _order_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    # -- control -----------------------------------------------------------------------------------
    def start(self) -> FakeKiwoom:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def inject(self, api_id: str, kind: str, times: int = 1, **kw: Any) -> None:
        for _ in range(times):
            self.faults[api_id].append(Fault(kind, **kw))

    def calls(self, api_id: str) -> list[Recorded]:
        return [r for r in self.requests if r.api_id == api_id]

    def processed(self, api_id: str) -> list[Recorded]:
        """Requests of ``api_id`` that the server carried out (answered with ``return_code`` 0)."""
        return [r for r in self.accepted if r.api_id == api_id]

    def order_calls(self) -> list[Recorded]:
        return [r for r in self.requests if r.api_id in ("kt10000", "kt10001")]

    def _get(self, ord_no: object) -> FakeOrder | None:
        s = str(ord_no or "").strip()
        return self.orders.get(s.zfill(7)) if s.isdigit() else None

    def fill(self, ord_no: str, qty: int, price: int) -> None:
        with self._lock:
            o = self._get(ord_no)
            assert o is not None, ord_no
            o.fill_price = price
            o.fill_amount += price * qty
            o.filled += qty
            held, avg = self.holdings.get(o.code, (0, 0))
            if o.side == "buy":
                self.holdings[o.code] = (held + qty, (held * avg + qty * price) // (held + qty))
            else:
                self.holdings[o.code] = (held - qty, avg)

    def reject(self, ord_no: str) -> None:
        """The exchange rejects the order (ord_stt 거부)."""
        with self._lock:
            o = self._get(ord_no)
            assert o is not None, ord_no
            o.rejected = True

    def answer_no(self, no: str) -> str:
        """An order number as order answers write it (5 digits by default)."""
        return no.lstrip("0").zfill(self.order_no_width)

    def expire_tokens(self) -> None:
        with self._lock:
            for t in self.tokens:
                self.tokens[t] = dt.datetime.now(KST) - dt.timedelta(seconds=1)

    # -- HTTP --------------------------------------------------------------------------------------
    def _reply(self, h: BaseHTTPRequestHandler, code: int, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            h.send_response(code)
            h.send_header("content-type", "application/json;charset=UTF-8")
            h.send_header("content-length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout test)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        n = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(n) if n else b""
        headers = {k.lower(): v for k, v in h.headers.items()}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._reply(h, 400, {"return_code": 2, "return_msg": "bad json"})
            return
        api_id = headers.get("api-id", "")
        with self._lock:
            self.requests.append(Recorded(api_id, h.path, headers, body))
        if not headers.get("content-type", "").startswith("application/json"):
            self.errors.append(f"{api_id}: content-type {headers.get('content-type')}")
            self._reply(h, 415, {"return_code": 2, "return_msg": "content-type"})
            return
        if h.path == "/oauth2/token":
            self._token(h, body)
            return
        if api_id not in PATHS or PATHS[api_id] != h.path:
            self.errors.append(f"unknown api-id {api_id!r} on {h.path}")
            self._reply(h, 404, {"return_code": 2, "return_msg": f"api-id {api_id} not on {h.path}"})
            return
        auth = headers.get("authorization", "")
        tok = auth.removeprefix("Bearer ").strip()
        if not auth.startswith("Bearer ") or tok not in self.tokens or self.tokens[tok] <= dt.datetime.now(KST):
            if self.mode == "http":
                self._reply(h, 401, {"return_code": 8005, "return_msg": "Token이 유효하지 않습니다"})
            else:
                self._reply(h, 200, {"return_code": 3,
                                     "return_msg": "인증에 실패했습니다[8005:Token이 유효하지 않습니다]"})
            return
        for key in ("cont-yn", "next-key"):
            if key not in headers:
                self.errors.append(f"{api_id}: header {key} missing")
        fault = None
        with self._lock:
            if self.faults[api_id]:
                fault = self.faults[api_id].popleft()
            if api_id in ("kt10000", "kt10001", "kt10002", "kt10003"):
                self._order_requests += 1
                if fault is None and self.throttle_every and self._order_requests % self.throttle_every == 0:
                    fault = Fault("429")
        if fault is not None and fault.kind == "429":
            extra = {"retry-after": fault.retry_after} if fault.retry_after is not None else None
            if self.mode == "http":
                self._reply(h, 429, {"return_code": 5, "return_msg": "too many requests"}, extra)
            else:
                self._reply(h, 200, {"return_code": 5,
                                     "return_msg": "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 "
                                                   f"초과하였습니다. API ID={api_id}]"}, extra)
            return
        if fault is not None and fault.kind == "error":
            self._reply(h, 200, {"return_code": fault.return_code, "return_msg": fault.msg})
            return
        if fault is not None and fault.kind == "500":
            self._reply(h, 500, {"return_code": 99, "return_msg": "internal error"})
            return
        if fault is not None and fault.kind == "timeout" and not fault.process:
            time.sleep(fault.delay)
            self._reply(h, 200, {"return_code": 0, "return_msg": "too late"})
            return
        code, reply, extra = self._dispatch(api_id, body, headers)
        if code == 200 and reply.get("return_code") == 0:
            with self._lock:
                self.accepted.append(Recorded(api_id, h.path, headers, body))
        if fault is not None and fault.kind == "timeout":
            time.sleep(fault.delay)
        self._reply(h, code, reply, extra)

    def _token(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if body.get("grant_type") != "client_credentials" or body.get("appkey") != APPKEY \
                or body.get("secretkey") != SECRETKEY:
            self._reply(h, 200, {"return_code": 2, "return_msg": "인증 실패"})
            return
        with self._lock:
            self._seq += 1
            tok = f"TOKEN-{self._seq:04d}-xyzxyzxyz"
            expires = dt.datetime.now(KST) + self.token_ttl
            self.tokens[tok] = expires
        self._reply(h, 200, {"return_code": 0, "return_msg": "정상", "token_type": "bearer", "token": tok,
                             "expires_dt": expires.strftime("%Y%m%d%H%M%S")})

    def _page(self, rows: list[dict[str, Any]], headers: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        start = 0
        if headers.get("cont-yn") == "Y":
            start = int(headers.get("next-key") or 0)
        chunk = rows[start:start + self.page_size]
        more = start + self.page_size < len(rows)
        return chunk, {"cont-yn": "Y" if more else "N", "next-key": str(start + self.page_size) if more else "",
                       "api-id": ""}

    def _dispatch(self, api_id: str, body: dict[str, Any], headers: dict[str, str]
                  ) -> tuple[int, dict[str, Any], dict[str, str]]:
        ok = {"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}
        with self._lock:
            if api_id in ("kt10000", "kt10001"):
                problems = []
                if body.get("dmst_stex_tp") != "KRX":
                    problems.append("dmst_stex_tp")
                code = str(body.get("stk_cd", ""))
                if len(code) != 6:
                    problems.append("stk_cd")
                qty = str(body.get("ord_qty", ""))
                if not qty.isdigit() or int(qty) <= 0:
                    problems.append("ord_qty")
                tp = body.get("trde_tp")
                uv = str(body.get("ord_uv", ""))
                if tp == "0" and not uv.isdigit():
                    problems.append("ord_uv")
                if tp == "3" and uv != "":
                    problems.append("ord_uv for market")
                if tp not in ("0", "3"):
                    problems.append("trde_tp")
                if "cond_uv" not in body:
                    problems.append("cond_uv")
                if problems:
                    self.errors.append(f"{api_id} bad body: {problems}")
                    return 200, {"return_code": 2, "return_msg": f"입력값 오류 {problems}"}, {}
                self._seq += 1
                no = f"{self._seq:07d}"
                self.orders[no] = FakeOrder(no, code, "buy" if api_id == "kt10000" else "sell", int(qty),
                                            int(uv) if tp == "0" else 0, self.order_time)
                return 200, ok | {"ord_no": self.answer_no(no), "dmst_stex_tp": "KRX"}, {}
            if api_id in ("kt10002", "kt10003"):
                orig = self._get(body.get("orig_ord_no"))
                if orig is None or not orig.open or orig.code != body.get("stk_cd"):
                    return 200, {"return_code": 2, "return_msg": "원주문 없음"}, {}
                self._seq += 1
                no = f"{self._seq:07d}"
                if api_id == "kt10003":
                    if body.get("cncl_qty") != "0":
                        self.errors.append("kt10003 cncl_qty")
                    orig.cancelled = True
                    return 200, ok | {"ord_no": self.answer_no(no), "base_orig_ord_no": self.answer_no(orig.ord_no),
                                      "cncl_qty": str(orig.qty - orig.filled)}, {}
                moved = int(body["mdfy_qty"])
                if moved >= orig.qty - orig.filled:
                    orig.cancelled = True
                else:
                    orig.qty -= moved
                self.orders[no] = FakeOrder(no, orig.code, orig.side, moved, int(body["mdfy_uv"]), self.order_time)
                return 200, ok | {"ord_no": self.answer_no(no), "base_orig_ord_no": self.answer_no(orig.ord_no)}, {}
            if api_id == "ka10075":
                if body != {"all_stk_tp": "0", "trde_tp": "0", "stk_cd": "", "stex_tp": "0"}:
                    self.errors.append(f"ka10075 body {body}")
                rows = [{"ord_no": o.ord_no, "stk_cd": o.code, "io_tp_nm": "+매수" if o.side == "buy" else "-매도",
                         "ord_qty": str(o.qty), "ord_pric": str(o.price), "oso_qty": str(o.qty - o.filled),
                         "cntr_qty": str(o.filled), "cntr_pric": str(o.fill_price), "cntr_tot_amt": str(o.fill_amount),
                         "tm": o.tm, "trde_tp": "보통" if o.price else "시장가",
                         "ord_stt": "거부" if o.rejected else "접수", "stex_tp": "1"}
                        for o in self.orders.values() if o.open or o.rejected]
                if any(o.rejected for o in self.orders.values()):
                    for r in rows:
                        if r["ord_stt"] == "거부":
                            r["oso_qty"] = "0"
                chunk, extra = self._page(rows, headers)
                return 200, ok | {"oso": chunk}, extra
            if api_id == "ka10076":
                rows = [{"ord_no": o.ord_no, "stk_cd": "A" + o.code,
                         "io_tp_nm": "현금매수" if o.side == "buy" else "현금매도", "ord_qty": str(o.qty),
                         "ord_pric": str(o.price), "cntr_qty": str(o.filled), "cntr_pric": str(o.fill_price),
                         "cntr_tot_amt": str(o.fill_amount),
                         "oso_qty": str(0 if o.cancelled else o.qty - o.filled), "ord_tm": o.tm,
                         "ord_stt": "체결" if not o.cancelled else "취소"}
                        for o in self.orders.values() if o.filled > 0]
                chunk, extra = self._page(rows, headers)
                return 200, ok | {"cntr": chunk}, extra
            if api_id == "kt00018":
                if body != {"qry_tp": "1", "dmst_stex_tp": "KRX"}:
                    self.errors.append(f"kt00018 body {body}")
                rows = [{"stk_cd": c if len(c) == 7 else "A" + c, "stk_nm": c, "rmnd_qty": f"{q:015d}",
                         "pur_pric": f"{a:015d}", "cur_prc": f"{a:015d}"}
                        for c, (q, a) in sorted(self.holdings.items()) if q > 0]
                chunk, extra = self._page(rows, headers)
                return 200, ok | {"acnt_evlt_remn_indv_tot": chunk, "tot_evlt_amt": "0"}, extra
            if api_id == "kt00001":
                return 200, ok | {"entr": f"{self.cash:015d}", "ord_alow_amt": f"{self.cash:015d}"}, {}
        return 404, {"return_code": 2, "return_msg": "unknown"}, {}
