"""Run outputs: files written atomically, ``latest`` pointer, DuckDB tables."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from lasps.backtest.market import SimMarket
from lasps.backtest.metrics import compute_metrics
from lasps.backtest.outputs import DAILY_COLUMNS, TRADE_COLUMNS, latest_run_id, new_run_id, summary_record, write_run
from lasps.backtest.simulator import SimConfig, simulate
from lasps.backtest.strategies import Targets


def _result():  # type: ignore[no-untyped-def]
    dates = np.array(["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"], dtype="datetime64[D]")
    px = np.array([[1_000.0, 2_000.0], [1_010.0, 1_990.0], [1_020.0, 2_050.0], [1_000.0, 2_100.0]])
    m = SimMarket.from_arrays(dates, np.array(["005930", "000660"], dtype=object), px, px, np.ones_like(px),
                              benchmark=np.array([2_500.0, 2_510.0, 2_490.0, 2_520.0]))
    t = Targets(np.array([0, 2]), np.array([[0, 1], [1, -1]]), np.array([True, True]))
    return simulate(m, t, SimConfig(1, 3, 10_000_000.0))


def test_write_run_files_latest_and_duckdb(tmp_path: Path) -> None:
    home = tmp_path / "home"
    res = _result()
    metrics = compute_metrics(res)
    rid = new_run_id("voting")
    summary = summary_record(rid, "voting", {"variants": ["alpha_001", "alpha_002_rev"], "top": 2,
                                             "start": "2024-03-05", "end": "2024-03-07"}, metrics, res, ["a note"])
    path = write_run(home, summary, res)
    assert path == home / "backtests" / rid
    assert sorted(p.name for p in path.iterdir()) == ["daily.csv", "summary.json", "trades.csv"]
    s = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    for key in ("strategy", "parameters", "total_return", "annual_return", "volatility", "sharpe", "max_drawdown",
                "win_rate", "profit_factor", "turnover", "fees", "taxes", "excess_return"):
        assert key in s
    assert s["total_return"] == pytest.approx(res.total_value[-1] / 1e7 - 1)
    daily = pd.read_csv(path / "daily.csv", dtype={"date": str})
    assert tuple(daily.columns) == DAILY_COLUMNS
    np.testing.assert_allclose(daily["total_value"], daily["cash"] + daily["positions_value"])
    trades = pd.read_csv(path / "trades.csv", dtype={"code": str})
    assert tuple(trades.columns) == TRADE_COLUMNS
    assert trades["code"].iloc[0] == "005930"  # leading zeros kept
    assert (home / "backtests" / "latest").read_text().strip() == rid == latest_run_id(home)
    # nothing temporary is left behind
    assert [p.name for p in (home / "backtests").iterdir() if p.name.startswith(".")] == []

    con = duckdb.connect(str(home / "lasps.duckdb"), read_only=True)
    try:
        run = con.execute("SELECT strategy, variants, total_return, fees FROM backtest_runs WHERE run_id = ?",
                          [rid]).fetchone()
        assert run[0] == "voting" and run[1] == "alpha_001,alpha_002_rev"
        assert run[2] == pytest.approx(s["total_return"]) and run[3] == pytest.approx(s["fees"])
        assert con.execute("SELECT count(*) FROM backtest_daily WHERE run_id = ?", [rid]).fetchone()[0] == len(daily)
        assert con.execute("SELECT count(*) FROM trades WHERE run_id = ?", [rid]).fetchone()[0] == len(trades)
    finally:
        con.close()

    # a second run moves `latest`; rewriting a run id replaces its rows (idempotent)
    rid2 = new_run_id("single")
    write_run(home, {**summary, "run_id": rid2, "strategy": "single"}, res)
    assert latest_run_id(home) == rid2
    write_run(home, {**summary, "run_id": rid2, "strategy": "single"}, res)
    con = duckdb.connect(str(home / "lasps.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM backtest_runs").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM trades WHERE run_id = ?", [rid2]).fetchone()[0] == len(trades)
    finally:
        con.close()


def test_failed_db_write_leaves_no_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lasps.backtest.outputs as outputs

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(outputs, "_write_db", boom)
    home = tmp_path / "home"
    res = _result()
    rid = new_run_id("voting")
    summary = summary_record(rid, "voting", {"variants": []}, compute_metrics(res), res)
    with pytest.raises(RuntimeError):
        write_run(home, summary, res)
    assert list((home / "backtests").iterdir()) == []
    assert latest_run_id(home) is None
