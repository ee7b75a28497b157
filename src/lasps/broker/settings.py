"""Order and broker settings, including the Kiwoom secrets (DESIGN §7).

:class:`BrokerSettings` extends the one settings class :class:`lasps.config.Settings` (costs, home, …) and is
read from the same sources by the same reader (:func:`lasps.config.read_settings_files`), in order of
precedence: keyword arguments, ``LASPS_*`` environment variables, a secrets file, then ``lasps.toml``
(``./lasps.toml``, then ``$LASPS_HOME/lasps.toml``). Names:

==========================  ======================================  ==========================
environment                 meaning                                 default
==========================  ======================================  ==========================
``LASPS_BROKER``            ``paper``, ``kiwoom-rest``, ``kiwoom-ocx``  ``paper``
``LASPS_MAX_ORDER_VALUE``   largest order value (KRW)                100,000,000
``LASPS_CONFIRM_SECONDS``   confirmation countdown (``--yes`` skips)  3
``LASPS_PAPER_CASH``        starting cash of a new paper account      100,000,000
``LASPS_KIWOOM_APPKEY``     Kiwoom REST app key (secret)              —
``LASPS_KIWOOM_SECRETKEY``  Kiwoom REST secret key (secret)           —
``LASPS_KIWOOM_ACCOUNT``    account number (secret)                   —
``LASPS_KIWOOM_HOST``       REST base URL                             ``https://api.kiwoom.com``
``LASPS_KIWOOM_RPS``        REST requests per second                  by host: mock 1, real 5, other 5
``LASPS_KIWOOM_TIMEOUT_S``  REST request timeout (seconds)            10
``LASPS_API_TOKEN``         bearer token of the service's order API   — (order API disabled)
``LASPS_SECRETS_FILE``      path of a secrets file (TOML)             ``$LASPS_HOME/secrets.toml``
==========================  ======================================  ==========================

In TOML files the keys may be written as the field names (``kiwoom_appkey``), as the environment names
(``LASPS_KIWOOM_APPKEY``) or in a ``[kiwoom]`` table (``appkey = "…"``). A file that holds a secret
must not be readable by group or others (``chmod 600``); LASPS refuses to read it otherwise. The
secrets file is always held to that rule. Secrets are :class:`~pydantic.SecretStr`: their ``repr``
is masked and they are never written to logs, errors or the journal (:mod:`lasps.broker.redact`).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator

from lasps.config import SECRET_FIELDS, Settings, load_settings, secrets_file_path
from lasps.errors import ConfigError

REAL_HOST = "https://api.kiwoom.com"
MOCK_HOST = "https://mockapi.kiwoom.com"
BROKERS = ("paper", "kiwoom-rest", "kiwoom-ocx")
#: Documented request limits (requests per second): the mock host allows 1 query/s (모의투자 terms of
#: service), the real host 5/s. Other base URLs (a local test server) have no documented limit.
MOCK_RPS_LIMIT = 1.0
REAL_RPS_LIMIT = 5.0
OTHER_RPS_LIMIT = float("inf")
DEFAULT_OTHER_RPS = 5.0


class BrokerSettings(Settings):
    """:class:`lasps.config.Settings` plus the order path's settings (see the module docstring for names and
    defaults); read from the same sources, and from the secrets file."""

    reads_secrets_file: ClassVar[bool] = True

    broker: str = Field(default="paper", description="paper | kiwoom-rest | kiwoom-ocx")
    max_order_value: float = Field(default=100_000_000.0, gt=0, description="Largest order value (KRW).")
    confirm_seconds: float = Field(default=3.0, ge=0, le=60, description="Confirmation countdown (s).")
    paper_cash: float = Field(default=100_000_000.0, ge=0, description="Starting cash of a paper account.")
    reconcile_grace_s: float = Field(default=30.0, ge=0,
                                     description="Age after which a sent order the broker never reports "
                                                 "is settled as CANCELLED (not placed).")
    kiwoom_appkey: SecretStr | None = None
    kiwoom_secretkey: SecretStr | None = None
    kiwoom_account: SecretStr | None = None
    kiwoom_host: str = Field(default=REAL_HOST)
    kiwoom_rps: float | None = Field(default=None, gt=0,
                                     description="REST requests per second; default and maximum follow the host "
                                                 "(mock 1, real 5).")
    kiwoom_timeout_s: float = Field(default=10.0, gt=0, le=120)
    api_token: SecretStr | None = None

    @model_validator(mode="after")
    def _rps_within_the_host_limit(self) -> BrokerSettings:
        if self.kiwoom_rps is not None:
            check_rps(self.kiwoom_host, self.kiwoom_rps)
        return self

    # -- derived ---------------------------------------------------------------------------------
    @property
    def kiwoom_pacing(self) -> float:
        """Requests per second the REST client paces itself to (``kiwoom_rps`` or the host's default)."""
        return self.kiwoom_rps if self.kiwoom_rps is not None else default_rps(self.kiwoom_host)

    @property
    def kiwoom_is_real(self) -> bool:
        """True when ``kiwoom_host`` is the real-money host ``api.kiwoom.com``."""
        return is_real_host(self.kiwoom_host)

    def secret_values(self) -> list[str]:
        """The plain secret strings (for redaction only; never print them)."""
        out = []
        for name in SECRET_FIELDS:
            v = getattr(self, name)
            if v is not None and v.get_secret_value():
                out.append(v.get_secret_value())
        return out

    def require_kiwoom(self, *, need_keys: bool = True) -> tuple[str, str, str]:
        """``(appkey, secretkey, account)``; raise a :class:`ConfigError` naming what is missing."""
        missing = []
        if need_keys and not self.kiwoom_appkey:
            missing.append("LASPS_KIWOOM_APPKEY")
        if need_keys and not self.kiwoom_secretkey:
            missing.append("LASPS_KIWOOM_SECRETKEY")
        if not self.kiwoom_account:
            missing.append("LASPS_KIWOOM_ACCOUNT")
        if missing:
            raise ConfigError(f"Kiwoom settings missing: {', '.join(missing)}", where="environment / lasps.toml",
                              fix=f"set them in the environment or a chmod-600 file {secrets_file_path()}")
        return (self.kiwoom_appkey.get_secret_value() if self.kiwoom_appkey else "",
                self.kiwoom_secretkey.get_secret_value() if self.kiwoom_secretkey else "",
                self.kiwoom_account.get_secret_value() if self.kiwoom_account else "")


def is_real_host(url: str) -> bool:
    """True if ``url`` points at the real Kiwoom REST host (``api.kiwoom.com``)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host == "api.kiwoom.com"


def is_mock_host(url: str) -> bool:
    """True if ``url`` points at the Kiwoom mock-trading host (``mockapi.kiwoom.com``)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host == "mockapi.kiwoom.com"


def rps_limit(url: str) -> float:
    """The documented request limit (per second) of the host of ``url``."""
    if is_real_host(url):
        return REAL_RPS_LIMIT
    if is_mock_host(url):
        return MOCK_RPS_LIMIT
    return OTHER_RPS_LIMIT


def default_rps(url: str) -> float:
    """Default pacing for ``url``: the host's documented limit (mock 1/s, real 5/s), 5/s elsewhere."""
    if is_real_host(url) or is_mock_host(url):
        return rps_limit(url)
    return DEFAULT_OTHER_RPS


def check_rps(url: str, rps: float) -> float:
    """``rps`` if it is > 0 and within the documented limit of ``url``'s host, else a ``ValueError``."""
    limit = rps_limit(url)
    if not rps > 0 or rps > limit:
        host = urlsplit(url).hostname or url
        raise ValueError(f"LASPS_KIWOOM_RPS={rps:g} is above the documented limit of {host} ({limit:g} "
                         "requests/s); the host would throttle every request beyond it")
    return float(rps)


def is_loopback(url: str) -> bool:
    """True if ``url``'s host is a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    import ipaddress

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def get_broker_settings(**overrides: Any) -> BrokerSettings:
    """Broker settings from the environment and files, with non-None keyword overrides on top.

    ``home=`` also decides where ``lasps.toml`` and the default secrets file are looked for.
    """
    return load_settings(BrokerSettings, **overrides)


def mask_account(account: str) -> str:
    """``12345678`` → ``****5678`` (for display)."""
    return "****" + account[-4:] if len(account) > 4 else "****"


__all__ = ["BROKERS", "MOCK_HOST", "MOCK_RPS_LIMIT", "REAL_HOST", "REAL_RPS_LIMIT", "BrokerSettings", "check_rps",
           "default_rps", "get_broker_settings", "is_loopback", "is_mock_host", "is_real_host", "mask_account",
           "rps_limit"]
