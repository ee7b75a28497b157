"""Issue 16's done-when scenario: against a local server that answers the live way — errors in HTTP 200
bodies, 5-digit order numbers in order answers (7 in lists), tokens expiring after 2 s, every 2nd order
request throttled — ``lasps order buy`` → ``lasps order list`` → ``lasps order cancel`` through the CLI
sends exactly one kt10000 and one kt10003 with the right ``orig_ord_no`` and exits 0 each time."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from lasps.broker.base import OrderState
from lasps.broker.journal import Journal

from .fake_kiwoom import ACCOUNT, APPKEY, SECRETKEY, FakeKiwoom
from .helpers import copy_store


def lasps(home: Path, fake: FakeKiwoom, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LASPS_")}
    env.update(LASPS_HOME=str(home), LASPS_BROKER="kiwoom-rest", LASPS_KIWOOM_HOST=fake.url,
               LASPS_KIWOOM_APPKEY=APPKEY, LASPS_KIWOOM_SECRETKEY=SECRETKEY, LASPS_KIWOOM_ACCOUNT=ACCOUNT,
               LASPS_CLOCK="2026-02-25T10:00:00+09:00", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "lasps.cli.main", "order", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_buy_list_cancel_against_a_live_like_server(tmp_path: Path, store_template: Path, fake: FakeKiwoom) -> None:
    fake.mode = "live"
    fake.order_no_width = 5
    fake.token_ttl = dt.timedelta(seconds=2)
    fake.throttle_every = 2
    home = copy_store(store_template, tmp_path / "home")

    buy = lasps(home, fake, "buy", "005380", "3", "250000", "--yes", "--client-id", "live-1")
    assert buy.returncode == 0, buy.stdout + buy.stderr
    [no] = fake.orders  # the server keeps 7 digits; its kt10000 answer gave 5
    assert len(no) == 7 and len(fake.answer_no(no)) == 5
    assert "ACKNOWLEDGED" in buy.stdout and f"#{no}" in buy.stdout
    listed = lasps(home, fake, "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "live-1" in listed.stdout and "ACKNOWLEDGED" in listed.stdout and "CANCELLED" not in listed.stdout
    cancel = lasps(home, fake, "cancel", "live-1")
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    assert "CANCELLED" in cancel.stdout

    [placed] = fake.processed("kt10000")
    [cancelled] = fake.processed("kt10003")
    assert placed.body["stk_cd"] == "005380" and placed.body["ord_qty"] == "3"
    assert cancelled.body["orig_ord_no"] == no and cancelled.body["stk_cd"] == "005380"
    assert len(fake.calls("kt10000")) == 1  # order request 1: not throttled
    assert len(fake.calls("kt10003")) == 2  # order request 2 throttled (not processed), then carried out
    assert fake.calls("kt10001") == fake.calls("kt10002") == []
    assert not fake.orders[no].open
    with Journal.for_home(home) as j:
        o = j.get("live-1")
    assert o is not None and o.state is OrderState.CANCELLED and o.broker_order_id == no
    for res in (buy, listed, cancel):
        for secret in (APPKEY, SECRETKEY, ACCOUNT, *fake.tokens):
            assert secret not in res.stdout + res.stderr
    assert fake.errors == []


def test_order_modify_through_the_cli(tmp_path: Path, store_template: Path, fake: FakeKiwoom) -> None:
    home = copy_store(store_template, tmp_path / "home")
    assert lasps(home, fake, "buy", "005380", "10", "250000", "--yes", "--client-id", "m-1").returncode == 0
    [no] = fake.orders
    res = lasps(home, fake, "modify", no.lstrip("0"), "--price", "249,500", "--qty", "10", "--yes",
                "--client-id", "m-2")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ACKNOWLEDGED" in res.stdout and "249,500" in res.stdout
    [call] = fake.processed("kt10002")
    assert call.body["orig_ord_no"] == no and call.body["mdfy_uv"] == "249500" and call.body["mdfy_qty"] == "10"
    bad = lasps(home, fake, "modify", "m-2", "--price", "249,750", "--yes")
    assert bad.returncode == 2 and "tick" in bad.stdout + bad.stderr
    assert len(fake.calls("kt10002")) == 1
    with Journal.for_home(home) as j:
        assert j.get("m-1").state is OrderState.CANCELLED  # type: ignore[union-attr]
        assert j.get("m-2").state is OrderState.ACKNOWLEDGED  # type: ignore[union-attr]
