"""Kiwoom REST adapter (``--broker kiwoom-rest``), over httpx.

Endpoints (base URL ``LASPS_KIWOOM_HOST``: ``https://api.kiwoom.com`` real, ``https://mockapi.kiwoom.com``
mock, or any base URL such as a local test server):

=========  ======================  =====================================================
api-id     path                    use
=========  ======================  =====================================================
au10001    ``/oauth2/token``       access token (cached until ``expires_dt``, refreshed)
kt10000    ``/api/dostk/ordr``     buy  (``trde_tp`` "0" limit, "3" market)
kt10001    ``/api/dostk/ordr``     sell
kt10002    ``/api/dostk/ordr``     modify (``orig_ord_no``, ``mdfy_qty``, ``mdfy_uv``)
kt10003    ``/api/dostk/ordr``     cancel (``orig_ord_no``, ``cncl_qty`` "0" = all that is left)
ka10075    ``/api/dostk/acnt``     unfilled orders (list ``oso``)
ka10076    ``/api/dostk/acnt``     today's executed orders (list ``cntr``), for reconciliation
kt00018    ``/api/dostk/acnt``     balance: holdings (list ``acnt_evlt_remn_indv_tot``)
kt00001    ``/api/dostk/acnt``     deposit: cash available for orders (``ord_alow_amt``)
=========  ======================  =====================================================

Every request carries ``api-id``, ``authorization: Bearer …`` and ``content-type``; list queries
follow the ``cont-yn``/``next-key`` paging headers (bounded by ``max_pages``). Requests are paced
(``LASPS_KIWOOM_RPS``; by default the host's documented limit: mock 1/s, real 5/s).

**Every answer is classified by its body, whatever the HTTP status** (:func:`classify`): the live host
answers an invalid or expired token with HTTP 200, ``return_code`` 3 and ``"[8005:Token이 유효하지
않습니다]"``, and throttling with HTTP 200, ``return_code`` 5 and ``"[1700:허용된 요청 개수를 초과…]"``.
The bracketed code decides first (8005/8103 token, 1700 rate limit; any other bracketed code — e.g.
1634, a batch limit that also comes with ``return_code`` 5 — is a refusal), then ``return_code`` (3
token, 5 rate limit), then a 5xx status (server error: the request may have been processed), then any
other non-zero ``return_code`` (refusal), then the HTTP status (401 token, 429 rate limit). A token
answer refreshes the token once and retries; a rate-limit answer waits (``Retry-After`` if given, else
a backoff; capped) and retries a bounded number of times — safe for orders too, since such a request
was not processed.

Order numbers: order answers carry 5 digits (``"00024"``), lists 7 (``"0000024"``); the adapter writes
every ``ord_no`` it reports in the 7-digit list form and sends ``orig_ord_no`` in that form
(:mod:`lasps.broker.order_numbers`).

What an order send can end in:

* ``return_code == 0`` → ACKNOWLEDGED with the broker's ``ord_no``;
* a refusal, a 4xx, no connection, a token failure, or throttling beyond the retries →
  :class:`OrderRejected` (certainly not placed);
* a read timeout, a dropped connection after sending, a 5xx → :class:`BrokerUncertain` (the order may
  exist): the journal marks it UNKNOWN and reconciliation looks for it. It is never re-sent.

Secrets (app key, secret key, account, access token) never reach logs or error texts; plain ``http://``
is refused except for loopback hosts.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

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
from lasps.broker.clock import Clock
from lasps.broker.order_numbers import kiwoom_order_no, same_order_no
from lasps.broker.ratelimit import RateLimiter
from lasps.broker.redact import get_logger, redact, register_secrets
from lasps.broker.settings import BrokerSettings, check_rps, default_rps, is_loopback, is_real_host
from lasps.errors import ConfigError
from lasps.krx.calendar import KST

log = get_logger(__name__)

TOKEN_PATH = "/oauth2/token"
ORDER_PATH = "/api/dostk/ordr"
ACCOUNT_PATH = "/api/dostk/acnt"
#: ``return_code`` of a token failure ("[8005:Token이 유효하지 않습니다]") and of throttling ("[1700:…]").
RC_TOKEN = 3
RC_RATE_LIMIT = 5
#: Bracketed codes in ``return_msg`` that mean "token expired or invalid": refresh once and retry.
#: (1513 — "authorization 필드가 설정되어 있어야 합니다" — is an input error, not a token error.)
TOKEN_ERROR_CODES = frozenset({8005, 8103})
#: Bracketed codes that mean "too many requests": wait and retry.
RATE_LIMIT_CODES = frozenset({1700})
#: Backoff (seconds) after a rate-limit answer without ``Retry-After``: ``base × attempt``.
RATE_LIMIT_BACKOFF_S = 1.0
TRDE_LIMIT = "0"
TRDE_MARKET = "3"
_BRACKETED = re.compile(r"\[\s*(\d{3,5})\s*[:\]]")
#: Prefixes of holding codes in kt00018/ka10076: A (stocks, ETFs), J (ELW), Q (ETN).
_CODE_PREFIXES = ("A", "J", "Q")


class Answer(enum.Enum):
    """What a Kiwoom answer means for the caller (see :func:`classify`)."""

    OK = "ok"
    TOKEN = "token"
    RATE_LIMIT = "rate limit"
    REFUSED = "refused"
    SERVER_ERROR = "server error"


def _num(v: Any) -> float:
    """Kiwoom numbers are strings with signs and zero padding (``"+000070000"``, ``"-50800"``)."""
    if v is None:
        return 0.0
    if isinstance(v, int | float):
        return float(v)
    s = str(v).strip().replace(",", "")
    if not s:
        return 0.0
    try:
        return float(s)
    except ValueError:
        return 0.0


def bracketed_code(message: object) -> int | None:
    """The code in ``"…[8005:Token이 유효하지 않습니다]"`` or ``"…[1634]"``, or None."""
    m = _BRACKETED.search(str(message or ""))
    return int(m.group(1)) if m else None


def classify(status: int, data: dict[str, Any]) -> Answer:
    """Classify one answer by its body first, whatever the HTTP status (module docstring).

    ``status``: the HTTP status; ``data``: the JSON body (``{}`` if none).
    """
    code = bracketed_code(data.get("return_msg"))
    rc = int(_num(data.get("return_code"))) if "return_code" in data else None
    for c in (code, rc):
        if c in TOKEN_ERROR_CODES:
            return Answer.TOKEN
        if c in RATE_LIMIT_CODES:
            return Answer.RATE_LIMIT
    if code is None and rc == RC_TOKEN:
        return Answer.TOKEN
    if code is None and rc == RC_RATE_LIMIT:
        return Answer.RATE_LIMIT
    if status >= 500:  # the request may have been processed: never a plain refusal
        return Answer.SERVER_ERROR
    if rc not in (None, 0):
        return Answer.REFUSED
    if status == 401:
        return Answer.TOKEN
    if status == 429:
        return Answer.RATE_LIMIT
    if status != 200:
        return Answer.REFUSED
    return Answer.OK


def _code(v: Any) -> str:
    """``"A005930"`` / ``"J…"`` (ELW) / ``"Q…"`` (ETN) / ``"005930_NX"`` → the 6-character short code."""
    s = str(v or "").strip().split("_")[0]
    if len(s) == 7 and s[0] in _CODE_PREFIXES:
        s = s[1:]
    return s


def _side(row: dict[str, Any]) -> Side:
    text = str(row.get("io_tp_nm") or row.get("sell_tp") or "")
    if "매도" in text:
        return Side.SELL
    if "매수" in text:
        return Side.BUY
    raise BrokerError(f"cannot tell the side of Kiwoom order {row.get('ord_no')!r} from {text!r}")


def _retry_after(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return default


def _avg_fill_price(row: dict[str, Any], filled: int) -> float | None:
    """``cntr_tot_amt / cntr_qty`` (체결누계금액 / 체결량: the exact average); ``cntr_pric`` (the last fill's
    price) only when the total is absent."""
    if filled <= 0:
        return None
    total = abs(_num(row.get("cntr_tot_amt")))
    if total > 0:
        return total / filled
    px = abs(_num(row.get("cntr_pric")))
    return px if px > 0 else None


class KiwoomRestBroker:
    """The Kiwoom REST API as a :class:`~lasps.broker.base.Broker`.

    Parameters
    ----------
    appkey, secretkey, account:
        Credentials (``LASPS_KIWOOM_APPKEY``/``SECRETKEY``/``ACCOUNT``). The account is shown masked only.
    host:
        Base URL; ``https://`` required except for loopback test servers.
    timeout:
        Seconds per request.
    rps:
        Requests per second (client-side pacing); default the host's documented limit (mock 1, real 5,
        others 5); values above the limit are refused.
    max_retries:
        Retries after throttling / transient query failures (a token failure is retried once).
    max_pages:
        Upper bound of ``cont-yn`` pages per list query.
    max_retry_after:
        Cap (seconds) on a server's ``Retry-After``.
    transport, sleep, monotonic, now:
        Injectable for tests (``now``: the wall clock, for token expiry).
    clock:
        The trading clock (``LASPS_CLOCK`` with the mock host or a test server): dates the broker's
        ``HHMMSS`` order times and the orders it acknowledges. Default: ``now``.
    """

    name = "kiwoom-rest"

    def __init__(self, appkey: str, secretkey: str, account: str, host: str, *, timeout: float = 10.0,
                 rps: float | None = None, max_retries: int = 3, max_pages: int = 20, max_retry_after: float = 30.0,
                 exchange: str = "KRX", transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 now: Callable[[], dt.datetime] | None = None, clock: Clock | None = None) -> None:
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"LASPS_KIWOOM_HOST {host!r} is not an http(s) URL", where="LASPS_KIWOOM_HOST",
                              fix="e.g. https://mockapi.kiwoom.com")
        if parts.scheme == "http" and not is_loopback(host):
            raise ConfigError(f"refusing plain http to {parts.hostname}: credentials would travel unencrypted",
                              where="LASPS_KIWOOM_HOST", fix="use https (http only for 127.0.0.1 test servers)")
        if not appkey or not secretkey:
            raise ConfigError("Kiwoom app key and secret key are required", where="LASPS_KIWOOM_APPKEY/SECRETKEY",
                              fix="set them in the environment or a chmod-600 secrets file")
        rate = default_rps(host) if rps is None else float(rps)
        try:
            check_rps(host, rate)
        except ValueError as exc:
            raise ConfigError(str(exc), where="LASPS_KIWOOM_RPS", fix="leave it unset to follow the host") from None
        register_secrets([appkey, secretkey, account])
        self.host = host.rstrip("/")
        self.live = is_real_host(host)
        self.exchange = exchange
        self._appkey = appkey
        self._secretkey = secretkey
        self._account = account
        self.max_retries = int(max_retries)
        self.max_pages = int(max_pages)
        self.max_retry_after = float(max_retry_after)
        self._sleep = sleep
        self._now = now or (lambda: dt.datetime.now(KST))
        self._trading_now = clock.now if clock is not None else self._now
        self.rps = rate
        self.limiter = RateLimiter.per_second(rate, monotonic=monotonic, sleep=sleep)
        self._token: str | None = None
        self._token_expires: dt.datetime | None = None
        self._token_lock = threading.Lock()
        self.client = httpx.Client(base_url=self.host, timeout=timeout, transport=transport,
                                   trust_env=not is_loopback(host), follow_redirects=False)

    @classmethod
    def from_settings(cls, settings: BrokerSettings, **kw: Any) -> KiwoomRestBroker:
        appkey, secretkey, account = settings.require_kiwoom()
        return cls(appkey, secretkey, account, settings.kiwoom_host, timeout=settings.kiwoom_timeout_s,
                   rps=settings.kiwoom_pacing, **kw)

    def __repr__(self) -> str:
        return f"KiwoomRestBroker(host={self.host!r})"

    def close(self) -> None:
        self.client.close()

    # -- token -----------------------------------------------------------------------------------
    def token(self, *, force: bool = False) -> str:
        """The access token (au10001), reused until shortly before ``expires_dt`` (a tenth of its lifetime,
        at most one minute)."""
        with self._token_lock:
            now = self._now()
            if not force and self._token and self._token_expires is not None and now < self._token_expires:
                return self._token
            where = f"{self.host}{TOKEN_PATH}"
            for attempt in range(1, self.max_retries + 2):
                self.limiter.acquire()
                try:
                    resp = self.client.post(TOKEN_PATH, json={"grant_type": "client_credentials",
                                                              "appkey": self._appkey, "secretkey": self._secretkey},
                                            headers={"content-type": "application/json;charset=UTF-8",
                                                     "api-id": "au10001"})
                except httpx.HTTPError as exc:
                    raise BrokerError(redact(f"Kiwoom token request failed: {type(exc).__name__}: {exc}"),
                                      where=where) from None
                data = self._json(resp)
                answer = classify(resp.status_code, data)
                if answer is Answer.RATE_LIMIT and attempt <= self.max_retries:
                    self._back_off(resp, attempt, "au10001")
                    continue
                break
            if answer is not Answer.OK or not data.get("token"):
                raise BrokerError(redact(f"Kiwoom refused the token request (HTTP {resp.status_code}, return_code "
                                         f"{data.get('return_code', '')}): {data.get('return_msg', '')}"),
                                  where=where, fix="check LASPS_KIWOOM_APPKEY/SECRETKEY and that they belong to "
                                                   "this host (real and mock keys differ)")
            self._token = str(data["token"])
            register_secrets([self._token])
            expires = str(data.get("expires_dt") or "")
            try:
                until = dt.datetime.strptime(expires, "%Y%m%d%H%M%S").replace(tzinfo=KST)
            except ValueError:
                until = now + dt.timedelta(hours=1)
            margin = min(dt.timedelta(seconds=60), max(until - now, dt.timedelta(0)) / 10)
            self._token_expires = until - margin
            log.info("Kiwoom token issued, valid until %s", until.isoformat())
            return self._token

    def _back_off(self, resp: httpx.Response, attempt: int, api_id: str) -> None:
        """Wait after a rate-limit answer: ``Retry-After`` if given, else ``RATE_LIMIT_BACKOFF_S × attempt``."""
        wait = min(_retry_after(resp.headers.get("retry-after"), RATE_LIMIT_BACKOFF_S * attempt),
                   self.max_retry_after)
        log.warning("Kiwoom rate limit on %s (HTTP %d); waiting %.1f s", api_id, resp.status_code, wait)
        self.limiter.penalise(wait)

    # -- transport -------------------------------------------------------------------------------
    @staticmethod
    def _json(resp: httpx.Response) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def call(self, api_id: str, path: str, body: dict[str, Any], *, order: bool = False, cont_yn: str = "N",
             next_key: str = "") -> tuple[dict[str, Any], httpx.Headers]:
        """POST ``body`` to ``path`` as ``api_id``; returns ``(json, response headers)``.

        ``order=True`` applies the order semantics of the module docstring (no retry after a request
        that may have been processed).
        """
        refreshed = False
        attempts = 0
        where = f"{api_id} {path}"
        while True:
            attempts += 1
            try:
                tok = self.token(force=False)
            except BrokerError as exc:
                if order:
                    raise OrderRejected(exc.what, where=exc.where, fix=exc.fix) from None
                raise
            self.limiter.acquire()
            headers = {"content-type": "application/json;charset=UTF-8", "authorization": f"Bearer {tok}",
                       "api-id": api_id, "cont-yn": cont_yn, "next-key": next_key}
            try:
                resp = self.client.post(path, json=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                msg = redact(f"cannot connect to Kiwoom ({api_id}): {type(exc).__name__}")
                if order:
                    raise OrderRejected(msg + "; the order was not sent", where=where) from None
                if attempts <= self.max_retries:
                    self._sleep(min(0.5 * attempts, 2.0))
                    continue
                raise BrokerError(msg, where=where) from None
            except httpx.HTTPError as exc:  # read/write timeouts, dropped connections
                msg = redact(f"no answer from Kiwoom ({api_id}): {type(exc).__name__}")
                if order:
                    raise BrokerUncertain(msg + "; the order may or may not have been placed", where=where) from None
                if attempts <= self.max_retries:
                    self._sleep(min(0.5 * attempts, 2.0))
                    continue
                raise BrokerError(msg, where=where) from None
            log.debug("Kiwoom %s -> HTTP %d", api_id, resp.status_code)
            data = self._json(resp)
            answer = classify(resp.status_code, data)
            if answer is Answer.OK:
                return data, resp.headers
            detail = redact(f"HTTP {resp.status_code}, return_code {data.get('return_code', '')}: "
                            f"{data.get('return_msg', '')}".rstrip(": "))
            if answer is Answer.TOKEN and not refreshed:
                refreshed = True
                self._token = None
                log.info("Kiwoom token rejected on %s; refreshing", api_id)
                continue
            if answer is Answer.RATE_LIMIT:
                if attempts > self.max_retries:
                    msg = f"Kiwoom kept throttling {api_id} (rate limited; {detail})"
                    fix = "retry later or lower LASPS_KIWOOM_RPS"
                    if order:
                        raise OrderRejected(msg + "; the order was not placed", where=where, fix=fix)
                    raise BrokerError(msg, where=where, fix=fix)
                self._back_off(resp, attempts, api_id)
                continue
            if answer is Answer.SERVER_ERROR:
                msg = f"Kiwoom server error on {api_id} ({detail})"
                if order:
                    raise BrokerUncertain(msg + "; the order may or may not have been placed", where=where)
                if attempts <= self.max_retries:
                    self._sleep(min(0.5 * attempts, 2.0))
                    continue
                raise BrokerError(msg, where=where)
            msg = f"Kiwoom refused {api_id} ({detail})"
            if answer is Answer.TOKEN:
                msg = f"Kiwoom rejected the access token twice on {api_id} ({detail})"
            if order:
                raise OrderRejected(msg, where=where)
            raise BrokerError(msg, where=where)

    def paged(self, api_id: str, path: str, body: dict[str, Any], list_key: str) -> list[dict[str, Any]]:
        """All rows of ``list_key`` across ``cont-yn``/``next-key`` pages (at most ``max_pages``)."""
        rows: list[dict[str, Any]] = []
        cont, key = "N", ""
        for _ in range(self.max_pages):
            data, headers = self.call(api_id, path, body, cont_yn=cont, next_key=key)
            page = data.get(list_key) or []
            rows.extend(r for r in page if isinstance(r, dict))
            if headers.get("cont-yn", "N").upper() == "Y" and headers.get("next-key"):
                cont, key = "Y", headers["next-key"]
                continue
            return rows
        raise BrokerError(f"Kiwoom {api_id} returned more than {self.max_pages} pages", where=api_id)

    # -- orders ----------------------------------------------------------------------------------
    def _order_body(self, code: str, qty: int, price: float | None) -> dict[str, str]:
        return {"dmst_stex_tp": self.exchange, "stk_cd": code, "ord_qty": str(int(qty)),
                "ord_uv": "" if price is None else str(round(price)),
                "trde_tp": TRDE_MARKET if price is None else TRDE_LIMIT, "cond_uv": ""}

    def _send(self, api_id: str, side: Side, code: str, qty: int, price: float | None,
              client_order_id: str | None) -> Order:
        data, _ = self.call(api_id, ORDER_PATH, self._order_body(code, qty, price), order=True)
        ord_no = kiwoom_order_no(data.get("ord_no"))
        if not ord_no:
            raise BrokerUncertain(f"Kiwoom accepted {api_id} but returned no ord_no", where=api_id)
        now = self._trading_now()
        return Order(code=code, side=side, qty=int(qty), price=price, state=OrderState.ACKNOWLEDGED, broker=self.name,
                     client_order_id=client_order_id, broker_order_id=ord_no, created_at=now, updated_at=now,
                     reason=str(data.get("return_msg") or "") or None)

    def buy(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None) -> Order:
        """kt10000: buy ``qty`` of ``code`` at ``price`` (limit) or at market (``None``). One request."""
        return self._send("kt10000", Side.BUY, code, qty, price, client_order_id)

    def sell(self, code: str, qty: int, price: float | None = None, *, client_order_id: str | None = None) -> Order:
        """kt10001: sell. One request."""
        return self._send("kt10001", Side.SELL, code, qty, price, client_order_id)

    def _find_open(self, order_id: str) -> Order:
        for o in self.open_orders():
            if same_order_no(o.broker_order_id, order_id):
                return o
        raise OrderNotFound(f"Kiwoom has no unfilled order {order_id}", where="order id",
                            fix="`lasps order list` shows the open orders")

    def modify(self, order_id: str, qty: int, price: float, *, known: Order | None = None) -> Order:
        """kt10002: move ``qty`` shares of the unfilled order ``order_id`` to the limit ``price``.

        Returns the new order (Kiwoom numbers it anew; ``orig_ord_no`` is sent in the 7-digit form).
        ``known``: the order as the journal knows it (its code) — then the unfilled orders are not
        listed first (one request instead of one per ka10075 page plus one).
        """
        o = known if known is not None else self._find_open(order_id)
        orig = kiwoom_order_no(order_id)
        body = {"dmst_stex_tp": self.exchange, "orig_ord_no": orig, "stk_cd": o.code, "mdfy_qty": str(int(qty)),
                "mdfy_uv": str(round(price)), "mdfy_cond_uv": ""}
        data, _ = self.call("kt10002", ORDER_PATH, body, order=True)
        new_no = kiwoom_order_no(data.get("ord_no"))
        if not new_no:
            raise BrokerUncertain("Kiwoom accepted kt10002 but returned no ord_no", where="kt10002")
        now = self._trading_now()
        return Order(code=o.code, side=o.side, qty=int(qty), price=float(price), state=OrderState.ACKNOWLEDGED,
                     broker=self.name, broker_order_id=new_no, created_at=now, updated_at=now,
                     reason=f"modified from Kiwoom order {orig}")

    def cancel(self, order_id: str, *, known: Order | None = None) -> Order:
        """kt10003: cancel all that is left of ``order_id`` (``cncl_qty`` "0").

        ``known``: the order as the journal knows it — then it is cancelled with one request, without
        listing the unfilled orders (ka10075) first.
        """
        o = known if known is not None else self._find_open(order_id)
        orig = kiwoom_order_no(order_id)
        body = {"dmst_stex_tp": self.exchange, "orig_ord_no": orig, "stk_cd": o.code, "cncl_qty": "0"}
        try:
            data, _ = self.call("kt10003", ORDER_PATH, body, order=True)
        except OrderRejected as exc:
            raise BrokerError(f"Kiwoom refused to cancel {orig}: {exc.what}", where="kt10003") from None
        return o.with_(state=OrderState.CANCELLED, broker_order_id=orig, updated_at=self._trading_now(),
                       reason=f"cancelled (Kiwoom cancel order {kiwoom_order_no(data.get('ord_no'))})")

    # -- queries ---------------------------------------------------------------------------------
    def _time_today(self, hhmmss: Any) -> dt.datetime | None:
        s = str(hhmmss or "").strip()
        if len(s) < 6 or not s[:6].isdigit():
            return None
        today = self._trading_now().astimezone(KST).date()
        try:
            return dt.datetime(today.year, today.month, today.day, int(s[:2]), int(s[2:4]), int(s[4:6]), tzinfo=KST)
        except ValueError:
            return None

    def _row_order(self, row: dict[str, Any], *, open_view: bool) -> Order:
        qty = int(_num(row.get("ord_qty")))
        filled = int(_num(row.get("cntr_qty")))
        left = int(_num(row.get("oso_qty"))) if "oso_qty" in row else qty - filled
        px = abs(_num(row.get("ord_pric") or row.get("ord_uv")))
        status = str(row.get("ord_stt", ""))
        reason = None
        if "거부" in status:  # rejected by the exchange or the broker
            state = OrderState.REJECTED
            reason = f"rejected by Kiwoom ({status.strip()})"
        elif open_view:
            state = OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.ACKNOWLEDGED
        elif filled >= qty > 0:
            state = OrderState.FILLED
        elif left > 0 and "취소" not in status:
            state = OrderState.PARTIALLY_FILLED if filled else OrderState.ACKNOWLEDGED
        else:
            state = OrderState.CANCELLED
        t = self._time_today(row.get("tm") or row.get("ord_tm") or row.get("cntr_tm"))
        return Order(code=_code(row.get("stk_cd")), side=_side(row), qty=qty, price=px if px > 0 else None,
                     state=state, broker=self.name, broker_order_id=kiwoom_order_no(row.get("ord_no")),
                     filled_qty=filled, avg_fill_price=_avg_fill_price(row, filled), reason=reason,
                     created_at=t, updated_at=t)

    def _unfilled(self) -> list[Order]:
        """ka10075 rows (one request per page): open orders and rows marked 거부 (rejected)."""
        rows = self.paged("ka10075", ACCOUNT_PATH, {"all_stk_tp": "0", "trde_tp": "0", "stk_cd": "", "stex_tp": "0"},
                          "oso")
        return [self._row_order(r, open_view=True) for r in rows
                if int(_num(r.get("oso_qty"))) > 0 or "거부" in str(r.get("ord_stt", ""))]

    def open_orders(self) -> list[Order]:
        """ka10075: unfilled (and partially filled) orders; rejected rows are left out. One request per page."""
        return [o for o in self._unfilled() if o.state.open]

    def executions(self) -> list[Order]:
        """ka10076: today's orders with executions (cumulative quantity; average from ``cntr_tot_amt``)."""
        rows = self.paged("ka10076", ACCOUNT_PATH,
                          {"stk_cd": "", "qry_tp": "0", "sell_tp": "0", "ord_no": "", "stex_tp": "0"}, "cntr")
        return [self._row_order(r, open_view=False) for r in rows]

    def recent_orders(self) -> list[Order]:
        """Today's orders: executed (ka10076), then unfilled and rejected (ka10075), by order number.
        Requests: one per page of each list (two at least)."""
        seen: dict[str, Order] = {}
        for o in self.executions():
            seen[o.broker_order_id or ""] = o
        for o in self._unfilled():
            seen[o.broker_order_id or ""] = o
        return list(seen.values())

    def positions(self) -> list[Position]:
        """kt00018: holdings (``rmnd_qty`` shares at ``pur_pric``)."""
        rows = self.paged("kt00018", ACCOUNT_PATH, {"qry_tp": "1", "dmst_stex_tp": self.exchange},
                          "acnt_evlt_remn_indv_tot")
        out = []
        for r in rows:
            q = int(_num(r.get("rmnd_qty")))
            if q > 0:
                out.append(Position(_code(r.get("stk_cd")), q, abs(_num(r.get("pur_pric"))),
                                    abs(_num(r.get("cur_prc"))) or None))
        return out

    def cash(self) -> float:
        """kt00001: cash available for orders (``ord_alow_amt``; ``entr`` if absent)."""
        data, _ = self.call("kt00001", ACCOUNT_PATH, {"qry_tp": "3"})
        return _num(data.get("ord_alow_amt") if data.get("ord_alow_amt") not in (None, "") else data.get("entr"))


__all__ = ["TOKEN_ERROR_CODES", "KiwoomRestBroker"]
