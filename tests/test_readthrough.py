"""ReadThrough: fresh reads, remembered answers while the store is locked, missing stores."""

from __future__ import annotations

from pathlib import Path

import pytest

import lasps.data.store as store_module
from lasps.data.readthrough import ReadThrough, StoreBusy, is_lock_error
from lasps.data.store import MarketStore
from lasps.errors import StoreError

LOCKED = StoreError('cannot open /h/lasps.duckdb: IO Error: Could not set lock on file "/h/lasps.duckdb": '
                    "Conflicting lock is held in python (PID 7)")


def test_lock_errors_are_told_apart() -> None:
    assert is_lock_error(LOCKED)
    assert not is_lock_error(StoreError("no market store at /h/lasps.duckdb"))
    assert not is_lock_error(StoreError("cannot open /h/lasps.duckdb: permission denied"))


def test_remembered_answer_while_locked_and_busy_for_a_new_key(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with MarketStore(tmp_path) as store:
        store.con.execute("CREATE TABLE t (x INTEGER)")
        store.con.execute("INSERT INTO t VALUES (41), (1)")
    waits: list[float] = []
    rt = ReadThrough(tmp_path, retries=3, wait_s=0.01, sleep=waits.append)
    first = rt.read("sum", lambda store: store.con.execute("SELECT sum(x) FROM t").fetchone()[0])
    assert (first.value, first.fresh, first.meta()["store_status"]) == (42, True, "ok")

    def locked(*args: object, **kwargs: object) -> MarketStore:
        raise LOCKED

    monkeypatch.setattr(store_module.MarketStore, "__init__", locked)
    again = rt.read("sum", lambda store: pytest.fail("no connection while locked"))
    assert (again.value, again.fresh, again.as_of) == (42, False, first.as_of)
    assert again.meta()["store_status"] == "busy" and waits == [0.01, 0.01]  # 3 attempts, 2 waits
    with pytest.raises(StoreBusy, match="being written by another process"):
        rt.read("other", lambda store: 0)


def test_missing_store_is_not_busy(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        ReadThrough(tmp_path).read("k", lambda store: 0)
    assert not isinstance(info.value, StoreBusy)
