"""pykrx adapter against a fake client shaped exactly like pykrx's by-date, all-ticker frames (no network)."""

from __future__ import annotations

import datetime as dt
import logging
import sys

import numpy as np
import pandas as pd
import pytest

from lasps.config import Settings
from lasps.data.sources.base import SourceError
from lasps.data.sources.pykrx_source import PykrxSource
from lasps.data.sources.registry import KNOWN_SOURCES, get_source
from lasps.data.validate import validate_bundle
from lasps.errors import ConfigError

SECRET_ID = "lasps-test-id-7731"
SECRET_PW = "pw-S3cret-9924"
DAY = dt.date(2024, 1, 5)  # a Friday session


def settings(**kw: object) -> Settings:
    base: dict[str, object] = {"KRX_ID": SECRET_ID, "KRX_PW": SECRET_PW, "pykrx_delay_s": 0.5}
    base.update(kw)
    return Settings(**base)


def _by_ticker(rows: dict[str, list[object]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "티커"
    return frame


class FakeStock:
    """Recorded-style responses of ``pykrx.stock`` for one day (2024-01-05)."""

    def __init__(self, fail_times: int = 0, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        self.fail_times = fail_times
        self.error = error or ConnectionError("KRX 응답 없음")

    def _hit(self, name: str, *args: object) -> None:
        self.calls.append((name, args))
        if self.fail_times > 0:
            self.fail_times -= 1
            raise self.error

    # get_market_ohlcv(date, market="ALL"): 시가 고가 저가 종가 거래량 거래대금 등락률, index 티커
    def get_market_ohlcv(self, date: str, market: str = "KOSPI") -> pd.DataFrame:
        self._hit("get_market_ohlcv", date, market)
        cols = ["시가", "고가", "저가", "종가", "거래량", "거래대금", "등락률"]
        return _by_ticker({
            "005930": [78800, 79000, 76500, 76600, 17821096, 1377563541100, -2.67],
            "000660": [134600, 136000, 132600, 134000, 3016419, 404536418000, 0.45],
            "035720": [53700, 54600, 53300, 53900, 1238016, 66787221500, 0.37],
            "900110": [0, 0, 0, 139, 0, 0, 0.0],  # halted: only the close
        }, cols).astype({"시가": "int64", "등락률": "float64"})

    # get_market_cap(date, market="ALL"): 종가 시가총액 거래량 거래대금 상장주식수
    def get_market_cap(self, date: str, market: str = "ALL") -> pd.DataFrame:
        self._hit("get_market_cap", date, market)
        cols = ["종가", "시가총액", "거래량", "거래대금", "상장주식수"]
        return _by_ticker({
            "005930": [76600, 457292090830000, 17821096, 1377563541100, 5969782550],
            "000660": [134000, 97552316910000, 3016419, 404536418000, 728002365],
            "035720": [53900, 23969466245100, 1238016, 66787221500, 444701415],
            "900110": [139, 8441000000, 0, 0, 60726618],
        }, cols)

    def get_market_ticker_list(self, date: str | None = None, market: str = "KOSPI") -> list[str]:
        self._hit("get_market_ticker_list", date, market)
        return {"KOSPI": ["005930", "000660"], "KOSDAQ": ["035720", "900110"], "KONEX": []}[market]

    def get_market_ticker_name(self, ticker: str) -> str:
        self._hit("get_market_ticker_name", ticker)
        names = {"005930": "삼성전자", "000660": "SK하이닉스", "035720": "카카오", "900110": "이스트아시아홀딩스"}
        return names[ticker]

    def get_market_sector_classifications(self, date: str, market: str = "KOSPI") -> pd.DataFrame:
        self._hit("get_market_sector_classifications", date, market)
        cols = ["종목명", "업종명", "종가", "대비", "등락률", "시가총액"]
        rows = {"KOSPI": {"005930": ["삼성전자", "전기전자", 76600, -2100, -2.67, 457292090830000],
                          "000660": ["SK하이닉스", "전기전자", 134000, 600, 0.45, 97552316910000]},
                "KOSDAQ": {"035720": ["카카오", "IT 서비스", 53900, 200, 0.37, 23969466245100]}}[market]
        return _by_ticker(rows, cols)

    def get_index_ohlcv(self, fromdate: str, todate: str, ticker: str, freq: str = "d",
                        name_display: bool = True) -> pd.DataFrame:
        self.name_display = name_display  # pykrx's default True looks the index name up
        self._hit("get_index_ohlcv", fromdate, todate, ticker)
        frame = pd.DataFrame(
            {"시가": [2587.71], "고가": [2592.88], "저가": [2568.98], "종가": [2578.08],
             "거래량": [513524466], "거래대금": [10117326374962], "상장시가총액": [2098364183226700]},
            index=pd.DatetimeIndex([pd.Timestamp(DAY)], name="날짜"),
        )
        return frame

    def get_market_net_purchases_of_equities(self, fromdate: str, todate: str, market: str = "KOSPI",
                                             investor: str = "개인") -> pd.DataFrame:
        self._hit("get_market_net_purchases_of_equities", fromdate, todate, market, investor)
        cols = ["종목명", "매도거래량", "매수거래량", "순매수거래량", "매도거래대금", "매수거래대금", "순매수거래대금"]
        value = {"외국인": 100e8, "기타외국인": 1e8, "기관합계": -50e8, "개인": -51e8}[investor]
        rows = {"005930": ["삼성전자", 1, 2, 1, 10, 20, value], "000660": ["SK하이닉스", 1, 2, 1, 10, 20, value / 2]}
        if investor == "기타외국인":
            rows.pop("000660")  # not every ticker appears for every investor
        return _by_ticker(rows, cols)

    def get_exhaustion_rates_of_foreign_investment(self, date: str, market: str = "KOSPI",
                                                   balance_limit: bool = False) -> pd.DataFrame:
        self._hit("get_exhaustion_rates_of_foreign_investment", date, market)
        cols = ["상장주식수", "보유수량", "지분율", "한도수량", "한도소진률"]
        return _by_ticker({"005930": [5969782550, 3314966371, 55.53125, 5969782550, 55.53125],
                           "000660": [728002365, 391224400, 53.75, 728002365, 53.75]}, cols)


def make_source(fake: FakeStock | None = None, **kw: object) -> tuple[PykrxSource, FakeStock, list[float]]:
    fake = fake or FakeStock()
    sleeps: list[float] = []
    src = PykrxSource(settings(), client=fake, sleep=sleeps.append, **kw)  # type: ignore[arg-type]
    return src, fake, sleeps


def test_daily_maps_columns_units_and_halts() -> None:
    src, fake, _ = make_source()
    bundle = src.daily(DAY, DAY)
    p = bundle.prices.set_index("code")
    assert list(bundle.prices.columns) == [
        "code", "date", "open", "high", "low", "close", "volume", "value", "market_cap", "shares", "change_ratio"]
    assert p.loc["005930", "close"] == 76600.0
    assert p.loc["005930", "value"] == 1377563541100.0
    assert p.loc["005930", "market_cap"] == 457292090830000.0
    assert p.loc["005930", "shares"] == 5969782550.0
    assert p.loc["005930", "change_ratio"] == pytest.approx(-0.0267)  # 등락률 % -> fraction
    assert (bundle.prices["date"] == pd.Timestamp(DAY)).all()
    # halted ticker: open/high/low missing, close carried, volume 0
    assert np.isnan(p.loc["900110", ["open", "high", "low"]].to_numpy(dtype=float)).all()
    assert p.loc["900110", "close"] == 139.0
    s = bundle.stocks.set_index("code")
    assert s.loc["005930", "market"] == "KOSPI" and s.loc["035720", "market"] == "KOSDAQ"
    assert s.loc["005930", "name"] == "삼성전자"
    assert set(s["price_basis"]) == {"raw"} and src.price_basis == "raw"
    # by date for all tickers: one OHLCV call for the whole market
    assert [c for c in fake.calls if c[0] == "get_market_ohlcv"] == [("get_market_ohlcv", ("20240105", "ALL"))]
    checked = validate_bundle(bundle, "pykrx 2024-01-05", today=dt.date(2024, 1, 6))
    assert len(checked.prices) == 4


def test_stocks_map_krx_sector_names_to_sector_codes() -> None:
    src, _, _ = make_source()
    stocks = src.stocks(DAY).set_index("code")
    assert stocks.loc["005930", "sector_code"] == "1013" and stocks.loc["005930", "sector_id"] == 0
    assert stocks.loc["035720", "sector_code"] == "2152" and stocks.loc["035720", "sector_id"] == 2
    assert pd.isna(stocks.loc["900110", "sector_id"])  # no classification -> unmapped, not defaulted


def test_index_maps_korean_columns() -> None:
    src, _, _ = make_source()
    frame = src.index("1001", DAY, DAY)
    row = frame.iloc[0]
    assert row["index_code"] == "1001" and row["date"] == pd.Timestamp(DAY)
    assert row["close"] == 2578.08 and row["value"] == 10117326374962.0


def test_flows_sum_foreign_investors_and_convert_holding_ratio() -> None:
    src, fake, _ = make_source()
    flows = src.flows(DAY, DAY).set_index("code")
    assert flows.loc["005930", "foreign_net"] == pytest.approx(101e8)  # 외국인 + 기타외국인
    assert flows.loc["000660", "foreign_net"] == pytest.approx(50e8)
    assert flows.loc["005930", "institution_net"] == pytest.approx(-50e8)
    assert flows.loc["005930", "individual_net"] == pytest.approx(-51e8)
    assert flows.loc["005930", "foreign_holding_ratio"] == pytest.approx(0.5553125)
    investors = [c[1][3] for c in fake.calls if c[0] == "get_market_net_purchases_of_equities"]
    assert investors == ["외국인", "기타외국인", "기관합계", "개인"]


def test_requests_are_paced() -> None:
    src, fake, sleeps = make_source()
    src.daily(DAY, DAY)
    paced = [c for c in fake.calls if c[0] != "get_market_ticker_name"]  # names come from pykrx's cache
    assert len(paced) == 5  # ohlcv, cap, 3 ticker lists
    assert sleeps == [0.5] * (len(paced) - 1)


def test_transient_errors_are_retried_with_backoff() -> None:
    src, _fake, sleeps = make_source(FakeStock(fail_times=2), backoff_s=1.5)
    bundle = src.daily(DAY, DAY)
    assert len(bundle.prices) == 4
    assert sleeps[:2] == [1.5, 3.0]  # exponential backoff before the 2nd and 3rd attempt


def test_persistent_failure_raises_source_error() -> None:
    src, _, _ = make_source(FakeStock(fail_times=99), retries=2)
    with pytest.raises(SourceError) as info:
        src.daily(DAY, DAY)
    assert "failed after 3 attempts" in str(info.value)
    assert "run the same command again" in str(info.value)


def test_secrets_never_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    leaky = ConnectionError(f"login failed for {SECRET_ID}:{SECRET_PW} at data.krx.co.kr")
    src, _, _ = make_source(FakeStock(fail_times=99, error=leaky), retries=1)
    with pytest.raises(SourceError) as info:
        src.daily(DAY, DAY)
    text = str(info.value) + repr(info.value) + caplog.text + repr(src)
    assert SECRET_ID not in text and SECRET_PW not in text
    assert "***" in str(info.value)
    assert caplog.records  # the retry was logged (scrubbed)


def test_missing_credentials_raise_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KRX_ID", raising=False)
    monkeypatch.delenv("KRX_PW", raising=False)
    with pytest.raises(ConfigError) as info:
        PykrxSource(Settings(KRX_PW=SECRET_PW), client=FakeStock())
    message = str(info.value)
    assert "KRX_ID" in message and "data.krx.co.kr" in message
    assert SECRET_PW not in message


def test_missing_pykrx_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pykrx", None)  # makes `import pykrx` raise ImportError
    monkeypatch.setenv("KRX_ID", SECRET_ID)
    monkeypatch.setenv("KRX_PW", SECRET_PW)
    with pytest.raises(ConfigError) as info:
        PykrxSource(settings())
    assert "pip install 'lasps[sources]'" in str(info.value)


def test_empty_day_is_an_error_not_an_empty_write() -> None:
    class Holiday(FakeStock):
        def get_market_ohlcv(self, date: str, market: str = "KOSPI") -> pd.DataFrame:
            frame = super().get_market_ohlcv(date, market)
            frame[:] = 0
            return frame

    src, _, _ = make_source(Holiday())
    with pytest.raises(SourceError, match="no prices"):
        src.daily(DAY, DAY)


def test_registry() -> None:
    src = get_source("pykrx", settings(), client=FakeStock(), sleep=lambda s: None)
    assert isinstance(src, PykrxSource)
    with pytest.raises(ConfigError) as info:
        get_source("bloomberg", settings())
    for name in KNOWN_SOURCES:
        assert name in str(info.value)
