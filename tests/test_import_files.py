"""Importing long CSV/Parquet, marcap and krx-2018-2021-style directories, round trip through the store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lasps.data.bundle import MarketBundle
from lasps.data.sources.files import FilesSource, detect_format, import_notes, import_path, read_import
from lasps.data.store import MarketStore
from lasps.data.validate import validate_bundle

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "krx-2018-2021"
DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]


def store_import(path: Path, home: Path, **kw: object) -> tuple[int, object]:
    result = import_path(path, **kw)  # type: ignore[arg-type]
    bundle = validate_bundle(result.bundle, str(path))
    home.mkdir(parents=True, exist_ok=True)
    with MarketStore(home) as store:
        return store.write_bundle(bundle, kind="import"), result


def long_frame() -> pd.DataFrame:
    """Raw prices: 005930 splits 1:2 before day 3 (exchange change ratio vs the base price), 035720 halts."""
    rows = [
        ["005930", DAYS[0], 99000, 101000, 98000, 100000, 1000, 1.0e8, 1.0, "삼성전자", "KOSPI", "1013"],
        ["005930", DAYS[1], 100000, 102000, 99500, 100000, 1100, 1.1e8, 0.0, "삼성전자", "KOSPI", "1013"],
        ["005930", DAYS[2], 50000, 51000, 49800, 50500, 2400, 1.2e8, 1.0, "삼성전자", "KOSPI", "1013"],
        ["005930", DAYS[3], 50500, 51500, 50000, 51005, 2300, 1.2e8, 1.0, "삼성전자", "KOSPI", "1013"],
        ["035720", DAYS[0], 56100, 56900, 55600, 56200, 500, 2.8e7, 0.5, "카카오", "KOSDAQ GLOBAL", "IT 서비스"],
        ["035720", DAYS[1], 0, 0, 0, 56200, 0, 0.0, 0.0, "카카오", "KOSDAQ GLOBAL", "IT 서비스"],  # halted
        ["035720", DAYS[2], 56000, 57000, 55000, 56762, 600, 3.4e7, 1.0, "카카오", "KOSDAQ GLOBAL", "IT 서비스"],
        ["035720", DAYS[3], 56700, 57000, 56000, 56194.38, 700, 3.9e7, -1.0, "카카오", "KOSDAQ GLOBAL", "IT 서비스"],
    ]
    return pd.DataFrame(rows, columns=["code", "date", "open", "high", "low", "close", "volume", "value",
                                       "change_ratio", "name", "market", "sector"])


def test_long_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    long_frame().to_csv(path, index=False)
    assert detect_format(path) == "long"
    n, result = store_import(path, tmp_path / "home")
    assert n == 8 and result.fmt == "long"
    assert result.stats["halted_rows"] == 1 and result.stats["change_ratio_unit"] == "percent"
    assert any("percent" in note for note in result.notes)
    with MarketStore(tmp_path / "home", read_only=True) as store:
        halted = store.query_df("SELECT * FROM daily_prices WHERE code = '035720' AND date = '2024-01-03'").iloc[0]
        assert pd.isna(halted["open"]) and pd.isna(halted["high"]) and halted["close"] == 56200
        cr = store.scalar("SELECT change_ratio FROM daily_prices WHERE code='005930' AND date='2024-01-04'")
        assert cr == pytest.approx(0.01)  # percent -> fraction
        stocks = store.query_df("SELECT * FROM stocks ORDER BY code").set_index("code")
        assert stocks.loc["035720", "market"] == "KOSDAQ" and stocks.loc["005930", "sector_id"] == 0
        assert pd.isna(stocks.loc["035720", "sector_code"]) and stocks.loc["035720", "sector_id"] == 2
        assert set(stocks["price_basis"]) == {"raw"}
        # the raw split is recognised from the exchange change ratio: one adjustment event of ratio 0.5
        adj = store.query_df("SELECT * FROM adjustments")
        assert len(adj) == 1 and adj.iloc[0]["ratio"] == pytest.approx(0.5)
        status = dict(store.con.execute("SELECT field, reason FROM field_status WHERE NOT available").fetchall())
        assert "market_cap" in status and "shares" in status and "value" not in status


def test_read_import_returns_the_bundle_with_its_findings(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    long_frame().to_csv(path, index=False)
    result = read_import(path)
    assert isinstance(result, MarketBundle) and result.bundle is result
    assert result.fmt == "long" and result.stats["halted_rows"] == 1 and len(result.unmapped) == 0
    assert import_notes(validate_bundle(result, str(path))) == result.notes


def test_long_parquet_matches_csv(tmp_path: Path) -> None:
    frame = long_frame()
    frame.to_csv(tmp_path / "p.csv", index=False)
    frame.assign(date=pd.to_datetime(frame["date"])).to_parquet(tmp_path / "p.parquet")
    a = validate_bundle(read_import(tmp_path / "p.csv"), "csv").prices.reset_index(drop=True)
    b = validate_bundle(read_import(tmp_path / "p.parquet"), "parquet").prices.reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_adjusted_long_file(tmp_path: Path) -> None:
    path = tmp_path / "adj.csv"
    long_frame().to_csv(path, index=False)
    store_import(path, tmp_path / "home", price_basis="adjusted")
    with MarketStore(tmp_path / "home", read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM adjustments") == 0
        assert store.scalar("SELECT DISTINCT price_basis FROM stocks") == "adjusted"


def test_marcap_layout(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "Code": ["005930", "293490", "005930", "293490"],
        "Name": ["삼성전자", "카카오게임즈", "삼성전자", "카카오게임즈"],
        "Market": ["KOSPI", "KOSDAQ GLOBAL", "KOSPI", "KOSDAQ GLOBAL"],
        "Dept": ["", "우량기업부", "", "우량기업부"],
        "Close": [78600, 25000, 77000, 25250], "ChangeCode": [1, 3, 2, 1],
        "Changes": [600, 0, -1600, 250], "ChagesRatio": [0.77, 0.0, -2.04, 1.0],
        "Open": [78200, 25000, 78500, 25000], "High": [79800, 25200, 78800, 25500],
        "Low": [78200, 24800, 77000, 24900], "Volume": [17142847, 300000, 21753644, 250000],
        "Amount": [1356359230050, 7500000000, 1691005940500, 6300000000],
        "Marcap": [469227837990000, 2000000000000, 459676256350000, 2020000000000],
        "Stocks": [5969782550, 80000000, 5969782550, 80000000], "MarketId": ["STK", "KSQ", "STK", "KSQ"],
        "Rank": [1, 200, 1, 201], "Date": ["2024-01-02", "2024-01-02", "2024-01-03", "2024-01-03"],
    })
    path = tmp_path / "marcap-2024.csv"
    frame.to_csv(path, index=False)
    assert detect_format(path) == "marcap"
    n, result = store_import(path, tmp_path / "home")
    assert n == 4 and result.fmt == "marcap" and result.stats["change_ratio_unit"] == "percent"
    assert len(result.unmapped) == 2  # marcap has no sectors: reported, not defaulted
    with MarketStore(tmp_path / "home", read_only=True) as store:
        row = store.query_df("SELECT * FROM daily_prices WHERE code='005930' AND date='2024-01-03'").iloc[0]
        assert row["value"] == 1691005940500 and row["market_cap"] == 459676256350000
        assert row["shares"] == 5969782550 and row["change_ratio"] == pytest.approx(-0.0204)
        assert store.scalar("SELECT market FROM stocks WHERE code='293490'") == "KOSDAQ"
        assert store.scalar("SELECT DISTINCT price_basis FROM stocks") == "raw"


def make_krx_dir(root: Path) -> Path:
    """A miniature of shared/data/krx-2018-2021 with the same quirks."""
    d = root / "krx-mini"
    d.mkdir()
    days = pd.to_datetime(["2021-12-14", "2021-12-15", "2021-12-16", "2021-12-17", "2021-12-20", "2021-12-21"])
    rows = []

    def add(code: str, closes: list[float], name: str, market: str | None, sector: str | None,
            change: list[float] | None = None, halt: int | None = None, high_bump: int | None = None) -> None:
        for i, (day, close) in enumerate(zip(days, closes, strict=True)):
            o, h, low, vol = close, close * 1.02, close * 0.98, 1000
            if halt == i:
                o = h = low = 0.0
                vol = 0
            if high_bump == i:
                h = close - 1  # close 1 KRW above the (rounded adjusted) high
            if change is not None:
                chg = change[i]
            elif i == 0:
                chg = np.nan
            else:
                chg = (close - closes[i - 1]) / close  # the sample's (close - prev) / close
            rows.append([code, day, o, h, low, close, vol, chg, name, market, sector])

    prev = [10000, 10130, 9750, 9910, 10000, 10100]
    add("000020", prev, "동화약품", "KOSPI", "의약품 제조업",
        change=[np.nan, 130 / 10130, -380 / 9750, 0.0, 10000 / 9910 - 1, 10100 / 10000 - 1])
    add("000025", [5000, 5050, 5050, 5100, 5000, 5000], "동화약품우", None, None)
    add("039670", [3000, 3010, 3020, 3030, 3040, 3050], "스포츠서울", None, None)
    add("123450", [7000, 7070, 7000, 7000, 7100, 7200], "에듀학원", "KOSDAQ", "일반 교습 학원", high_bump=2)
    add("192410", [92248, 92248, 6369, 6400, 6500, 6450], "THQ", "KOSDAQ", "통신 및 방송 장비 제조업", halt=1)
    prices = pd.DataFrame(rows, columns=["code", "date", "open", "high", "low", "close", "volume", "change",
                                         "name", "market", "sector"])
    prices["volume"] = prices["volume"].astype("int64")
    prices.to_parquet(d / "prices.parquet", index=False)
    pd.DataFrame({
        "code": ["000020", "000025", "039670", "123450", "192410"],
        "name": ["동화약품", "동화약품우", "스포츠서울", "에듀학원", "THQ"],
        "market": ["KOSPI", None, None, "KOSDAQ", "KOSDAQ"],
        "market_2025_raw": ["KOSPI", None, None, "KOSDAQ", "KOSDAQ GLOBAL"],
        "sector": ["의약품 제조업", None, None, "일반 교습 학원", "통신 및 방송 장비 제조업"],
        "market_cap_krw_20211220": [375600000000, 21000000000, 1, 2, 3],
    }).to_parquet(d / "tickers.parquet", index=False)
    index_days = pd.to_datetime(["2021-12-20", "2021-12-21"])
    pd.DataFrame({
        "index": ["KOSPI", "KOSPI", "KOSDAQ", "KOSDAQ"], "date": list(index_days) * 2,
        "open": [2990.0, 2960.0, 1001.2, 994.5], "high": [2995.0, 2980.0, 1004.8, 997.3],
        "low": [2960.0, 2950.0, 990.5, 982.4], "close": [2963.0, 2977.7, 990.5, 996.6],
        "volume": [4e8, 4.1e8, 1.0e9, 1.35e9], "value": [1.0e13, 1.1e13, 1.06e13, 1.15e13],
        "source": ["test"] * 4,
    }).to_parquet(d / "index.parquet", index=False)
    (d / "manifest.json").write_text(json.dumps({"prices_adjusted_or_raw": "adjusted (pykrx default)"}))
    return d


def test_krx_directory_quirks(tmp_path: Path) -> None:
    d = make_krx_dir(tmp_path)
    assert detect_format(d) == "krx-dir"
    n, result = store_import(d, tmp_path / "home")
    stats = result.stats
    assert result.fmt == "krx-dir"
    assert stats["halted_rows"] == 1 and stats["close_outside_low_high"] == 1
    assert stats["jumps_beyond_limit"] == 1  # 192410 -93 %: kept, counted
    assert stats["change_of_close"] > 0 and stats["change_close_over_prev"] > 0 and stats["change_unexplained"] == 1
    # a code whose market the sample lacks is kept as market UNKNOWN (issue 15), not dropped
    assert result.dropped.empty and stats["market_unknown_codes"] == 1 and stats["market_from_common_share"] == 1
    assert n == 5 * 6
    assert sorted(result.unmapped["code"]) == ["000025", "039670", "123450"]  # 039670 is kept, unmapped
    notes = "\n".join(result.notes)
    assert "survivors only" in notes and import_notes(result.bundle) == result.notes
    for field in ("value", "market_cap", "shares", "vwap"):
        assert field in result.bundle.unavailable
    assert "never approximated by close" in result.bundle.unavailable["value"]
    assert "not point in time" in result.bundle.unavailable["market_cap"]
    with MarketStore(tmp_path / "home", read_only=True) as store:
        stocks = store.query_df("SELECT * FROM stocks").set_index("code")
        assert stocks.loc["000025", "market"] == "KOSPI" and stocks.loc["000025", "kind"] == "preferred"
        assert stocks.loc["039670", "market"] == "UNKNOWN"
        assert set(stocks["price_basis"]) == {"adjusted"}
        assert stocks.loc["000020", "sector_name"] == "의약품 제조업" and stocks.loc["000020", "sector_id"] == 3
        assert pd.isna(stocks.loc["000020", "sector_code"])
        assert store.scalar("SELECT count(*) FROM adjustments") == 0
        halted = store.query_df("SELECT * FROM daily_prices WHERE code='192410' AND date='2021-12-15'").iloc[0]
        assert pd.isna(halted["open"]) and halted["close"] == 92248
        cr = store.query_df("SELECT date, change_ratio FROM daily_prices WHERE code='000020' ORDER BY date")
        expected = [np.nan, 0.013, -0.037512, np.nan, 0.009082, 0.01]
        np.testing.assert_allclose(cr["change_ratio"].to_numpy(dtype=float), expected, atol=1e-5)
        idx = store.query_df("SELECT index_code, count(*) AS n FROM index_prices GROUP BY 1 ORDER BY 1")
        assert list(idx["index_code"]) == ["1001", "2001"] and list(idx["n"]) == [2, 2]
        status = dict(store.con.execute("SELECT field, reason FROM field_status WHERE NOT available").fetchall())
        assert "vwap cannot be derived" in status["value"] and "market_cap" in status


def test_files_source_slices(tmp_path: Path) -> None:
    src = FilesSource(make_krx_dir(tmp_path))
    bundle = src.daily(dt.date(2021, 12, 20), dt.date(2021, 12, 21), codes=["000020"])
    assert len(bundle.prices) == 2 and list(bundle.stocks["code"]) == ["000020"]
    assert src.price_basis == "adjusted" and len(src.index("2001", dt.date(2021, 12, 21), dt.date(2021, 12, 21))) == 1


@pytest.mark.realdata
@pytest.mark.slow
def test_real_sample_import(tmp_path: Path) -> None:
    if not (SAMPLE / "prices.parquet").is_file():
        pytest.skip(f"real sample not present at {SAMPLE}")
    manifest = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    quality = manifest["quality"]
    n, result = store_import(SAMPLE, tmp_path / "home")
    stats, bundle = result.stats, result.bundle
    assert stats["rows_in_file"] == manifest["rows"]
    assert len(bundle.prices) + int(result.dropped["rows"].sum()) == manifest["rows"]
    assert len(bundle.stocks) + len(result.dropped) == manifest["n_tickers"]
    assert stats["halted_rows"] == quality["rows_with_zero_open_high_or_low_but_close_gt0"]
    assert stats["halted_rows"] - stats["halted_rows_with_volume"] == quality[
        "halt_rows(open=high=low=0,volume=0,close_carried)"]
    assert stats["close_outside_low_high"] == quality["ohlc_inconsistent_rows(any_amount)"]
    limit_key = "beyond_krx_daily_limit(15%_pre_2015-06-15,30%_after)+1pp"
    assert stats["jumps_beyond_limit"] == quality["daily_moves"][limit_key]
    assert stats["index_rows"] == {"1001": 2955, "2001": 2955}
    assert stats["unmapped_sector_codes"] == len(result.unmapped) > 0
    assert "value" in bundle.unavailable and "market_cap" in bundle.unavailable
    with MarketStore(tmp_path / "home", read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM daily_prices") == n == len(bundle.prices)
        halted_kept = int(bundle.prices["open"].isna().sum())
        assert store.scalar("SELECT count(*) FROM daily_prices WHERE open IS NULL") == halted_kept > 50_000
        assert store.scalar("SELECT count(*) FROM daily_prices WHERE open IS NULL AND high IS NOT NULL") == 0
        assert store.scalar("SELECT count(DISTINCT price_basis) FROM stocks") == 1
        assert store.scalar("SELECT min(price_basis) FROM stocks") == "adjusted"
        assert store.scalar("SELECT count(*) FROM adjustments") == 0
        status = dict(store.con.execute("SELECT field, reason FROM field_status WHERE NOT available").fetchall())
        assert "vwap cannot be derived and is never approximated by close" in status["value"]
        assert "not point in time" in status["market_cap"]
        assert store.scalar("SELECT count(*) FROM index_prices") == 2 * 2955


def test_cli_price_basis_option(tmp_path: Path) -> None:
    """Issue 15: the hint "import with price_basis='adjusted'" now has a CLI option."""
    from typer.testing import CliRunner

    from lasps.cli.main import app

    path = tmp_path / "prices.csv"
    long_frame().drop(columns=["change_ratio"]).to_csv(path, index=False)
    runner = CliRunner()
    raw = runner.invoke(app, ["data", "import", str(path), "--home", str(tmp_path / "raw")])
    assert raw.exit_code == 0, raw.output
    assert "--price-basis adjusted" in raw.output  # the hint names the option
    adj = runner.invoke(app, ["data", "import", str(path), "--price-basis", "adjusted", "--home", str(tmp_path / "a")])
    assert adj.exit_code == 0, adj.output
    with MarketStore(tmp_path / "a", read_only=True) as store:
        assert set(store.query_df("SELECT price_basis FROM stocks")["price_basis"]) == {"adjusted"}
    bad = runner.invoke(app, ["data", "import", str(path), "--price-basis", "split", "--home", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "--price-basis" in bad.output
