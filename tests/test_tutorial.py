"""docs/tutorial.md is executed: its ```python blocks run in order in one namespace, in a fresh directory,
and a few of the results it shows are checked."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[str]:
    return BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))


def test_the_tutorial_has_blocks() -> None:
    assert len(blocks()) >= 8


def test_the_tutorial_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LASPS_HOME", raising=False)
    ns: dict[str, object] = {"__name__": "tutorial"}
    for i, code in enumerate(blocks()):
        try:
            exec(compile(code, f"{TUTORIAL.name} block {i + 1}", "exec"), ns)  # our own docs, not user input
        except Exception as exc:  # pragma: no cover - the message names the failing block
            raise AssertionError(f"tutorial block {i + 1} failed: {exc!r}\n{code}") from exc
    home = tmp_path / "tutorial_home"
    assert (home / "lasps.duckdb").is_file()
    close = ns["close"]
    assert close.index.name == "date" and close.columns.name == "code"  # type: ignore[attr-defined]
    assert ns["mirror"] == 0.0
    res = ns["res"]
    assert list(res.ic.columns)[:2] == ["alpha_001", "alpha_001_rev"]  # type: ignore[attr-defined]
    fd = ns["factor_data"]
    assert list(fd.columns) == ["1D", "5D", "factor", "factor_quantile"]  # type: ignore[attr-defined]
    bt = ns["bt"]
    daily = bt.daily  # type: ignore[attr-defined]
    np.testing.assert_allclose(daily["cash"] + daily["positions_value"], daily["total_value"])
    run = ns["daily"]
    assert len(run.picks) == 5 and run.report_md is not None and run.report_md.is_file()  # type: ignore[attr-defined]
    assert (home / "research" / "rank_latest.csv").is_file()
