"""Bad input is rejected with an error naming file, column, first offending row and fix; the DB is unchanged."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lasps.data.bundle import MarketBundle
from lasps.data.sources.files import read_import
from lasps.data.store import MarketStore
from lasps.data.validate import normalize_market, parse_dates, unmapped_sectors, validate_bundle
from lasps.errors import InputDataError

HEADER = "code,date,open,high,low,close,volume,name,market"
GOOD_ROWS = [
    "005930,2024-01-02,78200,79800,78200,79600,17142847,삼성전자,KOSPI",
    "005930,2024-01-03,78500,78800,77000,77000,21753644,삼성전자,KOSPI",
    "035720,2024-01-02,56100,56900,55600,56200,1090318,카카오,KOSDAQ",
    "035720,2024-01-03,55900,56100,54300,54500,1510402,카카오,KOSDAQ",
]


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def store_import(path: Path, home: Path, fmt: str = "auto") -> int:
    """What `lasps data import PATH` does: read, validate, then write in one transaction."""
    bundle = validate_bundle(read_import(path, fmt), str(path))
    with MarketStore(home) as store:
        return store.write_bundle(bundle, kind="import")


def db_state(home: Path) -> dict[str, tuple[int, str]]:
    """Row count and content hash of every data table (source_runs included)."""
    state = {}
    with MarketStore(home, read_only=True) as store:
        tables = [r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        for table in sorted(tables):
            rows = store.con.execute(f"SELECT * FROM {table}").fetchall()
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            state[table] = (len(rows), digest)
    return state


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    assert store_import(write_csv(tmp_path / "good.csv", GOOD_ROWS), home) == 4
    return home


def expect_rejected(path: Path, home: Path, *, column: str | None, row: int | None, fmt: str = "auto",
                    text: str | None = None) -> InputDataError:
    before = db_state(home)
    with pytest.raises(InputDataError) as info:
        store_import(path, home, fmt)
    message = str(info.value)
    assert str(path) in message, message
    if column is not None:
        assert f"column '{column}'" in message, message
    if row is not None:
        assert re.search(rf"\brow {row}\b", message), message
    if text is not None:
        assert text in message, message
    assert "fix:" in message
    assert db_state(home) == before  # nothing written
    return info.value


def test_unknown_format(tmp_path: Path, home: Path) -> None:
    xlsx = tmp_path / "prices.xlsx"
    xlsx.write_bytes(b"PK\x03\x04 not really a workbook")
    expect_rejected(xlsx, home, column=None, row=None, text="unknown import format")
    csv = write_csv(tmp_path / "p.csv", GOOD_ROWS)
    expect_rejected(csv, home, column=None, row=None, fmt="excel", text="unknown import format")
    odd_dir = tmp_path / "somedir"
    odd_dir.mkdir()
    expect_rejected(odd_dir, home, column=None, row=None, text="without prices.parquet")


def test_missing_column(tmp_path: Path, home: Path) -> None:
    path = write_csv(tmp_path / "novolume.csv", [r.rsplit(",", 3)[0] + "," + r.rsplit(",", 2)[1] + ","
                                                 + r.rsplit(",", 1)[1] for r in GOOD_ROWS],
                     header="code,date,open,high,low,close,name,market")
    err = expect_rejected(path, home, column="volume", row=1)
    assert "columns found" in str(err) and "Expected columns" in str(err)


def test_renamed_column_suggests_the_expected_name(tmp_path: Path, home: Path) -> None:
    path = write_csv(tmp_path / "renamed.csv", GOOD_ROWS, header="code,date,open,high,low,종가,volume,name,market")
    err = expect_rejected(path, home, column="close", row=1)
    assert "rename '종가' to 'close'" in str(err)
    path = write_csv(tmp_path / "renamed2.csv", GOOD_ROWS, header="ticker,date,open,high,low,close,volume,name,market")
    err = expect_rejected(path, home, column="code", row=1)
    assert "rename 'ticker' to 'code'" in str(err)


def test_code_not_six_characters(tmp_path: Path, home: Path) -> None:
    rows = [*GOOD_ROWS[:2], "5930,2024-01-02,1,1,1,1,1,삼성전자,KOSPI", "005930.KS,2024-01-04,1,1,1,1,1,x,KOSPI"]
    err = expect_rejected(write_csv(tmp_path / "code.csv", rows), home, column="code", row=4)
    assert "'5930'" in str(err) and "zero-pad" in str(err) and "2 rows in total" in str(err)


def test_unparseable_date(tmp_path: Path, home: Path) -> None:
    rows = [*GOOD_ROWS[:3], "035720,2024-13-45,1,1,1,1,1,카카오,KOSDAQ"]
    err = expect_rejected(write_csv(tmp_path / "date.csv", rows), home, column="date", row=5)
    assert "'2024-13-45' is not a date" in str(err)


def test_future_date(tmp_path: Path, home: Path) -> None:
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    rows = [GOOD_ROWS[0], f"005930,{future},1,1,1,1,1,삼성전자,KOSPI"]
    err = expect_rejected(write_csv(tmp_path / "future.csv", rows), home, column="date", row=3)
    assert "in the future" in str(err)


def test_empty_file(tmp_path: Path, home: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    expect_rejected(empty, home, column=None, row=1, text="empty")
    header_only = write_csv(tmp_path / "header_only.csv", [])
    expect_rejected(header_only, home, column=None, row=2, text="no data rows")


def test_duplicate_key(tmp_path: Path, home: Path) -> None:
    rows = [*GOOD_ROWS, GOOD_ROWS[1].replace("77000,77000", "77100,77100")]
    err = expect_rejected(write_csv(tmp_path / "dup.csv", rows), home, column="date", row=6)
    assert "duplicate key (code=005930, date=2024-01-03)" in str(err) and "row 3" in str(err)


def test_non_numeric_price(tmp_path: Path, home: Path) -> None:
    rows = [GOOD_ROWS[0], "005930,2024-01-03,78500,78800,77000,n/a?,21753644,삼성전자,KOSPI"]
    err = expect_rejected(write_csv(tmp_path / "price.csv", rows), home, column="close", row=3)
    assert "is not a number" in str(err)


def test_negative_volume_and_zero_price(tmp_path: Path, home: Path) -> None:
    rows = [GOOD_ROWS[0], "005930,2024-01-03,78500,78800,77000,77000,-5,삼성전자,KOSPI"]
    expect_rejected(write_csv(tmp_path / "vol.csv", rows), home, column="volume", row=3, text="negative")
    rows = [GOOD_ROWS[0], "005930,2024-01-03,0,78800,77000,77000,5,삼성전자,KOSPI"]
    expect_rejected(write_csv(tmp_path / "zero.csv", rows), home, column="open", row=3, text="positive")


def test_unknown_market_and_kind(tmp_path: Path, home: Path) -> None:
    rows = [GOOD_ROWS[0], "AAPL00,2024-01-02,1,1,1,1,1,Apple,NASDAQ"]
    err = expect_rejected(write_csv(tmp_path / "market.csv", rows), home, column="market", row=3)
    assert "'NASDAQ' is not a KRX market" in str(err)
    rows = [r + ",fund" for r in GOOD_ROWS]
    expect_rejected(write_csv(tmp_path / "kind.csv", rows, header=HEADER + ",kind"), home, column="kind", row=3,
                    text="kind 'fund' is not known")


def test_missing_market_column_is_reported(tmp_path: Path, home: Path) -> None:
    rows = [r.rsplit(",", 1)[0] for r in GOOD_ROWS]
    expect_rejected(write_csv(tmp_path / "nomarket.csv", rows, header=HEADER.rsplit(",", 1)[0]), home,
                    column="market", row=3, text="market of code 005930 is unknown")


def test_parquet_rows_are_one_based_data_rows(tmp_path: Path, home: Path) -> None:
    frame = pd.DataFrame([r.split(",") for r in GOOD_ROWS], columns=HEADER.split(","))
    frame.loc[2, "code"] = "3572"
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    expect_rejected(path, home, column="code", row=3, text="1-based data row")


def test_validate_normalises_dtypes() -> None:
    prices = pd.DataFrame({
        "code": ["005930", "005930"], "date": ["20240102", "2024-01-03T15:30:00"],
        "open": ["78,200", "78500"], "high": [79800, 78800], "low": [78200, 77000], "close": [79600, 77000],
        "volume": [17142847, 21753644],
    })
    stocks = pd.DataFrame({"code": ["005930"], "name": ["삼성전자"], "market": ["유가증권"],
                           "sector_name": ["반도체 제조업"]})
    out = validate_bundle(MarketBundle(source="t", stocks=stocks, prices=prices), "mem",
                          today=dt.date(2024, 1, 4))
    assert str(out.prices["date"].dtype).startswith("datetime64")
    assert list(out.prices["date"]) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    for col in ("open", "high", "low", "close", "volume", "value", "market_cap", "shares", "change_ratio"):
        assert out.prices[col].dtype == np.float64
    assert out.prices["open"].iloc[0] == 78200.0
    assert out.stocks["market"].iloc[0] == "KOSPI" and out.stocks["kind"].iloc[0] == "stock"
    assert out.stocks["sector_id"].iloc[0] == 0 and out.stocks["price_basis"].iloc[0] == "raw"
    assert set(out.unavailable) == {"value", "market_cap", "shares", "change_ratio"}


def test_validate_reports_missing_bundle_column() -> None:
    prices = pd.DataFrame({"code": ["005930"], "date": ["2024-01-02"], "close": [1.0]})
    with pytest.raises(InputDataError) as info:
        validate_bundle(MarketBundle(source="t", prices=prices), "feed.json", today=dt.date(2024, 1, 4))
    assert "'open' is missing" in str(info.value) and "feed.json" in str(info.value)


def test_unmapped_sectors_are_listed_not_defaulted() -> None:
    stocks = pd.DataFrame({"code": ["005930", "123450", "234560"], "name": ["a", "b", "c"],
                           "market": ["KOSPI", "KOSDAQ", "KOSDAQ"],
                           "sector_name": ["반도체 제조업", "일반 교습 학원", None]})
    prices = pd.DataFrame({"code": ["005930"], "date": ["2024-01-02"], "open": [1], "high": [1], "low": [1],
                           "close": [1], "volume": [1]})
    out = validate_bundle(MarketBundle(source="t", stocks=stocks, prices=prices), "m", today=dt.date(2024, 1, 4))
    assert out.stocks["sector_id"].isna().sum() == 2
    assert list(unmapped_sectors(out)["code"]) == ["123450", "234560"]


def test_helpers() -> None:
    assert normalize_market("KOSDAQ GLOBAL") == "KOSDAQ" and normalize_market("knx") == "KONEX"
    assert normalize_market("nyse") == "NYSE" and normalize_market(float("nan")) is None
    parsed, bad = parse_dates(pd.Series(["2024-01-02", "2024/01/03", "20240104", None, "yesterday"]))
    assert list(bad) == [False, False, False, False, True]
    assert parsed.iloc[2] == pd.Timestamp("2024-01-04") and pd.isna(parsed.iloc[3])
