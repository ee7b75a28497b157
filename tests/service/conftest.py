"""The service tests' stored market; base_home/daily_run/fresh_home live in tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline import fixtures


@pytest.fixture(scope="session")
def service_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fixtures.service_home(tmp_path_factory)
