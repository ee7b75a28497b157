"""Settings: keyword overrides, then ``LASPS_*`` environment variables, then files, then defaults.

``LASPS_HOME`` (default ``./lasps_home``) holds everything LASPS writes: the DuckDB market store
``lasps.duckdb``, alpha Parquet files, research outputs, backtests, reports and the order journal.

Files (:func:`read_settings_files`, the one place that reads them): ``./lasps.toml``, then
``$LASPS_HOME/lasps.toml`` (the later wins; ``home=`` given to :func:`get_settings` decides which home is
meant), and — for the order path only (:class:`lasps.broker.settings.BrokerSettings`) — the secrets file
(``LASPS_SECRETS_FILE``, default ``$LASPS_HOME/secrets.toml``) on top. Keys are the field names
(``commission = 0.0002``), or the environment names (``LASPS_COMMISSION``), or sit in a table:
``[costs]`` (``commission``, ``slippage_bps``, ``tax_rate``), ``[kiwoom]`` (``appkey`` →
``kiwoom_appkey``) or ``[broker]`` / ``[orders]``. A file that holds a secret must be ``chmod 600``.

:class:`Settings` is the one settings class; the order path's settings
(:class:`lasps.broker.settings.BrokerSettings`) extend it with the broker's fields and read the same
sources. Costs (DESIGN §5): ``commission`` (fraction per side, default 0.00015 = 0.015 %),
``slippage_bps`` (default 0) and ``tax_rate`` (a flat sell-tax rate replacing the KRX schedule by
settlement date; default none) — used by backtests and the paper broker unless a command-line option
overrides them.
"""

from __future__ import annotations

import contextvars
import os
import stat
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lasps.errors import ConfigError
from lasps.krx.costs import DEFAULT_COMMISSION

#: Fields whose values are secrets: a file that sets one must be private (``chmod 600``).
SECRET_FIELDS = ("kiwoom_appkey", "kiwoom_secretkey", "kiwoom_account", "api_token")
#: TOML tables whose keys are flattened into field names (``[kiwoom] appkey`` → ``kiwoom_appkey``).
_TABLE_PREFIXES = {"kiwoom": "kiwoom_", "broker": "", "order": "", "orders": "", "costs": ""}

_HOME_OVERRIDE: contextvars.ContextVar[Path | None] = contextvars.ContextVar("lasps_home_override", default=None)


def settings_home() -> Path:
    """The home whose ``lasps.toml`` is read: the ``home=`` being resolved, else ``LASPS_HOME``, else
    ``./lasps_home``."""
    override = _HOME_OVERRIDE.get()
    return override if override is not None else Path(os.environ.get("LASPS_HOME", "lasps_home"))


@contextmanager
def _home_override(home: Path | str | None) -> Iterator[None]:
    token = _HOME_OVERRIDE.set(Path(home) if home is not None else None)
    try:
        yield
    finally:
        _HOME_OVERRIDE.reset(token)


def secrets_file_path() -> Path:
    """``LASPS_SECRETS_FILE`` if set, else ``$LASPS_HOME/secrets.toml``."""
    explicit = os.environ.get("LASPS_SECRETS_FILE")
    return Path(explicit) if explicit else settings_home() / "secrets.toml"


def check_private(path: Path) -> None:
    """Raise :class:`ConfigError` if ``path`` is readable or writable by group or others.

    Skipped on Windows, where POSIX modes do not describe access (use the file's ACL there).
    """
    if os.name == "nt":  # pragma: no cover - POSIX modes are meaningless on Windows
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path} holds secrets but its permissions are {mode:04o} (group/others may read it)",
            where=str(path), fix=f"chmod 600 {path}",
        )


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Flatten the known tables and map ``LASPS_X``/``X`` keys to field names ``x``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        k = str(key).lower()
        if isinstance(value, dict) and k in _TABLE_PREFIXES:
            prefix = _TABLE_PREFIXES[k]
            for sub, v in value.items():
                s = str(sub).lower().removeprefix("lasps_")
                out[s if s.startswith(prefix) else prefix + s] = v
            continue
        out[k.removeprefix("lasps_")] = value
    return out


def _read_toml(path: Path, *, always_private: bool, secret_fields: frozenset[str]) -> dict[str, Any]:
    try:
        data = _normalise(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}", where=str(path), fix="fix the TOML syntax") from exc
    if always_private or any(f in data for f in secret_fields):
        check_private(path)
    return data


def read_settings_files(fields: frozenset[str], *, secrets_file: bool) -> dict[str, Any]:
    """The values of ``fields`` set in ``./lasps.toml`` and ``$LASPS_HOME/lasps.toml`` (the later wins),
    and with ``secrets_file`` in the secrets file on top. A file that sets one of the secret ``fields``
    (and the secrets file always) must be private."""
    secret_fields = frozenset(SECRET_FIELDS) & fields
    merged: dict[str, Any] = {}
    for path in (Path("lasps.toml"), settings_home() / "lasps.toml"):
        if path.is_file():
            merged.update(_read_toml(path, always_private=False, secret_fields=secret_fields))
    if secrets_file:
        secrets = secrets_file_path()
        if secrets.is_file():
            merged.update(_read_toml(secrets, always_private=True, secret_fields=secret_fields))
        elif os.environ.get("LASPS_SECRETS_FILE"):
            raise ConfigError(f"LASPS_SECRETS_FILE points at {secrets}, which does not exist",
                              where="LASPS_SECRETS_FILE", fix="fix the path or unset it")
    return {k: v for k, v in merged.items() if k in fields}


class _FilesSource(PydanticBaseSettingsSource):
    """The settings files (:func:`read_settings_files`), below the environment."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        cls = self.settings_cls
        return read_settings_files(frozenset(cls.model_fields), secrets_file=getattr(cls, "reads_secrets_file", False))


class Settings(BaseSettings):
    """All LASPS settings. Field names are the ``lasps.toml`` keys; ``LASPS_<NAME>`` overrides them."""

    model_config = SettingsConfigDict(env_prefix="LASPS_", extra="ignore")
    #: Whether the secrets file is read too (only the order path's settings need secrets).
    reads_secrets_file: ClassVar[bool] = False

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
    commission: float = Field(default=DEFAULT_COMMISSION, ge=0, lt=0.1,
                              description="Commission per side, fraction of the traded value.")
    slippage_bps: float = Field(default=0.0, ge=0, lt=1000, description="Adverse fill price move, bps of the open.")
    tax_rate: float | None = Field(default=None, ge=0, lt=0.1,
                                   description="Flat sell-tax rate replacing the KRX schedule (None: schedule).")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FilesSource(settings_cls), file_secret_settings)

    @property
    def db_path(self) -> Path:
        return self.home / "lasps.duckdb"


def load_settings(cls: type[Settings], **overrides: Any) -> Any:
    """``cls`` from the sources above, with non-None keyword overrides on top; ``home=`` also decides
    where ``lasps.toml`` (and the default secrets file) are looked for. Bad values are a
    :class:`ConfigError` naming the setting."""
    home = overrides.get("home")
    with _home_override(home):
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            err = exc.errors()[0]
            name = ".".join(str(p) for p in err.get("loc", ())) or "settings"
            raise ConfigError(f"invalid setting {name}: {err.get('msg')}",
                              where=f"LASPS_{name.upper()} / lasps.toml {name}",
                              fix="correct the value in the environment or lasps.toml") from None


def get_settings(**overrides: Any) -> Settings:
    """Settings from the environment and ``lasps.toml``, with keyword overrides on top."""
    return load_settings(Settings, **overrides)


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


__all__ = ["SECRET_FIELDS", "Settings", "check_private", "ensure_home", "get_settings",
           "load_settings", "read_settings_files", "secrets_file_path", "settings_home"]
