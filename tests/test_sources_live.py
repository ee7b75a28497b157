"""pykrx / FinanceDataReader as the live services behave (issue 16): login prints, unreachable KRX,
rejected logins, poisoned name caches, index calls without name lookups, empty charts, timeouts, version
floors."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import sys
import threading
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import requests

from lasps.data.bundle import MarketBundle
from lasps.data.sources.base import SourceError
from lasps.data.sources.net import active_timeout, guarded
from lasps.data.sources.pykrx_source import PykrxSource
from lasps.data.store import MarketStore
from test_fdr_source import FakeFdr
from test_fdr_source import make as make_fdr
from test_pykrx_source import DAY, SECRET_ID, SECRET_PW, FakeStock, make_source, settings

ROOT = Path(__file__).resolve().parents[1]


def test_version_floors_that_work_with_the_krx_login() -> None:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["optional-dependencies"]
    assert "pykrx>=1.2.5" in extra["sources"] and "finance-datareader>=0.9.110" in extra["sources"]


# -- pykrx login ------------------------------------------------------------------------------------
def _fake_pykrx(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An importable ``pykrx`` package whose import runs ``body`` (pykrx logs in on import)."""
    pkg = tmp_path / "fakepkgs" / "pykrx"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(body, "utf-8")
    monkeypatch.syspath_prepend(str(pkg.parent))
    for name in ("pykrx", "pykrx.stock"):
        monkeypatch.setitem(sys.modules, name, None)  # recorded, so the fake is removed afterwards
        monkeypatch.delitem(sys.modules, name)
    for name in ("KRX_ID", "KRX_PW"):  # _load_pykrx exports the login for pykrx: restore afterwards
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_pykrx_login_print_is_captured_and_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _fake_pykrx(tmp_path, "import os\nprint('KRX 로그인 ID:', os.environ['KRX_ID'])\nstock = object()\n",
                monkeypatch)
    src = PykrxSource(settings())
    out = capsys.readouterr()
    assert src.client is not None and SECRET_ID not in out.out + out.err


def test_unreachable_krx_at_login_is_a_source_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_pykrx(tmp_path, "import requests\nraise requests.ConnectionError("
                          "'HTTPSConnectionPool(host=data.krx.co.kr): Max retries exceeded')\n", monkeypatch)
    with pytest.raises(SourceError) as info:
        PykrxSource(settings())
    text = str(info.value)
    assert "could not log in to data.krx.co.kr" in text and "ConnectionError" in text
    assert info.value.where and "KRX_ID" in info.value.where and info.value.fix
    assert SECRET_ID not in text and SECRET_PW not in text


class RejectedLogin(FakeStock):
    """What pykrx does after a rejected login: KRX answers without its data block -> KeyError."""

    def get_market_ohlcv(self, date: str, market: str = "KOSPI") -> pd.DataFrame:
        self._hit("get_market_ohlcv", date, market)
        raise KeyError("OutBlock_1")


def test_rejected_login_is_named_not_a_bare_key_error() -> None:
    src, fake, sleeps = make_source(RejectedLogin())
    with pytest.raises(SourceError) as info:
        src.daily(DAY, DAY)
    text = str(info.value)
    assert "KeyError" in text and "wrong KRX_ID/KRX_PW" in text and info.value.fix
    assert SECRET_PW not in text and SECRET_ID not in text
    assert len([c for c in fake.calls if c[0] == "get_market_ohlcv"]) == 1  # not retried: retrying cannot help
    assert sleeps == []


def test_a_client_print_during_a_call_is_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    class Chatty(FakeStock):
        def get_market_ticker_list(self, date: str | None = None, market: str = "KOSPI") -> list[str]:
            print(f"login {SECRET_ID}")
            return super().get_market_ticker_list(date, market)

    src, _, _ = make_source(Chatty())
    src.stocks(DAY)
    assert SECRET_ID not in capsys.readouterr().out


# -- names and indices -------------------------------------------------------------------------------
def test_index_calls_skip_the_index_name_lookup() -> None:
    src, fake, _ = make_source()
    src.index("1001", DAY, DAY)
    assert fake.name_display is False  # type: ignore[attr-defined]


class PoisonedNames(FakeStock):
    """pykrx after a failed load of its ticker-name table: every name is the code."""

    def get_market_ticker_name(self, ticker: str) -> str:
        self._hit("get_market_ticker_name", ticker)
        return ticker


def _stocks_row(code: str, name: str, kind: str) -> pd.DataFrame:
    frame = pd.DataFrame({"code": [code], "name": [name], "market": ["KOSDAQ"], "kind": [kind],
                          "sector_code": [None], "sector_name": [None], "sector_id": pd.array([pd.NA], dtype="Int16"),
                          "listed_date": pd.Series([pd.NaT], dtype="datetime64[us]"),
                          "delisted_date": pd.Series([pd.NaT], dtype="datetime64[us]"), "price_basis": ["raw"]})
    for col in ("code", "name", "market", "kind", "sector_code", "sector_name", "price_basis"):
        frame[col] = frame[col].astype(object)
    return frame


def test_poisoned_names_never_overwrite_stored_names_or_kinds(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    src, _, _ = make_source(PoisonedNames())
    stocks = src.stocks(DAY).set_index("code")
    assert stocks.loc["005930", "name"] == "005930" and stocks.loc["005930", "kind"] == "other"
    assert "no verified name" in caplog.text and src.unverified_names >= {"005930", "900110"}
    with MarketStore(tmp_path) as store:
        spac = _stocks_row("442310", "엔에이치스팩29호", "spac")
        store.write_bundle(MarketBundle(source="t", stocks=spac), kind="init")
        store.write_bundle(MarketBundle(source="t", stocks=_stocks_row("442310", "442310", "other")), kind="load")
        store.write_bundle(MarketBundle(source="t", stocks=_stocks_row("900999", "900999", "other")), kind="load")
        rows = dict(store.con.execute("SELECT code, name || '/' || kind FROM stocks").fetchall())
    assert rows["442310"] == "엔에이치스팩29호/spac"  # the stored name and kind are kept
    assert rows["900999"] == "900999/other"  # a new code without a name: its code, never a "stock"


# -- FinanceDataReader -------------------------------------------------------------------------------
class NoChart(FakeFdr):
    def DataReader(self, symbol: str, start: object = None, end: object = None) -> pd.DataFrame:
        if symbol == "NAVER:035720":
            self.calls.append(("DataReader", symbol, start, end))
            return pd.DataFrame()  # what FinanceDataReader returns for a code without a chart
        return super().DataReader(symbol, start, end)


def test_fdr_code_without_a_chart_is_reported_and_the_run_continues(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    src, _, _ = make_fdr(NoChart())
    bundle = src.daily(dt.date(2024, 1, 2), dt.date(2024, 1, 5))
    assert set(bundle.prices["code"]) == {"005930", "293490"}
    assert "035720" in src.skipped and "empty table" in src.skipped["035720"]
    assert "035720" in caplog.text and "skipped" in caplog.text


# -- timeouts ----------------------------------------------------------------------------------------
def test_client_calls_run_with_a_timeout() -> None:
    seen: list[float | None] = []

    class Watching(FakeStock):
        def get_market_ticker_list(self, date: str | None = None, market: str = "KOSPI") -> list[str]:
            seen.append(active_timeout())
            return super().get_market_ticker_list(date, market)

    src, _, _ = make_source(Watching(), timeout_s=7.5)
    src.stocks(DAY)
    assert seen == [7.5, 7.5, 7.5] and active_timeout() is None


def test_a_silent_server_times_out_inside_a_guarded_call() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(srv.accept()[0]), daemon=True).start()
    url = f"http://127.0.0.1:{srv.getsockname()[1]}/"
    t0 = time.monotonic()
    try:
        with guarded(0.3), pytest.raises(requests.Timeout):
            requests.get(url)  # no timeout given, as pykrx and FinanceDataReader call it
    finally:
        srv.close()
        for conn in held:
            conn.close()
    assert time.monotonic() - t0 < 5.0
