"""``lasps order …`` through the CLI with the paper broker and a fixed clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lasps.broker.base import OrderState
from lasps.broker.journal import Journal
from lasps.cli import order_cmd

from .helpers import copy_store

runner = CliRunner()


def run(home: Path, *args: str, clock: str = "2026-02-25T10:00:00+09:00", **env: str) -> tuple[int, str]:
    res = runner.invoke(order_cmd.app, list(args), env={"LASPS_HOME": str(home), "LASPS_CLOCK": clock,
                                                      "COLUMNS": "220", **env})
    return res.exit_code, res.output


@pytest.fixture
def home(tmp_path: Path, store_template: Path) -> Path:
    return copy_store(store_template, tmp_path / "home")


def test_order_round_trip(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(order_cmd, "_sleep", slept.append)
    code, out = run(home, "buy", "005380", "10", "250,000", "--client-id", "cli-1")
    assert code == 0, out
    assert "sending in 3 s" in out and slept == [1.0, 1.0, 1.0] and "ACKNOWLEDGED" in out
    code, out = run(home, "buy", "005930", "5", "--market", "--yes", "--client-id", "cli-2")
    assert code == 0 and "ACKNOWLEDGED" in out and len(slept) == 3
    code, out = run(home, "list")
    assert code == 0 and "cli-1" in out and "cli-2" in out and "market" in out
    code, out = run(home, "cancel", "cli-2")
    assert code == 0 and "CANCELLED" in out
    code, out = run(home, "positions")
    assert code == 0 and "cash: 100,000,000 KRW" in out
    code, out = run(home, "cancel-all", "--at-close")
    assert code == 0 and "before 15:20: nothing cancelled" in out
    code, out = run(home, "watch", clock="2026-02-25T15:20:00+09:00")
    assert code == 0 and "cancelling every unfilled order" in out
    code, out = run(home, "reconcile")
    assert code == 0 and "checked" in out
    with Journal.for_home(home) as j:
        assert j.get("cli-1").state is OrderState.ACKNOWLEDGED  # type: ignore[union-attr]
        assert j.get("cli-2").state is OrderState.CANCELLED  # type: ignore[union-attr]
        assert any(e["event"] == "cancel requested" for e in j.audit_log("cli-1"))


@pytest.mark.parametrize(("args", "fragment"), [
    (("buy", "005380", "10", "250100", "--yes"), "not on the tick"),
    (("buy", "005380", "1.5", "250000", "--yes"), "not a whole number"),
    (("buy", "--yes", "--", "005380", "-3", "250000"), "must be > 0"),
    (("sell", "005380", "10", "--yes"), "no price given"),
    (("buy", "005380", "10", "250000", "--market", "--yes"), "not both"),
    (("buy", "005380", "10", "abc", "--yes"), "not a number"),
    (("buy", "ABC", "10", "250000", "--yes"), "invalid stock code"),
    (("buy", "005380", "10", "250000", "--yes", "--broker", "nyse"), "unknown broker"),
    (("buy", "005380", "10", "250000", "--yes", "--broker", "kiwoom-ocx"), "LASPS_CLOCK is set"),
    (("buy", "005380", "10", "250000", "--yes", "--broker", "kiwoom-rest"), "LASPS_CLOCK is set"),
])
def test_bad_input_exits_2(home: Path, args: tuple[str, ...], fragment: str) -> None:
    code, out = run(home, *args)
    assert code == 2 and fragment in " ".join(out.split()), out


def test_market_closed_and_missing_kiwoom_keys(home: Path) -> None:
    code, out = run(home, "buy", "005380", "10", "250000", "--yes", clock="2026-02-28T10:00:00+09:00")
    assert code == 2 and "not a KRX trading day" in out
    code, out = run(home, "list", "--broker", "kiwoom-rest", LASPS_KIWOOM_HOST="https://mockapi.kiwoom.com")
    assert code == 2 and "LASPS_KIWOOM_APPKEY" in out


@pytest.mark.parametrize("cmd", ["buy", "sell", "list", "cancel", "modify", "cancel-all", "positions", "watch",
                                 "reconcile"])
def test_help(cmd: str) -> None:
    res = runner.invoke(order_cmd.app, [cmd, "--help"])
    assert res.exit_code == 0 and "Usage" in res.output


def test_modify_of_a_paper_order_exits_2(home: Path) -> None:
    code, out = run(home, "buy", "005380", "10", "250000", "--yes", "--client-id", "pm")
    assert code == 0, out
    code, out = run(home, "modify", "pm", "--price", "249500", "--yes")
    assert code == 2 and "cannot modify" in out
    code, out = run(home, "modify", "pm", "--price", "abc", "--yes")
    assert code == 2 and "not a number" in out
