"""The step journal and the per-date lock."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lasps.errors import LaspsError
from lasps.files import write_json
from lasps.pipeline.state import RunLock, StepJournal


def test_journal_round_trip_and_param_reset(tmp_path: Path) -> None:
    j = StepJournal(tmp_path, ("a", "b", "c"))
    for s in ("a", "b", "c"):
        assert not j.check_params(s, {"x": 1})
        j.start(s)
        j.finish(s, {"n": float("nan")}, 0.1)
    doc = json.loads((tmp_path / "state.json").read_text())  # strict JSON: NaN written as null
    assert doc["steps"]["a"]["summary"] == {"n": None}
    j2 = StepJournal(tmp_path, ("a", "b", "c"))
    assert all(j2.is_done(s) for s in ("a", "b", "c"))
    assert j2.check_params("b", {"x": 2})  # changed: b and c are reset, a is kept
    assert [j2.steps[s].status for s in ("a", "b", "c")] == ["done", "pending", "pending"]


def test_journal_records_failures(tmp_path: Path) -> None:
    j = StepJournal(tmp_path, ("a",))
    j.start("a")
    j.fail("a", "boom", 0.2)
    again = StepJournal(tmp_path, ("a",))
    assert again.steps["a"].status == "failed" and again.steps["a"].error == "boom"
    assert again.steps["a"].attempts == 1


def test_unreadable_journal_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(LaspsError, match="cannot read the step journal"):
        StepJournal(tmp_path, ("a",))


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    write_json(tmp_path / "x.json", {"a": [1, 2]})
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_lock_refuses_a_live_owner_and_takes_over_a_dead_one(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    lock.write_text(f"1@{os.uname().nodename}")  # pid 1 is alive (init)
    with pytest.raises(LaspsError, match="another `lasps daily`"):
        RunLock(tmp_path).acquire()
    lock.write_text(f"999999999@{os.uname().nodename}")
    with RunLock(tmp_path).hold():
        assert lock.read_text().startswith(f"{os.getpid()}@")
    assert not lock.exists()
