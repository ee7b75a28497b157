"""The Kiwoom REST adapter against a server that answers the way the live host does (issue 16):
errors in HTTP 200 bodies, 5-digit order numbers in order answers and 7-digit ones in lists, fills
averaged from ``cntr_tot_amt``, 거부 rows, J/Q holding prefixes, host pacing, cancel/modify through the
journal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lasps.broker.base import BrokerError, OrderRejected, OrderState, Side
from lasps.broker.guard import Guard
from lasps.broker.journal import Journal
from lasps.broker.kiwoom_rest import Answer, KiwoomRestBroker, bracketed_code, classify
from lasps.broker.manager import OrderManager
from lasps.broker.order_numbers import kiwoom_order_no, order_key, same_order_no
from lasps.broker.settings import get_broker_settings
from lasps.errors import ConfigError
from lasps.krx.calendar import KST

from .clocks import ManualClock
from .fake_kiwoom import ACCOUNT, APPKEY, SECRETKEY, FakeKiwoom
from .helpers import TODAY, kst, memory_prices


def rest(fake: FakeKiwoom, slept: list[float] | None = None, **kw: object) -> KiwoomRestBroker:
    sink = slept if slept is not None else []
    return KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, fake.url, timeout=2.0, rps=1000, sleep=sink.append,
                            **kw)  # type: ignore[arg-type]


def desk(tmp_path: Path, fake: FakeKiwoom, **kw: object) -> OrderManager:
    clock = ManualClock(kst(TODAY, 10))
    return OrderManager(rest(fake, clock=clock, **kw), Journal(tmp_path / "journal.sqlite"),
                        Guard(clock, memory_prices(), 1e8), clock=clock)


# -- classification ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "body", "expected"), [
    (200, {"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}, Answer.OK),
    (200, {"return_code": 3, "return_msg": "인증에 실패했습니다[8005:Token이 유효하지 않습니다]"}, Answer.TOKEN),
    (200, {"return_code": 3, "return_msg": "[8103:토큰 인증 또는 단말기인증에 실패했습니다]"}, Answer.TOKEN),
    (200, {"return_code": 3, "return_msg": "인증 실패"}, Answer.TOKEN),
    (200, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과]"},
     Answer.RATE_LIMIT),
    (200, {"return_code": "1700", "return_msg": "허용된 요청 개수를 초과하였습니다"}, Answer.RATE_LIMIT),
    (200, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과"}, Answer.RATE_LIMIT),
    # the same return_code 5 and wording, but a batch limit: retrying would never succeed
    (200, {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다[1634]"}, Answer.REFUSED),
    # 1513 ("authorization 필드가 설정되어 있어야 합니다") is an input error, not a token error
    (200, {"return_code": 2, "return_msg": "[1513:Http Header에 authorization 필드가 설정되어 있어야 합니다]"},
     Answer.REFUSED),
    (200, {"return_code": 20, "return_msg": "주문가능금액 부족"}, Answer.REFUSED),
    (401, {"return_code": 8005, "return_msg": "Token이 유효하지 않습니다"}, Answer.TOKEN),
    (401, {}, Answer.TOKEN),
    (429, {}, Answer.RATE_LIMIT),
    (500, {"return_code": 99, "return_msg": "internal error"}, Answer.SERVER_ERROR),
    (404, {}, Answer.REFUSED),
])
def test_answers_are_classified_by_the_body_whatever_the_status(status: int, body: dict[str, object],
                                                                 expected: Answer) -> None:
    assert classify(status, body) is expected


def test_bracketed_code() -> None:
    assert bracketed_code("인증에 실패했습니다[8005:Token이 유효하지 않습니다]") == 8005
    assert bracketed_code("허용된 요청 개수를 초과하였습니다[1634]") == 1634
    assert bracketed_code("허용된 요청 개수를 초과하였습니다[유량=5]") is None
    assert bracketed_code(None) is None


def test_token_error_in_a_200_body_refreshes_once_and_the_order_is_sent_once(fake: FakeKiwoom) -> None:
    b = rest(fake)
    b.cash()
    fake.expire_tokens()
    o = b.buy("005380", 1, 250_000.0)
    assert o.state is OrderState.ACKNOWLEDGED and len(fake.calls("au10001")) == 2
    assert len(fake.order_calls()) == 2 and len(fake.orders) == 1  # rejected by token, then placed once
    fake.inject("kt10000", "error", times=2, return_code=3, msg="[8005:Token이 유효하지 않습니다]")
    with pytest.raises(OrderRejected, match="token twice"):
        b.buy("005380", 1, 250_000.0)  # a second token failure right after a refresh is not retried again
    assert len(fake.orders) == 1


def test_batch_limit_with_return_code_5_is_not_retried(fake: FakeKiwoom) -> None:
    slept: list[float] = []
    b = rest(fake, slept)
    fake.inject("ka10075", "error", return_code=5, msg="허용된 요청 개수를 초과하였습니다[1634]")
    with pytest.raises(BrokerError, match="1634"):
        b.open_orders()
    assert len(fake.calls("ka10075")) == 1 and slept == []


def test_throttled_in_a_200_body_backs_off_and_retries(fake: FakeKiwoom) -> None:
    slept: list[float] = []
    b = rest(fake, slept)
    fake.inject("kt10000", "429")  # live mode: HTTP 200, return_code 5, "[1700:…]", no Retry-After
    assert b.buy("005380", 1, 250_000.0).state is OrderState.ACKNOWLEDGED
    assert slept == [1.0] and len(fake.calls("kt10000")) == 2 and len(fake.orders) == 1


# -- order numbers ----------------------------------------------------------------------------------
def test_order_number_keys() -> None:
    assert order_key("00024") == order_key("0000024") == order_key("24") == "24"
    assert order_key("0000000") == "0" and order_key(None) == "" and order_key(" P-7 ") == "P-7"
    assert same_order_no("00024", "0000024") and not same_order_no("", "") and not same_order_no("24", "240")
    assert kiwoom_order_no("00024") == "0000024" and kiwoom_order_no("0000024") == "0000024"


@pytest.mark.parametrize("width", [5, 7])
def test_reconcile_and_cancel_with_either_width(tmp_path: Path, fake: FakeKiwoom, width: int) -> None:
    fake.order_no_width = width
    d = desk(tmp_path, fake)
    o = d.buy("005380", 3, 250_000.0, client_order_id="w")
    assert o.broker_order_id == "0000002"  # the list form, whatever the answer's width
    rep = d.reconcile()
    assert rep.updated == [] and rep.foreign == []
    assert d.journal.get("w").state is OrderState.ACKNOWLEDGED  # type: ignore[union-attr]
    for typed in ("2", "00002", "0000002"):
        assert d.journal.find(typed, "kiwoom-rest").client_order_id == "w"  # type: ignore[union-attr]
    c = d.cancel("00002")
    assert c.state is OrderState.CANCELLED
    [cancel] = fake.calls("kt10003")
    assert cancel.body["orig_ord_no"] == "0000002" and cancel.body["stk_cd"] == "005380"
    assert fake.errors == []


def test_a_journal_holding_the_5_digit_form_still_reconciles_and_cancels(tmp_path: Path, fake: FakeKiwoom) -> None:
    d = desk(tmp_path, fake)
    d.buy("005380", 3, 250_000.0, client_order_id="old")
    d.journal.update("old", d.clock.now(), "written by an older version", broker_order_id="00002")
    d.reconcile()  # the list says "0000002": the same order, not cancelled at the broker
    j = d.journal.get("old")
    assert j is not None and j.state is OrderState.ACKNOWLEDGED and order_key(j.broker_order_id) == "2"
    assert d.cancel("old").state is OrderState.CANCELLED
    assert fake.calls("kt10003")[0].body["orig_ord_no"] == "0000002"


def test_cancel_of_a_journaled_order_does_not_list_the_unfilled_orders(tmp_path: Path, fake: FakeKiwoom) -> None:
    d = desk(tmp_path, fake)
    d.buy("005930", 1, 55_000.0, client_order_id="c")
    listed = len(fake.calls("ka10075"))
    d.cancel("c")
    assert len(fake.calls("ka10075")) == listed  # one kt10003, no ka10075 page
    assert len(fake.calls("kt10003")) == 1


# -- fills, 거부, prefixes -----------------------------------------------------------------------------
def test_two_partial_fills_average_from_cntr_tot_amt(tmp_path: Path, fake: FakeKiwoom) -> None:
    d = desk(tmp_path, fake)
    d.buy("005380", 5, 250_000.0, client_order_id="f")
    fake.fill("0000002", 2, 249_500)
    d.reconcile()
    j = d.journal.get("f")
    assert j is not None and j.state is OrderState.PARTIALLY_FILLED and j.avg_fill_price == 249_500.0
    fake.fill("0000002", 3, 249_000)  # cntr_pric now says 249,000 (the last fill)
    d.reconcile()
    j = d.journal.get("f")
    # (2 × 249,500 + 3 × 249,000) / 5 = 1,246,000 / 5 = 249,200
    assert j is not None and j.state is OrderState.FILLED and j.avg_fill_price == 249_200.0
    assert [(f["qty"], f["price"]) for f in d.journal.fills("f")] == [(2, 249_500.0), (3, 249_000.0)]


def test_rejected_rows_become_rejected_orders(tmp_path: Path, fake: FakeKiwoom) -> None:
    d = desk(tmp_path, fake)
    d.buy("005380", 1, 250_000.0, client_order_id="r")
    fake.reject("00002")
    assert d.broker.open_orders() == []
    d.reconcile()
    j = d.journal.get("r")
    assert j is not None and j.state is OrderState.REJECTED and "거부" in (j.reason or "")


def test_elw_and_etn_prefixes_are_stripped(fake: FakeKiwoom) -> None:
    fake.holdings = {"A005930": (1, 55_000), "J57AB12": (10, 150), "Q500001": (3, 10_000)}
    assert sorted(p.code for p in rest(fake).positions()) == ["005930", "500001", "57AB12"]


# -- pacing -----------------------------------------------------------------------------------------
def test_pacing_follows_the_host_and_settings_refuse_values_above_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    mock = KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, "https://mockapi.kiwoom.com")
    real = KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, "https://api.kiwoom.com")
    assert (mock.limiter.max_calls, mock.limiter.period) == (1, 1.0)
    assert (real.limiter.max_calls, real.limiter.period) == (5, 1.0)
    with pytest.raises(ConfigError, match="above the documented limit"):
        KiwoomRestBroker(APPKEY, SECRETKEY, ACCOUNT, "https://mockapi.kiwoom.com", rps=2)
    monkeypatch.setenv("LASPS_KIWOOM_HOST", "https://mockapi.kiwoom.com")
    assert get_broker_settings().kiwoom_pacing == 1.0
    monkeypatch.setenv("LASPS_KIWOOM_RPS", "0.5")
    assert get_broker_settings().kiwoom_pacing == 0.5
    monkeypatch.setenv("LASPS_KIWOOM_RPS", "4")
    with pytest.raises(ConfigError, match=r"above the documented limit of mockapi\.kiwoom\.com"):
        get_broker_settings()
    monkeypatch.setenv("LASPS_KIWOOM_HOST", "https://api.kiwoom.com")
    assert get_broker_settings().kiwoom_pacing == 4.0
    monkeypatch.setenv("LASPS_KIWOOM_RPS", "6")
    with pytest.raises(ConfigError, match=r"api\.kiwoom\.com"):
        get_broker_settings()


def test_token_reuse_margin_is_a_tenth_of_a_short_lifetime(fake: FakeKiwoom) -> None:
    fake.token_ttl = dt.timedelta(seconds=20)
    now = [dt.datetime.now(KST)]
    b = rest(fake, now=lambda: now[0])
    b.cash()
    now[0] += dt.timedelta(seconds=15)  # before 20 s − 2 s: reused
    b.cash()
    assert len(fake.calls("au10001")) == 1
    now[0] += dt.timedelta(seconds=4)
    b.cash()
    assert len(fake.calls("au10001")) == 2


# -- modify -----------------------------------------------------------------------------------------
def test_modify_goes_through_guard_and_journal(tmp_path: Path, fake: FakeKiwoom) -> None:
    d = desk(tmp_path, fake)
    d.buy("005380", 10, 250_000.0, client_order_id="m")
    with pytest.raises(OrderRejected, match="tick") as exc:
        d.modify("m", 250_250.0, client_order_id="m-bad")  # off the tick: refused, journaled, never sent
    assert exc.value.order is not None and exc.value.order.state is OrderState.REJECTED
    with pytest.raises(OrderRejected, match="only 10"):
        d.modify("m", 249_500.0, 11)
    assert fake.calls("kt10002") == []
    new = d.modify("00002", 249_500.0, client_order_id="m2")
    assert new.state is OrderState.ACKNOWLEDGED and new.broker_order_id == "0000003"
    assert (new.code, new.side, new.qty, new.price) == ("005380", Side.BUY, 10, 249_500.0)
    [call] = fake.calls("kt10002")
    assert call.body == {"dmst_stex_tp": "KRX", "orig_ord_no": "0000002", "stk_cd": "005380", "mdfy_qty": "10",
                         "mdfy_uv": "249500", "mdfy_cond_uv": ""}
    orig = d.journal.get("m")
    assert orig is not None and orig.state is OrderState.CANCELLED and "modified" in (orig.reason or "")
    assert [e["event"] for e in d.journal.audit_log("m2")][:3] == ["journaled", "sending", "acknowledged"]
    assert any(e["event"] == "modify requested" for e in d.journal.audit_log("m"))
    d.reconcile()
    assert d.journal.get("m2").state is OrderState.ACKNOWLEDGED  # type: ignore[union-attr]
    assert len(fake.calls("ka10075")) == 2  # the two reconciliations; modify itself listed nothing
    events = len(d.journal.audit_log())
    with pytest.raises(BrokerError, match="CANCELLED"):
        d.modify("m", 249_500.0)  # the original is settled: nothing to modify
    again = d.modify("m2", 249_000.0, client_order_id="m3")
    assert again.broker_order_id == "0000004" and len(fake.calls("kt10002")) == 2
    assert d.modify("m2", 249_000.0, client_order_id="m3") == d.journal.get("m3")  # a retry sends nothing more
    assert len(fake.calls("kt10002")) == 2 and len(d.journal.audit_log()) > events
    assert fake.errors == []


def test_modify_part_of_an_order_leaves_the_rest_open(tmp_path: Path, fake: FakeKiwoom) -> None:
    d = desk(tmp_path, fake)
    d.buy("005380", 10, 250_000.0, client_order_id="p")
    new = d.modify("p", 249_500.0, 4)
    assert new.qty == 4
    assert d.journal.get("p").state is OrderState.ACKNOWLEDGED  # type: ignore[union-attr]
    assert any(e["event"] == "partly modified" for e in d.journal.audit_log("p"))


def test_modify_of_a_paper_order_is_refused(tmp_path: Path) -> None:
    from lasps.broker.paper import PaperBroker

    clock = ManualClock(kst(TODAY, 10))
    prices = memory_prices()
    d = OrderManager(PaperBroker(tmp_path / "paper.sqlite", prices, clock), Journal(tmp_path / "j.sqlite"),
                     Guard(clock, prices, 1e8), clock=clock)
    d.buy("005380", 1, 250_000.0, client_order_id="x")
    with pytest.raises(ConfigError, match="cannot modify"):
        d.modify("x", 249_500.0)


def test_a_refused_cancel_of_an_order_filled_meanwhile_settles_the_journal(tmp_path: Path, fake: FakeKiwoom) -> None:
    d = desk(tmp_path, fake)
    d.buy("005380", 2, 250_000.0, client_order_id="late")
    fake.fill("0000002", 2, 250_000)  # filled before the cancel arrives
    with pytest.raises(BrokerError, match="refused to cancel"):
        d.cancel("late")
    j = d.journal.get("late")
    assert j is not None and j.state is OrderState.FILLED and j.avg_fill_price == 250_000.0
    assert any(e["event"] == "cancel failed" for e in d.journal.audit_log("late"))
