"""One schema module, one version, migrations: an older store upgrades in place; the typed queries answer
what the rest of LASPS used to ask in SQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lasps.data import schema
from lasps.data.store import HomeStore, MarketStore, store_provider
from lasps.errors import StoreError
from tests.conftest import make_bundle


def _tables(store: MarketStore) -> set[str]:
    return set(store.query_df("SELECT table_name FROM information_schema.tables")["table_name"])


def test_every_table_is_created_from_the_schema_module(home: Path) -> None:
    with MarketStore(home) as s:
        tables = _tables(s)
    created = {stmt.split("EXISTS", 1)[1].split("(", 1)[0].strip() for stmt in schema.DDL}
    assert created <= tables
    assert {"eval_runs", "eval_results", "backtest_runs", "trades", "picks", "predictions", "stocks"} <= created
    assert set(schema.RUN_TABLES) <= created


def test_a_version_1_store_is_upgraded_when_opened_for_writing(home: Path) -> None:
    with MarketStore(home) as s:
        s.write_bundle(make_bundle(n_days=30))
        s.con.execute("DELETE FROM schema_version")
        s.con.execute("INSERT INTO schema_version VALUES (1, now())")
        for table in ("picks", "eval_runs", "backtest_daily", "predictions"):
            s.con.execute(f"DROP TABLE {table}")
    with MarketStore(home, read_only=True) as s:  # an old store stays readable
        assert s.scalar("SELECT max(version) FROM schema_version") == 1
        assert not s.has_table("picks")
        n_prices = s.scalar("SELECT count(*) FROM daily_prices")
    with MarketStore(home) as s:
        assert s.scalar("SELECT max(version) FROM schema_version") == schema.SCHEMA_VERSION == 2
        assert [r[0] for r in s.con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()] == [1, 2]
        assert {"picks", "eval_runs", "backtest_daily", "predictions"} <= _tables(s)
        assert s.scalar("SELECT count(*) FROM daily_prices") == n_prices  # data untouched


def test_typed_queries(home: Path) -> None:
    bundle = make_bundle(n_days=30)
    with MarketStore(home) as s:
        s.write_bundle(bundle, kind="init", detail='{"stocks": 3, "years": 0.1, "seed": 5}')
    days = np.sort(pd.to_datetime(bundle.prices["date"]).unique()).astype("datetime64[D]")
    with store_provider(home).store() as s:
        np.testing.assert_array_equal(s.sessions(), days)
        first, last = s.date_range()
        assert (first, last) == (pd.Timestamp(days[0]).date(), pd.Timestamp(days[-1]).date())
        d10 = pd.Timestamp(days[10]).date()
        assert s.warmup_start(d10, 4) == pd.Timestamp(days[6]).date()
        assert s.warmup_start(d10, 0) == d10
        assert s.warmup_start(d10, 100) == first
        assert s.warmup_start(first, 3) == first
        assert s.sessions_upto(d10, 3) == [pd.Timestamp(d).date() for d in days[10:7:-1]]
        assert s.has_session(d10) and not s.has_session(d10 + dt.timedelta(days=400))
        code = str(bundle.prices["code"].iloc[0])
        bar = s.bar(code, first)
        row = bundle.prices[(bundle.prices["code"] == code)].sort_values("date").iloc[0]
        assert bar is not None and bar["close"] == pytest.approx(row["close"])
        assert s.stock(code)["code"] == code and s.stock("999999") is None
        assert list(s.stock_table(("code", "name")).columns) == ["code", "name"]
        with pytest.raises(StoreError, match="unknown stocks column"):
            s.stock_table(("code; DROP TABLE stocks",))
        assert s.source_label() == "test"
        assert s.latest_ok_source() == "test"


def test_source_label_names_the_synthetic_market(home: Path) -> None:
    bundle = make_bundle(n_days=30)
    bundle.source = "synthetic"
    with MarketStore(home) as s:
        s.write_bundle(bundle, kind="init", detail='{"stocks": 3, "years": 0.5, "seed": 5}')
        assert s.source_label() == "synthetic (3 listings × 0.5 y, seed 5)"


def test_run_rows_are_replaced_per_run_and_picks_per_date(home: Path) -> None:
    with HomeStore(home).store(write=True) as s:
        frame = pd.DataFrame({"alpha": ["a", "b"], "cluster": [0, 1], "cluster_size": [1, 1]})
        s.replace_run_rows({"eval_clusters": frame}, "r1")
        s.replace_run_rows({"eval_clusters": frame.iloc[:1]}, "r2")
        s.replace_run_rows({"eval_clusters": frame.iloc[:1]}, "r1")  # a re-run replaces its own rows only
        assert s.scalar("SELECT count(*) FROM eval_clusters WHERE run_id = 'r1'") == 1
        assert s.scalar("SELECT count(*) FROM eval_clusters") == 2
        with pytest.raises(StoreError, match="not a run table"):
            s.replace_run_rows({"stocks": frame}, "r3")
        day = dt.date(2026, 1, 5)
        picks = pd.DataFrame({"date": [pd.Timestamp(day)] * 2, "rank": [1, 2], "code": ["000010", "000020"],
                              "name": ["a", "b"], "votes": [2, 1], "rank_sum": [1.5, 0.5], "score": [3.0, 1.0],
                              "close": [100.0, 200.0], "nominated_by": ["x", "y"],
                              "created_at": [pd.Timestamp.now()] * 2})
        s.replace_picks(day, picks)
        s.replace_picks(day, picks.iloc[:1])
        assert s.scalar("SELECT count(*) FROM picks") == 1
