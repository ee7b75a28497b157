"""``lasps backtest`` through the CLI (CliRunner) on a small stored market: round trips and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lasps.cli.backtest_cmd import app
from tests.backtest.conftest import DELISTED_CODE

runner = CliRunner()
# alphas built from elementwise operators, delta and rank: cheap to compile on a cold numba cache
ALPHAS = "12,33,101_rev"
POOL = "12,33,41,53,54,101"


def _invoke(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [*args, "--home", str(home)])


@pytest.fixture
def home(market_home: Path, tmp_path: Path) -> Path:
    """A private copy of the stored market (runs write into it)."""
    dst = tmp_path / "home"
    shutil.copytree(market_home, dst)
    return dst


def test_run_round_trip(home: Path) -> None:
    res = _invoke(home, "run", "--strategy", "voting", "--alphas", ALPHAS, "--top", "3", "--rebalance", "5",
                  "--start", "2023-05-02", "--end", "2023-12-28", "--capital", "50000000")
    assert res.exit_code == 0, res.output
    rid = (home / "backtests" / "latest").read_text().strip()
    run_dir = home / "backtests" / rid
    s = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert s["strategy"] == "voting"
    assert s["parameters"]["variants"] == ["alpha_012", "alpha_033", "alpha_101_rev"]
    assert s["parameters"]["start"] == "2023-05-02" and s["parameters"]["end"] == "2023-12-28"
    daily = pd.read_csv(run_dir / "daily.csv")
    trades = pd.read_csv(run_dir / "trades.csv", dtype={"code": str})
    assert (daily["cash"] >= 0).all()
    np.testing.assert_allclose(daily["total_value"], daily["cash"] + daily["positions_value"])
    assert daily["total_value"].iloc[-1] == pytest.approx(5e7 * (1 + s["total_return"]))
    assert s["fees"] == pytest.approx(trades["fee"].sum()) and s["taxes"] == pytest.approx(trades["tax"].sum())
    assert daily["benchmark"].notna().all()
    # the delisted stock is never held past its delisting; a forced close is flagged 'delisted'
    d = trades[trades["code"] == DELISTED_CODE]
    signed = np.where(d["side"] == "buy", d["qty"], -d["qty"])
    assert signed.sum() == 0
    assert (d.loc[d["reason"] == "delisted", "date"] <= "2023-09-12").all()
    con = duckdb.connect(str(home / "lasps.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM backtest_daily WHERE run_id = ?", [rid]).fetchone()[0] == len(daily)
    finally:
        con.close()
    show = _invoke(home, "show", "--json")
    assert show.exit_code == 0 and json.loads(show.output)["run_id"] == rid


def test_adaptive_and_single(home: Path) -> None:
    res = _invoke(home, "run", "--strategy", "adaptive", "--alphas", "12,33,54,101", "--lookback", "20",
                  "--min-days", "10", "--n-select", "2", "--no-save")
    assert res.exit_code == 0, res.output
    assert not (home / "backtests").exists()
    res = _invoke(home, "run", "--strategy", "single", "--alphas", "12_rev", "--top", "2", "--no-save")
    assert res.exit_code == 0, res.output


def test_compare_writes_table_and_png(home: Path) -> None:
    res = _invoke(home, "compare", "--strategies", "single,ensemble,voting", "--alphas", "top2:all",
                  "--pool", POOL, "--start", "2023-06-01", "--end", "2023-12-28")
    assert res.exit_code == 0, res.output
    assert "KOSPI" in res.output and "IN-SAMPLE" in res.output
    group = sorted((home / "backtests").glob("compare-*"))[-1]
    table = pd.read_csv(group / "summary.csv")
    # single x 2 selected variants + ensemble + voting, then KOSPI over the same sessions
    assert table["strategy"].tolist() == ["single", "single", "ensemble", "voting", "benchmark"]
    assert (group / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_default_selection_is_the_prior_year(home: Path) -> None:
    res = _invoke(home, "run", "--alphas", "top2:prior", "--pool", POOL, "--start", "2023-10-02",
                  "--end", "2024-01-12", "--no-save")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "over 2022-10-02..2023-10-01" in text and "IN-SAMPLE" not in text


def test_oos_experiment_in_one_command(home: Path) -> None:
    res = _invoke(home, "oos", "--select-start", "2023-04-01", "--select-end", "2023-08-31",
                  "--trade-start", "2023-09-01", "--trade-end", "2024-01-12", "--pool", POOL,
                  "--n-alphas", "3")
    assert res.exit_code == 0, res.output
    assert "in-sample" in res.output and "out-of-sample" in res.output
    group = sorted((home / "backtests").glob("oos-*"))[-1]
    table = pd.read_csv(group / "summary.csv")
    assert table["label"].tolist() == ["in-sample", "out-of-sample", "KOSPI", "KOSPI"]
    table = table[table["strategy"] != "benchmark"]
    sel = pd.read_csv(group / "selection.csv")
    assert len(sel) == 3 and {"variant", "ic_ir", "ic_ir_trade"} <= set(sel.columns)
    runs = [json.loads((home / "backtests" / r / "summary.json").read_text()) for r in table["run_id"]]
    assert runs[0]["parameters"]["variants"] == runs[1]["parameters"]["variants"] == sel["variant"].tolist()
    assert runs[1]["parameters"]["start"] >= "2023-09-01"


BAD = [
    (["run", "--strategy", "momentum", "--alphas", ALPHAS], "unknown strategy", "--strategy"),
    (["run", "--alphas", "999"], "unknown alpha", "--alphas"),
    (["run", "--alphas", "1,nope_rev"], "unknown alpha", "--alphas"),
    (["run", "--alphas", "top10:someday"], "unknown selection period", "--alphas"),
    (["run", "--alphas", ALPHAS, "--start", "2023-10-01", "--end", "2023-06-01"], "after end", "--start"),
    (["run", "--alphas", ALPHAS, "--start", "2019-01-02", "--end", "2023-06-01"], "outside the stored data",
     "--start"),
    (["run", "--alphas", ALPHAS, "--end", "2030-01-02"], "outside the stored data", "--end"),
    (["run", "--alphas", ALPHAS, "--start", "2023-13-45"], "cannot parse", "--start"),
    (["run", "--alphas", ALPHAS, "--start", "04/01/2021"], "YYYY-MM-DD", "--start"),  # month-first: refused
    (["run", "--alphas", ALPHAS, "--end", "20231002"], "cannot parse", "--end"),
    (["oos", "--select-start", "2023/01/02", "--select-end", "2023-06-30", "--trade-start", "2023-07-03",
      "--trade-end", "2023-09-01"], "cannot parse", "--select-start"),
    (["run", "--alphas", ALPHAS, "--capital", "0"], "capital", "--capital"),
    (["run", "--alphas", ALPHAS, "--capital", "-5"], "capital", "--capital"),
    (["run", "--alphas", ALPHAS, "--top", "50"], "larger than the universe", "--top"),
    (["run", "--alphas", ALPHAS, "--universe", DELISTED_CODE, "--start", "2023-12-01"], "universe is empty",
     "--universe"),
    (["run", "--strategy", "single", "--alphas", "12,33"], "one variant", "--alphas"),
    (["run", "--alphas", "top3:prior", "--start", "2023-01-10"], "data start", "--alphas"),
    (["compare", "--strategies", "single,bogus", "--alphas", ALPHAS], "unknown strategy", "--strategy"),
    (["oos", "--select-year", "2023", "--trade-start", "2023-06-01", "--trade-end", "2023-09-01"], "overlaps",
     "--trade"),
    (["oos", "--select-year", "2023"], "trade period is missing", "--trade-year"),
    (["run", "--alphas", ALPHAS, "--commission", "-1"], "commission", "--commission"),
]


@pytest.mark.parametrize(("args", "what", "where"), BAD, ids=[" ".join(b[0][:3]) + f" #{i}" for i, b in enumerate(BAD)])
def test_bad_input_exit_code_2(market_home: Path, args: list[str], what: str, where: str) -> None:
    res = _invoke(market_home, *args)
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert what in text and f"where: {where}" in text and "fix:" in text


def test_missing_store_is_exit_2(tmp_path: Path) -> None:
    res = _invoke(tmp_path / "nowhere", "run", "--alphas", ALPHAS)
    assert res.exit_code == 2
    assert "no market store" in res.output


def test_costs_come_from_lasps_toml_unless_given(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commission / slippage / tax override set in $LASPS_HOME/lasps.toml reach the simulation; options win."""
    for var in ("LASPS_COMMISSION", "LASPS_SLIPPAGE_BPS", "LASPS_TAX_RATE"):
        monkeypatch.delenv(var, raising=False)
    (home / "lasps.toml").write_text("[costs]\ncommission = 0.001\nslippage_bps = 5\ntax_rate = 0.002\n")
    window = ("--start", "2023-05-02", "--end", "2023-08-31")

    def costs(*extra: str) -> dict:  # type: ignore[type-arg]
        res = _invoke(home, "run", "--strategy", "single", "--alphas", "12", *window, *extra)
        assert res.exit_code == 0, res.output
        shown = _invoke(home, "show", "--json")
        assert shown.exit_code == 0, shown.output
        return json.loads(shown.output)["parameters"]["costs"]

    assert costs() == {"commission": 0.001, "slippage_bps": 5.0, "tax_rate": 0.002, "round_krw": True}
    assert costs("--commission", "0.0003")["commission"] == 0.0003
