"""Keeping secrets out of logs, errors and the journal.

:func:`redact` replaces every known secret (the Kiwoom app key, secret key, account number, the
access token, the API token) in a text with ``***``. :class:`RedactingFilter` does the same to log
records of the broker loggers. Secrets are registered once, when settings are loaded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

_MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
BROKER_LOGGERS = ("lasps.broker", "lasps.broker.kiwoom_rest", "lasps.broker.kiwoom_ocx",
                  "lasps.broker.manager", "lasps.broker.journal", "lasps.broker.paper", "lasps.broker.api",
                  "httpx", "httpcore")


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember ``values`` (ignoring empty or very short ones) so that :func:`redact` masks them."""
    with _lock:
        for v in values:
            if v and len(v) >= 4:
                _secrets.add(v)
    install_filters()


def redact(text: object) -> str:
    """``str(text)`` with every registered secret replaced by ``***``."""
    s = str(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for v in secrets:
        if v in s:
            s = s.replace(v, _MASK)
    return s


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (with its arguments merged) through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # pragma: no cover - a broken format string: keep the raw message
            msg = str(record.msg)
        clean = redact(msg)
        if clean != msg or record.args:
            record.msg = clean
            record.args = None
        return True


_FILTER = RedactingFilter()


def install_filters() -> None:
    """Attach the redacting filter to the broker loggers (idempotent)."""
    for name in BROKER_LOGGERS:
        get_logger(name)


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the redacting filter attached."""
    lg = logging.getLogger(name)
    if _FILTER not in lg.filters:
        lg.addFilter(_FILTER)
    return lg


__all__ = ["RedactingFilter", "get_logger", "install_filters", "redact", "register_secrets"]
