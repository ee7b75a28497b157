"""``update_store`` with fake pykrx/FDR clients: only missing sessions, idempotent, resumable (no network)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from lasps.config import Settings
from lasps.data.bundle import MarketBundle
from lasps.data.sources.base import SourceError
from lasps.data.sources.fdr_source import FdrSource
from lasps.data.sources.pykrx_source import PykrxSource
from lasps.data.store import MarketStore
from lasps.data.update import job_name, update_store
from lasps.data.validate import validate_bundle
from lasps.errors import StoreError
from lasps.krx.calendar import sessions

KST = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2024, 1, 15, 10, 0, tzinfo=KST)  # Monday morning: latest completed session is Fri 01-12
INIT_DAYS = [pd.Timestamp(d).date() for d in sessions("2024-01-02", "2024-01-05")]
UPDATE_DAYS = [pd.Timestamp(d).date() for d in sessions("2024-01-08", "2024-01-12")]
CODES = {"005930": ("삼성전자", "KOSPI", 70000.0), "035720": ("카카오", "KOSDAQ", 50000.0),
         "000660": ("SK하이닉스", "KOSPI", 130000.0)}
NEW_LISTING = ("450080", "에코프로머티", "KOSPI", 36000.0, dt.date(2024, 1, 10))


def settings() -> Settings:
    return Settings(KRX_ID="update-test-id", KRX_PW="update-test-pw", pykrx_delay_s=0.0)


def _close(code: str, day: dt.date) -> float:
    base = CODES[code][2] if code in CODES else NEW_LISTING[3]
    return round(base * (1 + 0.01 * np.sin(day.toordinal() + int(code[:3]))), -1)


def _listed(day: dt.date) -> list[str]:
    codes = list(CODES)
    if day >= NEW_LISTING[4]:
        codes.append(NEW_LISTING[0])
    return codes


class FakeKrx:
    """pykrx ``stock`` API over a tiny deterministic market; ``fail_on`` days raise like a dropped connection."""

    def __init__(self, fail_on: set[str] | None = None) -> None:
        self.fail_on = fail_on or set()
        self.ohlcv_days: list[str] = []
        self.calls = 0

    def _frame(self, rows: dict[str, list[object]], cols: list[str]) -> pd.DataFrame:
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
        frame.index.name = "티커"
        return frame

    def get_market_ohlcv(self, date: str, market: str = "KOSPI") -> pd.DataFrame:
        self.calls += 1
        if date in self.fail_on:
            raise ConnectionError("connection reset by peer")
        self.ohlcv_days.append(date)
        day = dt.datetime.strptime(date, "%Y%m%d").date()
        prev = pd.Timestamp(day) - pd.tseries.offsets.BDay(1)
        rows = {}
        for code in _listed(day):
            c = _close(code, day)
            p = _close(code, prev.date())
            rows[code] = [c, c * 1.01, c * 0.99, c, 1000 + int(code[:3]), c * 1000, round((c / p - 1) * 100, 2)]
        return self._frame(rows, ["시가", "고가", "저가", "종가", "거래량", "거래대금", "등락률"])

    def get_market_cap(self, date: str, market: str = "ALL") -> pd.DataFrame:
        self.calls += 1
        day = dt.datetime.strptime(date, "%Y%m%d").date()
        rows = {code: [_close(code, day), _close(code, day) * 1e6, 1000, 1e6, 1e6] for code in _listed(day)}
        return self._frame(rows, ["종가", "시가총액", "거래량", "거래대금", "상장주식수"])

    def get_market_ticker_list(self, date: str | None = None, market: str = "KOSPI") -> list[str]:
        self.calls += 1
        day = dt.datetime.strptime(str(date), "%Y%m%d").date()
        markets = {c: v[1] for c, v in CODES.items()} | {NEW_LISTING[0]: NEW_LISTING[2]}
        return [c for c in _listed(day) if markets[c] == market]

    def get_market_ticker_name(self, ticker: str) -> str:
        return CODES[ticker][0] if ticker in CODES else NEW_LISTING[1]

    def get_market_sector_classifications(self, date: str, market: str = "KOSPI") -> pd.DataFrame:
        self.calls += 1
        rows = {NEW_LISTING[0]: [NEW_LISTING[1], "화학", 36000, 0, 0.0, 1e12]} if market == "KOSPI" else {}
        return self._frame(rows, ["종목명", "업종명", "종가", "대비", "등락률", "시가총액"])

    def get_index_ohlcv(self, fromdate: str, todate: str, ticker: str, freq: str = "d",
                        name_display: bool = True) -> pd.DataFrame:
        self.name_display = name_display  # pykrx's default True looks the index name up
        self.calls += 1
        days = pd.DatetimeIndex(sessions(fromdate, todate), name="날짜")
        level = 2500.0 if ticker == "1001" else 850.0
        return pd.DataFrame({"시가": level, "고가": level + 10, "저가": level - 10, "종가": level + 1,
                             "거래량": 4e8, "거래대금": 1e13, "상장시가총액": 2e15}, index=days)

    def get_market_net_purchases_of_equities(self, fromdate: str, todate: str, market: str = "KOSPI",
                                             investor: str = "개인") -> pd.DataFrame:
        self.calls += 1
        day = dt.datetime.strptime(fromdate, "%Y%m%d").date()
        cols = ["종목명", "매도거래량", "매수거래량", "순매수거래량", "매도거래대금", "매수거래대금", "순매수거래대금"]
        return self._frame({c: ["x", 0, 0, 0, 0, 0, 1e8] for c in _listed(day)}, cols)

    def get_exhaustion_rates_of_foreign_investment(self, date: str, market: str = "KOSPI",
                                                   balance_limit: bool = False) -> pd.DataFrame:
        self.calls += 1
        day = dt.datetime.strptime(date, "%Y%m%d").date()
        cols = ["상장주식수", "보유수량", "지분율", "한도수량", "한도소진률"]
        return self._frame({c: [1e6, 5e5, 50.0, 1e6, 50.0] for c in _listed(day)}, cols)


def init_store(home: Path, basis: str = "raw") -> None:
    """A store as `lasps data init` would leave it: 3 codes with sectors, 2024-01-02..05."""
    rows = []
    for day in INIT_DAYS:
        for code in CODES:
            c = _close(code, day)
            rows.append([code, pd.Timestamp(day), c, c * 1.01, c * 0.99, c, 1000.0, c * 1000, 1e6 * c, 1e6, 0.0])
    prices = pd.DataFrame(rows, columns=["code", "date", "open", "high", "low", "close", "volume", "value",
                                         "market_cap", "shares", "change_ratio"])
    stocks = pd.DataFrame({
        "code": list(CODES), "name": [v[0] for v in CODES.values()], "market": [v[1] for v in CODES.values()],
        "sector_code": ["1013", "2152", "1013"], "sector_name": ["전기전자", "IT 서비스", "전기전자"],
        "price_basis": basis,
    })
    bundle = validate_bundle(MarketBundle(source="synthetic", stocks=stocks, prices=prices), "init",
                             today=dt.date(2024, 1, 6))
    home.mkdir(parents=True, exist_ok=True)
    with MarketStore(home) as store:
        store.write_bundle(bundle, kind="init")


def pykrx(fake: FakeKrx, retries: int = 0) -> PykrxSource:
    return PykrxSource(settings(), client=fake, sleep=lambda s: None, retries=retries)


def snapshot(home: Path) -> dict[str, list[tuple[object, ...]]]:
    tables = {
        "stocks": "SELECT * EXCLUDE (source) FROM stocks ORDER BY code",
        "daily_prices": "SELECT * FROM daily_prices ORDER BY code, date",
        "index_prices": "SELECT * FROM index_prices ORDER BY index_code, date",
        "investor_flows": "SELECT * FROM investor_flows ORDER BY code, date",
        "adjustments": "SELECT * FROM adjustments ORDER BY code, date",
        "load_chunks": "SELECT job, chunk FROM load_chunks ORDER BY job, chunk",
    }
    with MarketStore(home, read_only=True) as store:
        return {name: store.con.execute(sql).fetchall() for name, sql in tables.items()}


def test_update_fetches_only_the_missing_sessions(tmp_path: Path) -> None:
    init_store(tmp_path)
    fake = FakeKrx()
    seen: list[tuple[int, int, dt.date]] = []
    report = update_store(tmp_path, "pykrx", settings(), progress=lambda *a: seen.append(a),
                          source=pykrx(fake), now=NOW)
    assert report.written == UPDATE_DAYS and report.first == dt.date(2024, 1, 6)
    assert fake.ohlcv_days == [d.strftime("%Y%m%d") for d in UPDATE_DAYS]  # trading days only
    assert [s[2] for s in seen] == UPDATE_DAYS and seen[-1][:2] == (5, 5)
    assert str(report).startswith("pykrx: stored 5 trading days 2024-01-08 .. 2024-01-12")
    with MarketStore(tmp_path, read_only=True) as store:
        n_new = sum(1 for d in UPDATE_DAYS if d >= NEW_LISTING[4])
        expected = len(CODES) * (len(INIT_DAYS) + len(UPDATE_DAYS)) + n_new
        assert store.scalar("SELECT count(*) FROM daily_prices") == expected == report.price_rows + 12
        assert store.scalar("SELECT count(DISTINCT (code, date)) FROM daily_prices") == expected
        assert store.last_price_date() == UPDATE_DAYS[-1]
        stocks = store.query_df("SELECT * FROM stocks").set_index("code")
        assert stocks.loc["005930", "sector_code"] == "1013"  # stored sectors are not wiped by the update
        assert stocks.loc[NEW_LISTING[0], "sector_name"] == "화학" and stocks.loc[NEW_LISTING[0], "sector_id"] == 7
        assert set(stocks["price_basis"]) == {"raw"}
        assert store.scalar("SELECT count(*) FROM index_prices") == 2 * len(UPDATE_DAYS)
        assert store.scalar("SELECT count(*) FROM investor_flows") == report.flow_rows > 0
        chunks = store.done_chunks(job_name("pykrx"))
        assert chunks == {d.isoformat() for d in UPDATE_DAYS}


def test_second_run_writes_nothing(tmp_path: Path) -> None:
    init_store(tmp_path)
    update_store(tmp_path, "pykrx", settings(), source=pykrx(FakeKrx()), now=NOW)
    before = snapshot(tmp_path)
    with MarketStore(tmp_path, read_only=True) as store:
        runs = store.scalar("SELECT count(*) FROM source_runs")
    fake = FakeKrx()
    report = update_store(tmp_path, "pykrx", settings(), source=pykrx(fake), now=NOW)
    assert report.up_to_date and report.written == [] and fake.calls == 0
    assert snapshot(tmp_path) == before
    with MarketStore(tmp_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM source_runs") == runs


def test_interrupted_update_resumes_without_duplicates_or_gaps(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    broken = tmp_path / "broken"
    for home in (reference, broken):
        init_store(home)
    update_store(reference, "pykrx", settings(), source=pykrx(FakeKrx()), now=NOW)

    failing = FakeKrx(fail_on={"20240110"})
    with pytest.raises(SourceError, match="failed after 2 attempts"):
        update_store(broken, "pykrx", settings(), source=pykrx(failing, retries=1), now=NOW)
    with MarketStore(broken, read_only=True) as store:
        assert store.last_price_date() == dt.date(2024, 1, 9)  # days before the failure are committed
        assert store.done_chunks(job_name("pykrx")) == {"2024-01-08", "2024-01-09"}
        assert store.scalar("SELECT count(*) FROM daily_prices WHERE date >= '2024-01-10'") == 0

    resumed = FakeKrx()
    report = update_store(broken, "pykrx", settings(), source=pykrx(resumed), now=NOW)
    assert report.written == UPDATE_DAYS[2:]
    assert resumed.ohlcv_days == ["20240110", "20240111", "20240112"]
    assert snapshot(broken) == snapshot(reference)


def test_empty_store_needs_init_or_start(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        update_store(tmp_path, "pykrx", settings(), source=pykrx(FakeKrx()), now=NOW)
    assert "lasps data init" in str(info.value) and "--start" in str(info.value)
    report = update_store(tmp_path, "pykrx", settings(), source=pykrx(FakeKrx()), now=NOW,
                          start=dt.date(2024, 1, 11))
    assert report.written == [dt.date(2024, 1, 11), dt.date(2024, 1, 12)]


def test_never_fetches_today_before_the_close_or_the_future(tmp_path: Path) -> None:
    init_store(tmp_path)
    fake = FakeKrx()
    during_session = dt.datetime(2024, 1, 10, 14, 0, tzinfo=KST)
    report = update_store(tmp_path, "pykrx", settings(), until="2024-02-01", source=pykrx(fake),
                          now=during_session)
    assert report.written == [dt.date(2024, 1, 8), dt.date(2024, 1, 9)]
    assert any("latest completed session" in note for note in report.notes)


def test_mixing_price_bases_is_refused_before_any_request(tmp_path: Path) -> None:
    init_store(tmp_path, basis="adjusted")
    fake = FakeKrx()
    before = snapshot(tmp_path)
    with pytest.raises(StoreError, match="never mixes price bases"):
        update_store(tmp_path, "pykrx", settings(), source=pykrx(fake), now=NOW)
    assert fake.calls == 0 and snapshot(tmp_path) == before


class FakeNaver:
    """Minimal FinanceDataReader fake for a by-range update of adjusted prices."""

    def __init__(self) -> None:
        self.symbols: list[str] = []

    def StockListing(self, market: str) -> pd.DataFrame:
        return pd.DataFrame({"Code": list(CODES), "Name": [v[0] for v in CODES.values()],
                             "Market": [v[1] for v in CODES.values()]})

    def DataReader(self, symbol: str, start: str, end: str) -> pd.DataFrame:
        self.symbols.append(symbol)
        days = pd.DatetimeIndex(sessions(start, end), name="Date")
        if symbol in ("KS11", "KQ11"):
            return pd.DataFrame({"Open": 1.0, "High": 1.0, "Low": 1.0, "Close": 1.0, "Volume": 1.0}, index=days)
        code = symbol.split(":")[1]
        close = [_close(code, d.date()) for d in days]
        return pd.DataFrame({"Open": close, "High": close, "Low": close, "Close": close, "Volume": 10,
                             "Change": pd.Series(close, index=days).pct_change().to_numpy()}, index=days)


def test_by_range_source_updates_per_day_chunks(tmp_path: Path) -> None:
    init_store(tmp_path, basis="adjusted")
    fake = FakeNaver()
    src = FdrSource(settings(), client=fake, sleep=lambda s: None)
    report = update_store(tmp_path, "fdr", settings(), source=src, now=NOW, until=dt.date(2024, 1, 9))
    assert report.written == [dt.date(2024, 1, 8), dt.date(2024, 1, 9)]
    assert sorted(fake.symbols) == sorted(["KS11", "KQ11", *(f"NAVER:{c}" for c in CODES)])  # one request each
    assert any("investor flows" in note for note in report.notes)
    with MarketStore(tmp_path, read_only=True) as store:
        assert store.done_chunks(job_name("fdr")) == {"2024-01-08", "2024-01-09"}
        assert store.scalar("SELECT count(*) FROM adjustments") == 0
