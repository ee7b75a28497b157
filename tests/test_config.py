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


def test_costs_from_toml_table_env_and_options(monkeypatch, tmp_path):
    from lasps.krx.costs import CostModel

    monkeypatch.chdir(tmp_path)
    for var in ("LASPS_HOME", "LASPS_COMMISSION", "LASPS_SLIPPAGE_BPS", "LASPS_TAX_RATE"):
        monkeypatch.delenv(var, raising=False)
    defaults = CostModel.from_settings(get_settings())
    assert (defaults.commission, defaults.slippage_bps, defaults.tax_rate) == (0.00015, 0.0, None)
    home = tmp_path / "h"
    home.mkdir()
    (home / "lasps.toml").write_text("[costs]\ncommission = 0.0002\nslippage_bps = 7.5\n")
    s = get_settings(home=home)  # home= decides which lasps.toml is read
    assert (s.commission, s.slippage_bps, s.tax_rate) == (0.0002, 7.5, None)
    monkeypatch.setenv("LASPS_TAX_RATE", "0.0018")
    monkeypatch.setenv("LASPS_COMMISSION", "0.0001")
    m = CostModel.from_settings(get_settings(home=home))
    assert (m.commission, m.slippage_bps, m.tax_rate) == (0.0001, 7.5, 0.0018)  # environment wins over the file
    m = CostModel.from_settings(get_settings(home=home), commission=0.0003, tax_rate=0.0)  # options win over both
    assert (m.commission, m.slippage_bps, m.tax_rate) == (0.0003, 7.5, 0.0)


def test_top_level_keys_and_env_names_in_toml(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LASPS_HOME", raising=False)
    (tmp_path / "lasps.toml").write_text('commission = 0.0004\nLASPS_SLIPPAGE_BPS = 3\n')
    s = get_settings()
    assert s.commission == 0.0004 and s.slippage_bps == 3.0


@pytest.mark.parametrize(("var", "value"), [("LASPS_COMMISSION", "0.5"), ("LASPS_SLIPPAGE_BPS", "-1"),
                                            ("LASPS_TAX_RATE", "lots")])
def test_bad_cost_setting_is_a_config_error(monkeypatch, tmp_path, var, value):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        get_settings()
    assert var in info.value.where and info.value.exit_code == 2


def test_one_reader_for_both_settings_classes(monkeypatch, tmp_path):
    """The broker's settings extend the one class: they see the same lasps.toml values (costs too)."""
    from lasps.broker.settings import get_broker_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LASPS_HOME", raising=False)
    monkeypatch.delenv("LASPS_SECRETS_FILE", raising=False)
    (tmp_path / "lasps.toml").write_text("universe_min_history = 7\n[costs]\ncommission = 0.0002\n"
                                         "[broker]\nmax_order_value = 5000000\n")
    b = get_broker_settings()
    assert b.universe_min_history == 7 and b.commission == 0.0002 and b.max_order_value == 5_000_000
    assert get_settings().commission == 0.0002
