"""A CLI process SIGKILLed between journal write and send (or right after the send) reconciles on
restart without a duplicate order — against the fake Kiwoom server."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from lasps.broker.base import OrderState
from lasps.broker.factory import open_manager
from lasps.broker.journal import Journal
from tests import crashpoints

from .fake_kiwoom import ACCOUNT, APPKEY, SECRETKEY, FakeKiwoom
from .helpers import copy_store

CLOCK = "2026-02-25T10:00:00+09:00"


def env_for(home: Path, fake: FakeKiwoom) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LASPS_")}
    env.update(LASPS_HOME=str(home), LASPS_BROKER="kiwoom-rest", LASPS_KIWOOM_HOST=fake.url,
               LASPS_KIWOOM_APPKEY=APPKEY, LASPS_KIWOOM_SECRETKEY=SECRETKEY, LASPS_KIWOOM_ACCOUNT=ACCOUNT,
               LASPS_CLOCK=CLOCK, LASPS_KIWOOM_TIMEOUT_S="5", COLUMNS="200")
    return env


def buy(env: dict[str, str], cid: str, crash: str) -> subprocess.CompletedProcess[str]:
    """``lasps order buy`` in a subprocess that SIGKILLs itself at ``crash`` (tests/crashpoints.py)."""
    cmd = crashpoints.command(crash, "lasps.cli.order_cmd", "buy", "005380", "3", "250000", "--yes",
                              "--client-id", cid)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("crash", ["after-journal", "after-send"])
def test_killed_process_reconciles_without_duplicate(tmp_path: Path, store_template: Path, fake: FakeKiwoom,
                                                     monkeypatch: pytest.MonkeyPatch, crash: str) -> None:
    home = copy_store(store_template, tmp_path / "home")
    cid = f"crash-{crash}"
    res = buy(env_for(home, fake), cid, crash)
    assert res.returncode == -signal.SIGKILL, res.stderr
    for secret in (APPKEY, SECRETKEY, ACCOUNT):
        assert secret not in res.stdout + res.stderr
    with Journal.for_home(home) as j:
        before = j.get(cid)
    assert before is not None
    sent = len(fake.order_calls())
    for k, v in env_for(home, fake).items():
        monkeypatch.setenv(k, v)
    if crash == "after-journal":
        assert before.state is OrderState.PENDING and sent == 0
        with open_manager() as desk:  # the restart reconciles on start
            after = desk.journal.get(cid)
            assert after is not None and after.state is OrderState.CANCELLED and "never sent" in (after.reason or "")
            again = desk.buy("005380", 3, 250_000.0, client_order_id=cid)  # a retry with the same id
            assert again.state is OrderState.CANCELLED
        assert fake.order_calls() == []
    else:
        assert before.state is OrderState.SENT and sent == 1
        with open_manager() as desk:  # the restart finds the order at the broker by code/side/qty/price/time
            after = desk.journal.get(cid)
            assert after is not None and after.state is OrderState.ACKNOWLEDGED
            assert after.broker_order_id == "0000002"
            again = desk.buy("005380", 3, 250_000.0, client_order_id=cid)  # a retry with the same id
            assert again.broker_order_id == "0000002"
            events = [e["event"] for e in desk.journal.audit_log(cid)]
        assert len(fake.order_calls()) == 1  # no duplicate
        assert events[:3] == ["journaled", "sending", "reconciled"] and "retry" in events
    assert fake.errors == []
