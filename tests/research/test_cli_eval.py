"""``lasps eval …`` through the CLI on a small stored market (typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from lasps.cli import eval_cmd
from lasps.data.store import MarketStore
from lasps.research.ranking import RANK_COLUMNS
from tests.research.conftest import market_bundle, noise_alpha, store_market

root = typer.Typer()
root.add_typer(eval_cmd.app, name="eval")
runner = CliRunner()


def invoke(home: Path, *args: str):
    return runner.invoke(root, ["eval", *args], env={"LASPS_HOME": str(home), "COLUMNS": "250"})


def research(home: Path) -> Path:
    return home / "research"


@pytest.mark.parametrize("cmd", [[], ["ic"], ["rank"], ["walkforward"], ["overfit"], ["corr"]])
def test_help(tmp_path, cmd):
    result = invoke(tmp_path, *cmd, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_rank_writes_the_files_and_tables(stored_home):
    result = invoke(stored_home, "rank", "--split", "test", "--top", "4")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "6 variants tried (3 alphas × 2 directions)" in out
    assert "IC_IR val" in out and "IC_IR train" in out           # out-of-sample beside in-sample
    assert "60/20/20" not in out                                  # the fixed splits are populated here
    rank = pd.read_csv(research(stored_home) / "rank_latest.csv")
    assert list(rank.columns) == list(RANK_COLUMNS)
    assert len(rank) == 6 * 4
    test = rank[rank["split"] == "test"].sort_values("ic_ir", ascending=False)
    assert test.iloc[0]["variant"] == "alpha_001"
    daily = pd.read_parquet(research(stored_home) / "ic_daily_latest.parquet")
    assert list(daily.columns) == ["date", "variant", "ic"]
    assert set(daily["variant"]) == {"alpha_001", "alpha_001_rev", "alpha_002", "alpha_002_rev",
                                     "alpha_003", "alpha_003_rev"}
    assert len(list(research(stored_home).glob("rank_2*.csv"))) >= 1           # timestamped copy
    with MarketStore(stored_home, read_only=True) as store:
        runs = store.query_df("SELECT * FROM eval_runs WHERE command = 'rank'")
        assert len(runs) >= 1
        run_id = runs["run_id"].iloc[-1]
        n = store.scalar("SELECT count(*) FROM eval_results WHERE run_id = ?", [run_id])
        assert n == 24
        k = store.query_df("SELECT date, known_date FROM eval_ic_daily LIMIT 5")
        assert ((pd.to_datetime(k["known_date"]) - pd.to_datetime(k["date"])).dt.days > 0).all()


def test_ic_writes_png_and_self_contained_html(stored_home):
    result = invoke(stored_home, "ic", "--alphas", "1,2")
    assert result.exit_code == 0, result.output
    assert "alpha_001" in result.output and "alpha_003" not in result.output
    png = research(stored_home) / "ic_latest.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (research(stored_home) / "ic_latest.html").read_text(encoding="utf-8")
    assert "<svg" in html and "src=\"http" not in html and "<script src" not in html


def test_walkforward(stored_home):
    result = invoke(stored_home, "walkforward", "--top", "1", "--lookback", "60")
    assert result.exit_code == 0, result.output
    for name in ("walk_forward", "in_sample (look-ahead)", "train_test", "in_sample_test"):
        assert name in result.output
    assert "in-sample minus walk-forward" in result.output
    summary = pd.read_csv(research(stored_home) / "walkforward_latest.csv")
    assert len(summary) == 5
    assert (research(stored_home) / "walkforward_latest.png").is_file()
    assert (research(stored_home) / "walkforward_latest.html").is_file()
    with MarketStore(stored_home, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM eval_walkforward") >= 5
        assert store.scalar("SELECT count(*) FROM eval_selections") > 0


def test_overfit_and_corr(stored_home):
    result = invoke(stored_home, "overfit", "--blocks", "8")
    assert result.exit_code == 0, result.output
    assert "deflated Sharpe ratio" in result.output and "PBO" in result.output
    data = json.loads((research(stored_home) / "overfit_latest.json").read_text())
    assert data["chosen"] == "alpha_001" and 0 <= data["dsr"] <= 1
    # issue 15: 6 variants = 3 trials (mirror pairs counted once); the hurdle counts the effective ones
    assert data["n_variants"] == 6 and data["n_trials_alphas"] == 3 and 1 <= data["n_trials"] <= 3
    assert data["n_trials"] == data["n_effective"] and "verdict:" in result.output
    result = invoke(stored_home, "corr")
    assert result.exit_code == 0, result.output
    clusters = pd.read_csv(research(stored_home) / "clusters_latest.csv")
    assert set(clusters["alpha"]) == {"alpha_001", "alpha_002", "alpha_003"}


def test_bad_options_exit_2(stored_home):
    result = invoke(stored_home, "rank", "--split", "holdout")
    assert result.exit_code == 2 and "unknown split" in result.output
    result = invoke(stored_home, "rank", "--entry", "vwap")
    assert result.exit_code == 2 and "--entry open" in result.output
    result = invoke(stored_home, "rank", "--alphas", "alpha_999999")
    assert result.exit_code == 2 and "unknown alpha" in result.output
    result = invoke(stored_home, "rank", "--train-end", "2024-01-01", "--val-end", "2023-01-01")
    assert result.exit_code == 2


def test_no_stored_alphas_with_no_compute_tells_what_to_run(home):
    store_market(home, market_bundle(n_days=200))
    result = invoke(home, "rank", "--no-compute")
    assert result.exit_code == 2
    assert "lasps alpha compute" in result.output


def test_alphas_are_computed_on_the_fly_and_fallback_splits_are_announced(home):
    pytest.importorskip("lasps.alpha.engine")
    store_market(home, market_bundle(n_days=300, start="2024-03-04"))
    result = invoke(home, "rank", "--alphas", "101,12", "--split", "all")
    assert result.exit_code == 0, result.output
    assert "computing on the fly" in result.output
    assert "60/20/20" in result.output                      # 2024-03 … 2025-05 has no 2022 / 2023
    rank = pd.read_csv(research(home) / "rank_latest.csv")
    assert set(rank["variant"]) == {"alpha_101", "alpha_101_rev", "alpha_012", "alpha_012_rev"}
    assert not (home / "alphas").exists() or not list((home / "alphas").glob("*.parquet"))


def test_stale_stored_alphas_are_flagged(home):
    from lasps.alpha.store import write_alpha

    panel = store_market(home, market_bundle(n_days=200))
    write_alpha(home, "alpha_001", noise_alpha(panel), panel, {"name": "alpha_001", "last_date": "2022-07-01"})
    result = invoke(home, "rank", "--split", "all")
    assert result.exit_code == 0, result.output
    assert "end before the panel" in result.output and "--resume" in result.output
