"""Fixtures for the broker tests: clocks, stored prices, journals, the fake Kiwoom server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .clocks import ManualClock
from .fake_kiwoom import FakeKiwoom
from .helpers import TODAY, kst, write_store

_KIWOOM_ENV = ("LASPS_KIWOOM_APPKEY", "LASPS_KIWOOM_SECRETKEY", "LASPS_KIWOOM_ACCOUNT", "LASPS_KIWOOM_HOST",
               "LASPS_CLOCK", "LASPS_BROKER", "LASPS_API_TOKEN", "LASPS_SECRETS_FILE",
               "LASPS_MAX_ORDER_VALUE", "LASPS_CONFIRM_SECONDS", "LASPS_PAPER_CASH", "LASPS_KIWOOM_RPS",
               "LASPS_KIWOOM_TIMEOUT_S")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in _KIWOOM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./lasps.toml


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(kst(TODAY, 10, 0))


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("store"))


@pytest.fixture
def fake() -> Iterator[FakeKiwoom]:
    server = FakeKiwoom().start()
    try:
        yield server
    finally:
        server.stop()
