"""FinanceDataReader adapter against a fake client shaped like FDR's real outputs (no network)."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pandas as pd
import pytest

from lasps.config import Settings
from lasps.data.sources.base import SourceError
from lasps.data.sources.fdr_source import FdrSource
from lasps.data.sources.registry import get_source
from lasps.data.validate import validate_bundle
from lasps.errors import ConfigError, UnavailableError

START, END = dt.date(2024, 1, 3), dt.date(2024, 1, 5)
DATES = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], name="Date")


class FakeFdr:
    """``StockListing('KRX')`` and ``DataReader`` as FinanceDataReader returns them."""

    def __init__(self, fail_times: int = 0) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.fail_times = fail_times

    def StockListing(self, market: str) -> pd.DataFrame:
        self.calls.append(("StockListing", market))
        return pd.DataFrame({
            "Code": ["005930", "035720", "293490"],
            "ISU_CD": ["KR7005930003", "KR7035720002", "KR7293490000"],
            "Name": ["삼성전자", "카카오", "카카오게임즈"],
            "Market": ["KOSPI", "KOSPI", "KOSDAQ GLOBAL"],
            "Dept": ["", "", "우량기업부"],
            "Close": ["76600", "53900", "25000"],
            "ChangeCode": ["2", "1", "1"],
            "Changes": [-2100, 200, 100],
            "ChagesRatio": [-2.67, 0.37, 0.4],
            "Open": [78800, 53700, 24900], "High": [79000, 54600, 25200], "Low": [76500, 53300, 24800],
            "Volume": [17821096, 1238016, 300000],
            "Amount": [1377563541100, 66787221500, 7500000000],
            "Marcap": [457292090830000, 23969466245100, 2000000000000],
            "Stocks": [5969782550, 444701415, 80000000],
            "MarketId": ["STK", "STK", "KSQ"],
        })

    def DataReader(self, symbol: str, start: object = None, end: object = None) -> pd.DataFrame:
        self.calls.append(("DataReader", symbol, start, end))
        if self.fail_times > 0:
            self.fail_times -= 1
            raise TimeoutError("read timed out")
        if symbol in ("KS11", "KQ11"):
            frame = pd.DataFrame({
                "Open": [2650.0, 2610.0, 2592.0, 2587.7], "High": [2670.0, 2620.0, 2600.0, 2592.9],
                "Low": [2640.0, 2600.0, 2580.0, 2569.0], "Close": [2669.8, 2607.3, 2587.0, 2578.1],
                "Volume": [4e8, 5e8, 5.2e8, 5.1e8], "Change": [0.0132, -0.0234, -0.0078, -0.0034],
                "UpDown": [1, 2, 2, 2], "Comp": [14.1, -62.4, -20.3, -8.9],
                "Amount": [1.0e13, 1.1e13, 1.05e13, 1.01e13], "MarCap": [2.1e15] * 4,
            }, index=DATES)
        else:
            code = symbol.split(":")[-1]
            base = {"005930": 78000.0, "035720": 54000.0, "293490": 25000.0}[code]
            close = base * np.array([1.0, 0.99, 1.01, 1.0])
            frame = pd.DataFrame({
                "Open": close, "High": close * 1.01, "Low": close * 0.99, "Close": close,
                "Volume": [1000, 2000, 0 if code == "293490" else 1500, 1200],
            }, index=DATES).astype({"Volume": "int64"})
            if code == "293490":  # a halted day in Naver's series
                frame.iloc[2, :3] = 0
            frame["Change"] = frame["Close"].pct_change()
        return frame.loc[str(start):str(end)]


def make(fake: FakeFdr | None = None, **kw: object) -> tuple[FdrSource, FakeFdr, list[float]]:
    fake = fake or FakeFdr()
    sleeps: list[float] = []
    src = FdrSource(Settings(pykrx_delay_s=0.25), client=fake, sleep=sleeps.append, **kw)  # type: ignore[arg-type]
    return src, fake, sleeps


def test_daily_is_adjusted_naver_series_with_unavailable_fields() -> None:
    src, fake, _ = make()
    bundle = src.daily(START, END)
    assert src.price_basis == "adjusted" and set(bundle.stocks["price_basis"]) == {"adjusted"}
    prices = bundle.prices
    assert len(prices) == 3 * 3 and prices["date"].min() == pd.Timestamp(START)
    row = prices[(prices["code"] == "005930") & (prices["date"] == pd.Timestamp("2024-01-04"))].iloc[0]
    assert row["close"] == pytest.approx(78000 * 1.01)
    assert row["change_ratio"] == pytest.approx(1.01 / 0.99 - 1)  # FDR Change is already a fraction
    assert prices[["value", "market_cap", "shares"]].isna().all().all()
    for field in ("value", "market_cap", "shares", "vwap"):
        assert field in bundle.unavailable
    assert "never approximated by close" in bundle.unavailable["value"]
    halted = prices[(prices["code"] == "293490") & (prices["date"] == pd.Timestamp("2024-01-04"))].iloc[0]
    assert np.isnan(halted[["open", "high", "low"]].to_numpy(dtype=float)).all()
    markets = bundle.stocks.set_index("code")["market"]
    assert markets["293490"] == "KOSDAQ"  # KOSDAQ GLOBAL counts as KOSDAQ
    symbols = [c[1] for c in fake.calls if c[0] == "DataReader"]
    assert symbols == ["NAVER:005930", "NAVER:035720", "NAVER:293490"]
    validate_bundle(bundle, "fdr", today=dt.date(2024, 1, 6))


def test_index_uses_krx_symbols_and_amount() -> None:
    src, _, _ = make()
    frame = src.index("2001", START, END)
    assert list(frame["index_code"].unique()) == ["2001"] and len(frame) == 3
    assert frame["value"].iloc[0] == pytest.approx(1.1e13)


def test_requests_are_paced_and_retried() -> None:
    src, _fake, sleeps = make(FakeFdr(fail_times=1), backoff_s=0.5)
    src.daily(START, START, codes=["005930", "035720"])
    # listing, NAVER:005930 (fails once, retried after 0.5 s backoff), NAVER:035720
    assert sleeps == [0.25, 0.5, 0.25]
    with pytest.raises(SourceError):
        make(FakeFdr(fail_times=99), retries=1)[0].index("1001", START, END)


def test_flows_unavailable() -> None:
    src, _, _ = make()
    with pytest.raises(UnavailableError):
        src.flows(START, END)


def test_missing_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "FinanceDataReader", None)
    with pytest.raises(ConfigError) as info:
        FdrSource(Settings())
    assert "pip install 'lasps[sources]'" in str(info.value)


def test_registry_builds_fdr() -> None:
    assert isinstance(get_source("fdr", Settings(), client=FakeFdr()), FdrSource)
