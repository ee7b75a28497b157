"""`lasps demo` on a small market: builds a fresh home, runs daily + the in/out-of-sample backtest."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lasps.errors import ConfigError
from lasps.pipeline import outputs as out
from lasps.pipeline.demo import MARKER, prepare_home
from tests.pipeline.fixtures import cli_app


def test_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    args = ["demo", "--home", str(home), "--stocks", "60", "--years", "2", "--seed", "3", "--alphas", "1-6,44"]
    res = CliRunner().invoke(cli_app(), args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    words = " ".join(res.output.split())
    for text in ("LASPS demo", "1/3 market", "2/3 daily pipeline", "3/3 backtest", "Today's picks",
                 "in sample", "out of sample", "lasps serve --home"):
        assert text in words, text
    assert (home / MARKER).is_file()
    day = out.latest_date(home)
    assert day is not None and all(p.is_file() for p in out.report_paths(home, day))
    orders = out.read_json(out.run_dir(home, day) / "orders.json")
    assert orders and orders["orders"] and {o["state"] for o in orders["orders"]} == {"ACKNOWLEDGED"}
    assert len([p for p in (home / "backtests").iterdir() if p.name.startswith("oos-")]) == 1


def test_prepare_home_rebuilds_only_demo_homes(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    prepare_home(home)
    (home / "stale.txt").write_text("x")
    prepare_home(home)  # a previous demo home: rebuilt from scratch
    assert (home / MARKER).is_file() and not (home / "stale.txt").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "lasps.duckdb").write_text("not a demo")
    with pytest.raises(ConfigError, match="not a demo home"):
        prepare_home(other)
    assert (other / "lasps.duckdb").read_text() == "not a demo"
