"""orders_from_picks, broker settings (secrets files, names), redaction."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from lasps.broker.base import OrderState, Position, Side
from lasps.broker.picks import orders_from_picks
from lasps.broker.redact import get_logger, redact, register_secrets
from lasps.broker.settings import get_broker_settings, is_loopback, is_real_host, mask_account
from lasps.config import check_private
from lasps.errors import ConfigError


class Holdings:
    def positions(self) -> list[Position]:
        return [Position("005930", 10, 50_000.0), Position("000660", 5, 150_000.0)]


def test_orders_from_picks_sells_first_then_buys() -> None:
    reqs = orders_from_picks([("005930", 0.5), ("005380", 0.5)], 10_000_000, Holdings(),
                             {"005930": 55_000.0, "005380": 250_000.0, "000660": 160_000.0})
    assert [(r.side, r.code, r.qty, r.price) for r in reqs] == [
        (Side.SELL, "000660", 5, 160_000.0), (Side.BUY, "005380", 19, 250_000.0), (Side.BUY, "005930", 80, 55_000.0)]
    market = orders_from_picks([("005380", 1.0)], 1_000_000, None, {"005380": 250_000.0}, market=True)
    assert [(r.qty, r.price) for r in market] == [(3, None)]
    assert orders_from_picks([("005380", 0.1)], 100_000, None, {"005380": 250_000.0}) == []
    with pytest.raises(ConfigError, match="sum"):
        orders_from_picks([("005380", 0.7), ("005930", 0.4)], 1e6, None, {"005380": 1.0, "005930": 1.0})
    with pytest.raises(ConfigError, match="reference price"):
        orders_from_picks([("005380", 0.5)], 1e6, None, {})
    with pytest.raises(ConfigError, match=">= 0"):
        orders_from_picks([("005380", -0.5)], 1e6, None, {"005380": 1.0})
    assert OrderState.PENDING.value == "PENDING"


def test_settings_from_env_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    home.mkdir()
    monkeypatch.setenv("LASPS_HOME", str(home))
    s = get_broker_settings()
    assert (s.broker, s.max_order_value, s.confirm_seconds, s.kiwoom_host) == (
        "paper", 100_000_000.0, 3.0, "https://api.kiwoom.com")
    toml = home / "lasps.toml"
    toml.write_text('LASPS_KIWOOM_HOST = "https://mockapi.kiwoom.com"\nmax_order_value = 5000000\n')
    toml.chmod(0o644)  # no secrets: any mode is fine
    s = get_broker_settings()
    assert s.kiwoom_host == "https://mockapi.kiwoom.com" and s.max_order_value == 5_000_000 and not s.kiwoom_is_real
    secrets = home / "secrets.toml"
    secrets.write_text('[kiwoom]\nappkey = "AK-from-file-123"\nsecretkey = "SK-from-file-456"\naccount = "12345678"\n')
    secrets.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        get_broker_settings()
    secrets.chmod(0o600)
    s = get_broker_settings()
    assert s.require_kiwoom() == ("AK-from-file-123", "SK-from-file-456", "12345678")
    assert "AK-from-file-123" not in repr(s) and "AK-from-file-123" not in str(s.model_dump())
    monkeypatch.setenv("LASPS_KIWOOM_APPKEY", "AK-env-789")  # the environment wins
    assert get_broker_settings().require_kiwoom()[0] == "AK-env-789"
    toml.write_text('kiwoom_secretkey = "leaky-secret"\n')
    toml.chmod(0o640)
    with pytest.raises(ConfigError, match="permissions are 0640"):
        get_broker_settings()
    monkeypatch.setenv("LASPS_SECRETS_FILE", str(tmp_path / "missing.toml"))
    toml.unlink()
    with pytest.raises(ConfigError, match="does not exist"):
        get_broker_settings()


def test_home_override_finds_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "lasps.toml").write_text('broker = "kiwoom-rest"\n')
    monkeypatch.setenv("LASPS_HOME", str(tmp_path / "elsewhere"))
    assert get_broker_settings().broker == "paper"
    s = get_broker_settings(home=other)
    assert s.broker == "kiwoom-rest" and s.home == other


def test_settings_missing_keys_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LASPS_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="LASPS_KIWOOM_APPKEY, LASPS_KIWOOM_SECRETKEY, LASPS_KIWOOM_ACCOUNT"):
        get_broker_settings().require_kiwoom()


def test_host_helpers_and_masking(tmp_path: Path) -> None:
    assert is_real_host("https://api.kiwoom.com/") and not is_real_host("https://mockapi.kiwoom.com")
    assert is_loopback("http://127.0.0.1:8080") and is_loopback("http://[::1]:1") and is_loopback("http://localhost")
    assert not is_loopback("http://10.0.0.1")
    assert mask_account("5012345678") == "****5678"
    f = tmp_path / "x"
    f.write_text("")
    os.chmod(f, 0o600)
    check_private(f)


def test_redaction_of_logs(caplog: pytest.LogCaptureFixture) -> None:
    register_secrets(["topsecret-value-42", None, "ab"])
    log = get_logger("lasps.broker.test")
    with caplog.at_level(logging.INFO):
        log.info("token is %s", "topsecret-value-42")
    assert "topsecret-value-42" not in caplog.text and "***" in caplog.text
    assert redact("x topsecret-value-42 y") == "x *** y" and redact("ab") == "ab"
