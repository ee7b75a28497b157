"""Quality checks: one planted problem of each kind is caught; a clean market passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lasps.data.checks import check_store, run_checks
from lasps.data.store import MarketStore
from tests.conftest import make_bundle


def planted() -> tuple[pd.DataFrame, pd.DataFrame]:
    b = make_bundle(n_days=60, split_day=None)
    p = b.prices.copy()
    dates = sorted(p["date"].unique())
    code_rows = {c: p.index[p["code"] == c] for c in p["code"].unique()}
    # 1. OHLC violation: high below close on 005930 day 5
    p.loc[code_rows["005930"][5], "high"] = p.loc[code_rows["005930"][5], "close"] - 50
    # 2. unexplained jump: 035420 triples from day 30 on (a mix of adjustment bases)
    for col in ("open", "high", "low", "close"):
        p.loc[code_rows["035420"][30:], col] *= 3.0
    # 3. duplicate key: day 7 of 091990 twice
    p = pd.concat([p, p.loc[[code_rows["091990"][7]]]], ignore_index=True)
    # 4. calendar gap: session 20 missing for every code
    p = p[p["date"] != dates[20]]
    # 5. stale series: 069500 close and volume frozen for 12 rows from day 40
    rows = code_rows["069500"][40:52]
    p.loc[rows, "close"] = p.loc[rows[0], "close"]
    p.loc[rows, "volume"] = 777.0
    p.loc[rows, ["open", "high", "low"]] = p.loc[rows[0], "close"]
    # 6. unmapped sector: a common stock without sector
    s = b.stocks.copy()
    s.loc[s["code"] == "091990", ["sector_code", "sector_name", "sector_id"]] = ["9999", "알수없음", None]
    return p.reset_index(drop=True), s


def test_each_planted_problem_is_caught():
    prices, stocks = planted()
    f = run_checks(prices, stocks)
    got = {rule: g for rule, g in f.groupby("rule")}
    assert set(got) == {"ohlc_violation", "unexplained_jump", "duplicate_key", "calendar_gap",
                        "stale_series", "unmapped_sector"}
    assert got["ohlc_violation"][["code"]].values.ravel().tolist() == ["005930"]
    assert got["unexplained_jump"]["code"].tolist() == ["035420"]
    assert got["duplicate_key"]["code"].tolist() == ["091990"]
    assert len(got["calendar_gap"]) == 1
    assert "069500" in got["stale_series"]["code"].tolist()
    assert got["unmapped_sector"]["code"].tolist() == ["091990"]
    assert set(f.loc[f["rule"] == "unmapped_sector", "severity"]) == {"warning"}


def test_clean_hand_market_has_no_findings():
    b = make_bundle(n_days=60, split_day=None)
    assert run_checks(b.prices, b.stocks).empty


def test_adjusted_basis_gets_one_krw_tolerance():
    b = make_bundle(n_days=10, split_day=None)
    p = b.prices.copy()
    p.loc[0, "close"] = p.loc[0, "high"] + 1.0
    assert (run_checks(p, b.stocks)["rule"] == "ohlc_violation").sum() == 1
    s = b.stocks.copy()
    s["price_basis"] = "adjusted"
    assert (run_checks(p, s)["rule"] == "ohlc_violation").sum() == 0


def test_non_positive_and_zero_volume():
    b = make_bundle(n_days=10, split_day=None)
    p = b.prices.copy()
    p.loc[1, "low"] = 0.0
    p.loc[2, "volume"] = 0.0
    rules = set(run_checks(p, b.stocks)["rule"])
    assert {"non_positive_price", "zero_volume_prices"} <= rules


def test_store_check_records_findings_and_sees_split_as_adjusted(home):
    b = make_bundle(n_days=60, split_day=30)  # a split explained by the change ratio: not a jump
    b.stocks.loc[b.stocks["code"] == "091990", "sector_id"] = None
    with MarketStore(home) as s:
        s.write_bundle(b)
    report = check_store(home)
    assert report.errors == 0
    assert report.findings["rule"].tolist() == ["unmapped_sector"]
    with MarketStore(home, read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM quality_findings WHERE check_run = ?", [report.run_id]) == 1
        assert s.scalar("SELECT code FROM unmapped_sectors") == "091990"


def test_store_check_flags_unexplained_jump(home):
    b = make_bundle(n_days=60, split_day=30)
    split_row = b.prices.index[b.prices["code"] == "005930"][30]
    b.prices.loc[split_row, "change_ratio"] = np.nan  # the exchange's ratio is lost: the halving is unexplained
    with MarketStore(home) as s:
        s.write_bundle(b)
    report = check_store(home)
    assert report.findings.loc[report.findings["rule"] == "unexplained_jump", "code"].tolist() == ["005930"]


@pytest.mark.slow
def test_clean_synthetic_market_passes(home):
    synthetic = pytest.importorskip("lasps.data.sources.synthetic")
    bundle = synthetic.generate_synthetic(stocks=120, years=2, seed=3)
    with MarketStore(home) as s:
        s.write_bundle(bundle)
    report = check_store(home)
    assert report.errors == 0, report.summary().to_string()
