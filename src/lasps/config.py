"""Settings: ``LASPS_*`` environment variables, then ``lasps.toml``, then defaults.

``LASPS_HOME`` (default ``./lasps_home``) holds everything LASPS writes: the DuckDB market store
``lasps.duckdb``, alpha Parquet files, research outputs, backtests, reports and the order journal.
A ``lasps.toml`` is read from ``$LASPS_HOME/lasps.toml`` and then from the working directory
(environment variables win over both).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lasps.errors import ConfigError


def _toml_paths() -> list[Path]:
    home = Path(os.environ.get("LASPS_HOME", "lasps_home"))
    return [Path("lasps.toml"), home / "lasps.toml"]


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``lasps.toml`` files; later files in :func:`_toml_paths` override earlier ones."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for path in _toml_paths():
            if path.is_file():
                try:
                    merged.update(tomllib.loads(path.read_text(encoding="utf-8")))
                except tomllib.TOMLDecodeError as exc:
                    raise ConfigError(
                        f"cannot parse {path}: {exc}", where=str(path), fix="fix the TOML syntax"
                    ) from exc
        return merged


class Settings(BaseSettings):
    """All LASPS settings. Field names are the ``lasps.toml`` keys; ``LASPS_<NAME>`` overrides them."""

    model_config = SettingsConfigDict(env_prefix="LASPS_", extra="ignore")

    home: Path = Field(default=Path("lasps_home"), description="Directory for every LASPS output.")
    log_level: str = Field(default="INFO", description="Python logging level name.")
    universe_min_history: int = Field(default=65, ge=1, description="Trading days before a code enters.")
    suspect_quarantine: bool = Field(
        default=True, description="Quarantine suspect price jumps (DESIGN 2.3); false = detect and report only.")
    suspect_quarantine_days: int = Field(
        default=252, ge=1, description="Sessions after a suspect jump during which the code is not selectable.")
    suspect_tolerance: float = Field(
        default=0.01, ge=0, description="Margin beyond the daily price limit before a move is suspect.")
    model_checkpoint: Path | None = Field(
        default=None, description="A model.pt whose top-scored stocks the daily report lists beside the picks.")
    pykrx_delay_s: float = Field(default=0.5, ge=0, description="Pause between pykrx requests (seconds).")
    krx_id: SecretStr | None = Field(default=None, validation_alias="KRX_ID")
    krx_pw: SecretStr | None = Field(default=None, validation_alias="KRX_PW")
    executor: str = Field(default="local", description="'local' or 'ray'.")
    ray_address: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls), file_secret_settings)

    @property
    def db_path(self) -> Path:
        return self.home / "lasps.duckdb"


def get_settings(**overrides: Any) -> Settings:
    """Return settings from the environment and ``lasps.toml``, with keyword overrides on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def ensure_home(home: Path) -> Path:
    """Create ``home`` if needed and check it is writable; raise :class:`ConfigError` otherwise."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write_probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"LASPS_HOME {home} is not writable ({exc.strerror})",
            where=str(home),
            fix="set LASPS_HOME (or --home) to a directory you can write to",
        ) from exc
    return home
