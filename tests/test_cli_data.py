"""``lasps data …`` through the CLI: help, init/status/check round trip, bad input, SIGKILL resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lasps.cli.main import app
from lasps.data.store import MarketStore

runner = CliRunner()


def invoke(*args: str, home: Path | None = None):
    env = {"LASPS_HOME": str(home)} if home else {}
    return runner.invoke(app, list(args), env=env)


@pytest.mark.parametrize("cmd", [[], ["data"], ["data", "init"], ["data", "import"], ["data", "update"],
                                 ["data", "check"], ["data", "status"], ["alpha"]])
def test_every_command_has_help(cmd):
    result = invoke(*cmd, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_unknown_init_source_exits_2(home):
    result = invoke("data", "init", "--source", "bloomberg", home=home)
    assert result.exit_code == 2
    assert "unknown init source 'bloomberg'" in result.output and "--source synthetic" in result.output


def test_status_of_missing_store_exits_2(tmp_path):
    result = invoke("data", "status", home=tmp_path / "none")
    assert result.exit_code == 2
    assert "lasps data init" in result.output


def test_unwritable_home_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("data", "init", "--stocks", "20", "--years", "1", home=blocker / "sub")
    assert result.exit_code == 2
    assert "not writable" in result.output


def table_fingerprint(home: Path) -> tuple:
    with MarketStore(home, read_only=True) as s:
        return tuple(
            s.scalar(f"SELECT count(*) || ':' || coalesce(sum(hash(t)), 0) FROM {t} t")
            for t in ("stocks", "daily_prices", "adjustments", "index_prices", "investor_flows")
        )


@pytest.fixture(scope="module")
def synthetic_home(tmp_path_factory):
    pytest.importorskip("lasps.data.sources.synthetic")
    home = tmp_path_factory.mktemp("synth")
    result = invoke("data", "init", "--stocks", "150", "--years", "2", "--seed", "5", home=home)
    assert result.exit_code == 0, result.output
    return home


def test_init_status_check_round_trip(synthetic_home):
    status = invoke("data", "status", home=synthetic_home)
    assert status.exit_code == 0, status.output
    for needle in ("codes", "date range", "price rows", "1001", "available fields"):
        assert needle in status.output
    check = invoke("data", "check", home=synthetic_home)
    assert check.exit_code == 0, check.output


def test_init_is_deterministic_and_idempotent(synthetic_home, tmp_path):
    first = table_fingerprint(synthetic_home)
    again = invoke("data", "init", "--stocks", "150", "--years", "2", "--seed", "5", home=synthetic_home)
    assert again.exit_code == 0, again.output
    assert table_fingerprint(synthetic_home) == first
    other = tmp_path / "other"
    assert invoke("data", "init", "--stocks", "150", "--years", "2", "--seed", "5", home=other).exit_code == 0
    assert table_fingerprint(other) == first


def test_init_over_different_data_needs_replace(synthetic_home):
    result = invoke("data", "init", "--stocks", "40", "--years", "1", "--seed", "9", home=synthetic_home)
    assert result.exit_code == 2 and "--replace" in result.output


def test_init_killed_half_way_then_rerun_completes(tmp_path):
    """SIGKILL during the store write, then the same command again: no duplicate or missing rows."""
    pytest.importorskip("lasps.data.sources.synthetic")
    home = tmp_path / "killed"
    cmd = [sys.executable, "-m", "lasps.cli.main", "data", "init", "--stocks", "400", "--years", "3",
           "--seed", "11"]
    env = {**os.environ, "LASPS_HOME": str(home)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # wait until the price rows are being written (DuckDB writes big inserts straight into the
    # database file, which grows past 2 MB while the transaction is still open), then kill
    deadline = time.time() + 120
    db = home / "lasps.duckdb"
    while time.time() < deadline and proc.poll() is None:
        if db.exists() and db.stat().st_size > 2_000_000:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "init finished before it could be killed; make the market larger"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    reference = tmp_path / "reference"
    ok = subprocess.run(cmd, env={**env, "LASPS_HOME": str(reference)}, capture_output=True, text=True,
                        timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert table_fingerprint(home) == table_fingerprint(reference)
    with MarketStore(home, read_only=True) as s:
        assert s.scalar("SELECT count(*) - count(DISTINCT (code, date)) FROM daily_prices") == 0
