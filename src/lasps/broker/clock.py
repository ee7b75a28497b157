"""Injectable clocks: "now" for the guard, the paper broker and the 15:20 auto-cancel.

``LASPS_CLOCK`` (an ISO time **with** offset, e.g. ``2026-02-25T10:00:00+09:00``) fixes "now" for tests
and paper trading. It is refused for brokers that reach a real-money market (the real Kiwoom host and
OpenAPI+): a fake time there could place orders the real exchange clock would never allow.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Protocol

from lasps.errors import ConfigError
from lasps.krx.calendar import KST

CLOCK_ENV = "LASPS_CLOCK"


class Clock(Protocol):
    """Something that tells the time (timezone-aware) and can wait."""

    fixed: bool

    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a fixed clock does not wait)."""
        ...


class SystemClock:
    """The real wall clock, in KST."""

    fixed = False

    def now(self) -> dt.datetime:
        return dt.datetime.now(KST)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FixedClock:
    """A clock stuck at ``at`` (``LASPS_CLOCK``); ``sleep`` does not wait and does not advance it."""

    fixed = True

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ConfigError(f"fixed clock time {at.isoformat()} has no UTC offset", where=CLOCK_ENV,
                              fix="give an offset, e.g. 2026-02-25T10:00:00+09:00")
        self.at = at

    def now(self) -> dt.datetime:
        return self.at.astimezone(KST)

    def sleep(self, seconds: float) -> None:
        return None


def parse_clock(text: str) -> dt.datetime:
    """Parse a ``LASPS_CLOCK`` value: ISO 8601 with a UTC offset (``Z`` allowed)."""
    try:
        at = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"cannot parse {CLOCK_ENV}={text!r}", where=CLOCK_ENV,
                          fix="use an ISO time with offset, e.g. 2026-02-25T10:00:00+09:00") from exc
    if at.tzinfo is None:
        raise ConfigError(f"{CLOCK_ENV}={text!r} has no UTC offset", where=CLOCK_ENV,
                          fix="add the offset, e.g. 2026-02-25T10:00:00+09:00")
    return at


def clock_from_env(*, live: bool, broker: str = "", env: dict[str, str] | None = None) -> Clock:
    """The clock for a broker: ``LASPS_CLOCK`` if set (refused when ``live``), else the system clock."""
    value = (env if env is not None else os.environ).get(CLOCK_ENV, "").strip()
    if not value:
        return SystemClock()
    at = parse_clock(value)
    if live:
        raise ConfigError(
            f"{CLOCK_ENV} is set but broker {broker or '?'} reaches the real market; a fixed clock is "
            "only allowed for paper trading, the mock host and local test servers",
            where=CLOCK_ENV, fix=f"unset {CLOCK_ENV}, or use --broker paper / the mock host",
        )
    return FixedClock(at)


__all__ = ["CLOCK_ENV", "Clock", "FixedClock", "SystemClock", "clock_from_env", "parse_clock"]
