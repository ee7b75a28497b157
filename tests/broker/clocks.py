"""Test-side clocks (the product only has the system clock and the fixed ``LASPS_CLOCK``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from lasps.krx.calendar import KST


class ManualClock:
    """A test clock: starts at ``at`` and moves only when :meth:`sleep` or :meth:`advance` is called."""

    fixed = False

    def __init__(self, at: dt.datetime, on_sleep: Callable[[float], None] | None = None) -> None:
        self.at = at.astimezone(KST)
        self.slept: list[float] = []
        self._on_sleep = on_sleep

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at = self.at + dt.timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(max(seconds, 0.0))
        if self._on_sleep is not None:
            self._on_sleep(seconds)
