"""``lasps alpha mine`` through the CLI: bad input exits 2 writing nothing; kill -9 then --resume gives
the uninterrupted run's shortlist byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lasps.cli.main import app
from tests.mining.conftest import CFG, copy_home

runner = CliRunner()


def invoke(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["alpha", "mine", *args, "--home", str(home)])


@pytest.mark.parametrize(("args", "where", "says"), [
    (["--operators", "rank,ts_magic"], "--operators", "unknown operator 'ts_magic'"),
    (["--max-depth", "1"], "--max-depth", "max depth must be between 2 and 10"),
    (["--max-depth", "12"], "--max-depth", "max depth must be between 2 and 10"),
    (["--max-window", "1"], "--max-window", "at least 2 sessions"),
    (["--max-window", "250"], "--max-window", "training sessions"),
    (["--holdout", "0.05"], "--holdout", "at least 60 are needed"),
    (["--holdout", "1.5"], "--holdout", "share of the dates"),
    (["--trials", "0"], "--trials", "at least 1"),
])
def test_bad_input_exits_2_and_writes_nothing(default_home: Path, tmp_path: Path, args, where, says) -> None:
    home = copy_home(default_home, tmp_path / "h")
    before = sorted(p.name for p in (home / "mining").iterdir()) if (home / "mining").exists() else []
    result = invoke(home, *args, "--trials" if "--trials" not in args else "--seed", "5")
    assert result.exit_code == 2, result.output
    assert f"where: {where}" in result.output and says in result.output and "fix:" in result.output
    after = sorted(p.name for p in (home / "mining").iterdir()) if (home / "mining").exists() else []
    assert after == before


def test_empty_store_exits_2(tmp_path: Path) -> None:
    result = invoke(tmp_path / "nothing", "--trials", "5")
    assert result.exit_code == 2
    assert "lasps data init" in result.output
    assert not (tmp_path / "nothing" / "mining").exists()


def test_kill_9_then_resume_gives_the_uninterrupted_shortlist(default_home: Path, default_run,  # type: ignore[no-untyped-def]
                                                               tmp_path: Path) -> None:
    reference = default_run  # the same options, uninterrupted, in-process
    home = copy_home(default_home, tmp_path / "killed")
    shutil.rmtree(home / "mining", ignore_errors=True)  # only the market store, no earlier runs
    args = ["--trials", str(CFG.trials), "--seed", str(CFG.seed)]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lasps.cli.main", "alpha", "mine", *args, "--home", str(home)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = None
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            for ck in (home / "mining").glob("*/checkpoint.json"):
                try:
                    gen = json.loads(ck.read_text())["generation"]
                except (OSError, ValueError):
                    continue
                if gen >= 2:
                    run_dir = ck.parent
            if run_dir is not None:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None and run_dir is None:
            proc.kill()
        proc.wait()
    assert run_dir is not None and proc.returncode == -signal.SIGKILL
    assert not (run_dir / "shortlist.csv").exists()
    done = json.loads((run_dir / "checkpoint.json").read_text())
    assert done["generation"] >= 2 and len(done["trials"]) < CFG.trials
    resumed = invoke(home, *args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert (run_dir / "shortlist.csv").read_bytes() == (reference.directory / "shortlist.csv").read_bytes()
    assert (home / "mining" / "latest").read_text().strip() == run_dir.name
    # a second --resume has nothing left to continue
    again = invoke(home, *args, "--resume")
    assert again.exit_code == 2 and "no unfinished mining run" in again.output
