"""Session-wide stored markets (see tests/pipeline/fixtures.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.pipeline import fixtures


@pytest.fixture(scope="session")
def base_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fixtures.base_home(tmp_path_factory)


@pytest.fixture(scope="session")
def daily_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    return fixtures.daily_home(tmp_path_factory)


@pytest.fixture
def fresh_home(base_home: Path, tmp_path: Path) -> Path:
    """A private copy of the stored synthetic market."""
    return fixtures.copy_home(base_home, tmp_path / "home")
