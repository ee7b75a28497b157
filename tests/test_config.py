"""Settings precedence: environment > lasps.toml in LASPS_HOME > ./lasps.toml > defaults."""

from __future__ import annotations

import pytest

from lasps.config import ensure_home, get_settings
from lasps.errors import ConfigError


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in ("LASPS_HOME", "LASPS_UNIVERSE_MIN_HISTORY"):
        monkeypatch.delenv(var, raising=False)
    s = get_settings()
    assert str(s.home) == "lasps_home" and s.universe_min_history == 65


def test_toml_then_env(monkeypatch, tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    (home / "lasps.toml").write_text("universe_min_history = 20\npykrx_delay_s = 1.5\n")
    monkeypatch.setenv("LASPS_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    s = get_settings()
    assert s.universe_min_history == 20 and s.pykrx_delay_s == 1.5
    monkeypatch.setenv("LASPS_UNIVERSE_MIN_HISTORY", "30")
    assert get_settings().universe_min_history == 30


def test_bad_toml_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LASPS_HOME", str(tmp_path))
    (tmp_path / "lasps.toml").write_text("universe_min_history = = 3")
    with pytest.raises(ConfigError, match=r"lasps\.toml"):
        get_settings()


def test_secrets_are_not_printed(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KRX_PW", "hunter2")
    s = get_settings()
    assert s.krx_pw is not None and s.krx_pw.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())


def test_ensure_home_rejects_unwritable(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    with pytest.raises(ConfigError, match="not writable"):
        ensure_home(f / "x")
