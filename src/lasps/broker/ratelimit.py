"""A sliding-window rate limiter: at most ``max_calls`` per ``period`` seconds (blocking).

Kiwoom allows 5 calls per second on OpenAPI+ (SendOrder, CommRqData; more is answered by error -308
or a penalty wait, so the adapter paces at 4) and, on the REST API, 5 requests per second on the real
host and 1 on the mock host; more is answered by HTTP 200 with ``return_code`` 5 "[1700:…]".
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Blocks in :meth:`acquire` until a call is allowed. ``monotonic``/``sleep`` are injectable."""

    def __init__(self, max_calls: int, period: float = 1.0, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if max_calls < 1 or period <= 0:
            raise ValueError("max_calls must be >= 1 and period > 0")
        self.max_calls = int(max_calls)
        self.period = float(period)
        self._monotonic = monotonic
        self._sleep = sleep
        self._calls: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    @classmethod
    def per_second(cls, rate: float, **kw: Callable[..., object]) -> RateLimiter:
        """A limiter for ``rate`` calls per second (fractional rates widen the window)."""
        if rate >= 1:
            return cls(int(rate), 1.0, **kw)  # type: ignore[arg-type]
        return cls(1, 1.0 / rate, **kw)  # type: ignore[arg-type]

    def acquire(self) -> float:
        """Wait until a call is allowed and record it; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._monotonic()
                while self._calls and now - self._calls[0] >= self.period:
                    self._calls.popleft()
                if len(self._calls) < self.max_calls:
                    self._calls.append(now)
                    return waited
                delay = self.period - (now - self._calls[0])
                delay = max(delay, 1e-3)
                self._sleep(delay)
                waited += delay

    def penalise(self, seconds: float) -> None:
        """Block every caller for ``seconds`` (after an HTTP 429 / -308)."""
        if seconds > 0:
            with self._lock:
                self._sleep(seconds)


__all__ = ["RateLimiter"]
