"""lasps.files: the one atomic writer and the one JSON contract."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest

from lasps import files
from lasps.files import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    json_dumps,
    json_safe,
    publish_dir,
    staging_dir,
    write_json,
)


def _usual_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def test_atomic_write_bytes_creates_parents_with_usual_mode_and_no_temp_left(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "x.bin"
    assert atomic_write_bytes(path, b"\x00\x01") == path
    assert path.read_bytes() == b"\x00\x01"
    assert path.stat().st_mode & 0o777 == _usual_mode()  # not mkstemp's 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.bin"]


def test_text_is_utf8_without_newline_translation(tmp_path: Path) -> None:
    path = atomic_write_text(tmp_path / "t.txt", "삼성전자\r\nline\n")
    assert path.read_bytes() == "삼성전자\r\nline\n".encode()


def test_failure_keeps_old_file_and_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = atomic_write_text(tmp_path / "keep.txt", "old")

    def boom(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, boom)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]

    def no_rename(src: str, dst: str) -> None:
        raise OSError("rename refused")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="rename refused"):
        atomic_write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_file_and_directory_are_fsynced_before_and_after_the_rename(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    atomic_write_text(tmp_path / "f.txt", "x")
    if not Path("/proc/self/fd").is_dir():  # pragma: no cover - not Linux
        pytest.skip("needs /proc to tell file from directory descriptors")
    assert events == ["fsync-file", "rename", "fsync-dir"]


def test_publish_dir_replaces_an_existing_directory(tmp_path: Path) -> None:
    final = tmp_path / "run"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with staging_dir(final) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".tmp-run-")
        (tmp / "new.txt").write_text("new")
        publish_dir(tmp, final)
    assert [p.name for p in final.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging or .old directory left


def test_staging_dir_is_removed_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), staging_dir(tmp_path / "run") as tmp:
        (tmp / "partial.csv").write_text("a")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_json_contract_strict_nan_as_null_and_plain_types() -> None:
    obj = {"b": float("nan"), "a": [np.float32(1.5), np.int64(3), np.inf, -np.inf], 3: np.array([1, 2]),
           "when": dt.date(2024, 1, 31), "at": dt.datetime(2024, 1, 31, 15, 30), "p": Path("x") / "y",
           "name": "삼성전자", "ok": True, "none": None}
    text = json_dumps(obj, indent=None)
    assert text == ('{"b": null, "a": [1.5, 3, null, null], "3": [1, 2], "when": "2024-01-31", '
                    '"at": "2024-01-31T15:30:00", "p": "x/y", "name": "삼성전자", "ok": true, "none": null}')
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict constant {c}"))
    assert json_dumps({"b": 1, "a": 2}, indent=None, sort_keys=True) == '{"a": 2, "b": 1}'
    assert json_safe((np.bool_(True), {np.float64(2.0)})) == [True, [2.0]]


def test_write_json_indent_two_and_final_newline(tmp_path: Path) -> None:
    path = write_json(tmp_path / "d.json", {"x": [1, float("nan")]})
    assert path.read_text(encoding="utf-8") == '{\n  "x": [\n    1,\n    null\n  ]\n}\n'


def test_public_names() -> None:
    assert set(files.__all__) >= {"atomic_write_bytes", "atomic_write_text", "write_json", "json_dumps"}
