"""`lasps daily` / `lasps demo` through the CLI: bad input exits 2 with a clear message; output reads well."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lasps.data.store import MarketStore
from tests.pipeline.fixtures import POOL, cli_app, copy_home

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(cli_app(), list(args), catch_exceptions=False)


@pytest.mark.parametrize(("date", "message"), [
    ("2026-13-45", "cannot parse --date"),
    ("yesterday", "cannot parse --date"),
    ("02/25/2026", "cannot parse --date"),
    ("2099-01-02", "is in the future"),
    ("2026-10-31", "is not a KRX trading day"),          # a Saturday
    ("2026-10-03", "is not a KRX trading day"),          # 개천절 (national holiday)
    ("2020-03-02", "no prices stored for 2020-03-02"),   # a session before the stored data
    ("2024-11-05", "not enough history"),                # stored, but only a few sessions before it
])
def test_bad_dates_exit_2(daily_run: tuple[Path, Any], tmp_path: Path, date: str, message: str) -> None:
    home = copy_home(daily_run[0], tmp_path / "home")
    res = invoke("daily", "--home", str(home), "--date", date, "--alphas", POOL)
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split()), res.output


def test_missing_and_empty_store_exit_2(tmp_path: Path) -> None:
    res = invoke("daily", "--home", str(tmp_path / "nowhere"))
    assert res.exit_code == 2 and "no market store" in res.output
    empty = tmp_path / "empty"
    MarketStore(empty).close()  # schema, no prices
    res = invoke("daily", "--home", str(empty))
    assert res.exit_code == 2 and "holds no prices" in res.output


@pytest.mark.parametrize(("args", "message"), [
    (("--metric", "sharpe"), "unknown selection metric"),
    (("--orders", "kiwoom-rest"), "not supported by `lasps daily`"),
    (("--alphas", "999"), "unknown alpha"),
    (("--source", "bloomberg"), "unknown source"),
    (("--window", "5"), "--window must be >= 20"),
])
def test_bad_options_exit_2(base_home: Path, args: tuple[str, ...], message: str) -> None:
    res = invoke("daily", "--home", str(base_home), *args)
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split()), res.output


def test_cli_prints_picks_and_report_paths(daily_run: tuple[Path, Any], tmp_path: Path) -> None:
    home = copy_home(daily_run[0], tmp_path / "home")
    res = invoke("daily", "--home", str(home), "--alphas", POOL)
    assert res.exit_code == 0, res.output
    words, flat = " ".join(res.output.split()), "".join(res.output.split())
    for code in daily_run[1].picks["code"]:
        assert code in words
    assert "done earlier" in words and "2026-10-30_alpha.md" in flat and "walk-forward" in words


def test_demo_refuses_a_home_that_is_not_a_demo_home(base_home: Path) -> None:
    res = invoke("demo", "--home", str(base_home))
    assert res.exit_code == 2 and "is not a demo home" in " ".join(res.output.split())


def test_serve_refuses_a_missing_home(tmp_path: Path) -> None:
    res = invoke("serve", "--home", str(tmp_path / "nope"))
    assert res.exit_code == 2 and "does not exist" in res.output
