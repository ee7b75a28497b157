"""Market store: schema version, idempotent upserts, transactions, adjustment derivation."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from lasps.data.schema import SCHEMA_VERSION
from lasps.data.store import MarketStore
from lasps.errors import StoreError
from tests.conftest import make_bundle


def table_counts(home) -> dict[str, int]:
    with MarketStore(home, read_only=True) as s:
        return {t: s.scalar(f"SELECT count(*) FROM {t}")
                for t in ("stocks", "daily_prices", "adjustments", "index_prices")}


def test_schema_version_recorded(home):
    with MarketStore(home) as s:
        assert s.scalar("SELECT max(version) FROM schema_version") == SCHEMA_VERSION
    with MarketStore(home) as s:  # migrate twice: still one row
        assert s.scalar("SELECT count(*) FROM schema_version") == 1


def test_read_only_open_of_missing_store_says_how_to_create(tmp_path):
    with pytest.raises(StoreError, match="lasps data init"):
        MarketStore(tmp_path / "nowhere", read_only=True)


def test_newer_schema_is_refused(home):
    with MarketStore(home) as s:
        s.con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    with pytest.raises(StoreError, match="newer"):
        MarketStore(home)


def test_upsert_is_idempotent(home, tiny_bundle):
    with MarketStore(home) as s:
        s.write_bundle(tiny_bundle)
    first = table_counts(home)
    with MarketStore(home) as s:
        s.write_bundle(tiny_bundle)
    assert table_counts(home) == first
    assert first["daily_prices"] == 4 * 80


def test_upsert_replaces_values(home, tiny_bundle):
    with MarketStore(home) as s:
        s.write_bundle(tiny_bundle)
        changed = tiny_bundle.prices.iloc[:1].copy()
        changed["close"] = 123.0
        tiny_bundle.prices = changed
        s.write_bundle(tiny_bundle)
        code, date = changed.iloc[0]["code"], changed.iloc[0]["date"].date()
        assert s.scalar("SELECT close FROM daily_prices WHERE code=? AND date=?", [code, date]) == 123.0
        assert s.scalar("SELECT count(*) FROM daily_prices") == 4 * 80


def test_failed_write_rolls_back_everything(home, tiny_bundle):
    with MarketStore(home) as s:
        s.write_bundle(tiny_bundle)
    before = table_counts(home)
    bad = make_bundle(start="2024-06-03")
    bad.flows = bad.flows.reindex(range(1))  # a flows frame with a NULL key violates NOT NULL
    with MarketStore(home) as s, pytest.raises(duckdb.Error):
        s.write_bundle(bad)
    assert table_counts(home) == before


def test_adjustment_derived_from_change_ratio(home):
    """A 1:2 split on day 40: ratio 0.5 on that date, factor 0.5 for every earlier row."""
    with MarketStore(home) as s:
        s.write_bundle(make_bundle(split_day=40, split_ratio=0.5))
        adj = s.query_df("SELECT code, date, ratio, factor FROM adjustments")
    assert list(adj["code"]) == ["005930"]
    assert adj["ratio"].iloc[0] == pytest.approx(0.5)
    assert adj["factor"].iloc[0] == pytest.approx(0.5)


def test_two_events_cumulate_backwards(home):
    b = make_bundle(split_day=40, split_ratio=0.5)
    p = b.prices
    sel = (p["code"] == "035420") & (p.index % 80 >= 20)
    # a 1:4 split on day 20 of 035420 and a 1:2 split on day 60
    day = p.loc[p["code"] == "035420"].reset_index(drop=True)
    raw = day["close"].to_numpy().copy()
    factor = np.where(np.arange(80) >= 20, 0.25, 1.0) * np.where(np.arange(80) >= 60, 0.5, 1.0)
    raw = raw * factor
    cr = np.r_[0.0, raw[1:] / (raw[:-1] * factor[1:] / factor[:-1]) - 1.0]
    idx = p.index[p["code"] == "035420"]
    for col in ("open", "high", "low", "close"):
        p.loc[idx, col] = day[col].to_numpy() * factor
    p.loc[idx, "change_ratio"] = cr
    assert sel.any()
    with MarketStore(home) as s:
        s.write_bundle(b)
        adj = s.query_df("SELECT date, ratio, factor FROM adjustments WHERE code='035420' ORDER BY date")
    assert adj["ratio"].round(6).tolist() == [0.25, 0.5]
    # factor applies to rows before the date: before day 20 both splits apply
    assert adj["factor"].round(6).tolist() == [0.125, 0.5]


def test_adjusted_basis_codes_get_no_adjustments(home):
    b = make_bundle(split_day=40)
    b.stocks.loc[b.stocks["code"] == "005930", "price_basis"] = "adjusted"
    with MarketStore(home) as s:
        s.write_bundle(b)
        assert s.scalar("SELECT count(*) FROM adjustments") == 0


def test_resumable_chunks(home, tiny_bundle):
    with MarketStore(home) as s:
        s.write_bundle(tiny_bundle, job="j", chunk="2024-01-02")
        assert s.done_chunks("j") == {"2024-01-02"}
        s.clear_job("j")
        assert s.done_chunks("j") == set()


def test_replace_empties_market_tables(home, tiny_bundle):
    with MarketStore(home) as s:
        s.write_bundle(tiny_bundle)
        small = make_bundle(n_days=10, split_day=None)
        small.stocks = small.stocks.iloc[:1]
        small.prices = small.prices[small.prices["code"] == "005930"]
        s.write_bundle(small, replace=True)
        assert s.scalar("SELECT count(*) FROM daily_prices") == 10
        assert s.scalar("SELECT count(*) FROM stocks") == 1
