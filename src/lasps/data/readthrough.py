"""Read the store without failing because another process is writing it.

DuckDB allows one writing process **or** any number of readers: while ``lasps data update`` or
``lasps daily`` holds the write lock, a read-only connection cannot be opened at all. A
:class:`ReadThrough` computes an answer from a short-lived read-only connection (retried briefly) and
remembers it per key; while the store is locked it serves the remembered answer together with the time
it was read (:class:`Read`). Only a key that was never read before cannot be answered during a write
(:class:`StoreBusy`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from lasps.data.store import StoreProvider, store_provider
from lasps.errors import StoreError

T = TypeVar("T")


class StoreBusy(StoreError):
    """Another process holds the store's write lock and no earlier answer is remembered."""


@dataclass(frozen=True)
class Read(Generic[T]):
    """An answer and where it came from: ``fresh`` (read now) or remembered from ``as_of`` (UTC)."""

    value: T
    fresh: bool
    as_of: dt.datetime

    def meta(self) -> dict[str, Any]:
        """``{"store_status": "ok" | "busy", "as_of": ISO time}`` for JSON answers."""
        return {"store_status": "ok" if self.fresh else "busy", "as_of": self.as_of.isoformat(timespec="seconds")}


def is_lock_error(exc: StoreError) -> bool:
    """True if opening the store failed because another process holds it."""
    text = exc.what.lower()
    return "cannot open" in text and ("lock" in text or "conflicting" in text)


class ReadThrough:
    """Answers from ``$LASPS_HOME/lasps.duckdb`` (read-only), remembered per key (thread-safe).

    ``retries`` attempts ``wait_s`` apart are made to open the store before a remembered answer is
    served; a missing store raises :class:`StoreError` as usual.
    """

    def __init__(self, home: StoreProvider | Path | str, *, retries: int = 3, wait_s: float = 0.05,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._stores = store_provider(home)
        self.home = self._stores.home
        self.retries = max(int(retries), 1)
        self.wait_s = float(wait_s)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._memory: dict[Hashable, tuple[Any, dt.datetime]] = {}

    def read(self, key: Hashable, compute: Callable[[Any], T]) -> Read[T]:
        """``compute(store)`` on a freshly opened read-only :class:`MarketStore`, or the answer remembered for
        ``key``."""
        last: StoreError | None = None
        for attempt in range(self.retries):
            try:
                with self._stores.store() as store:
                    value = compute(store)
            except StoreError as exc:
                if not is_lock_error(exc):
                    raise
                last = exc
                if attempt + 1 < self.retries:
                    self._sleep(self.wait_s)
                continue
            now = dt.datetime.now(dt.UTC)
            with self._lock:
                self._memory[key] = (value, now)
            return Read(value, True, now)
        with self._lock:
            remembered = self._memory.get(key)
        if remembered is not None:
            return Read(remembered[0], False, remembered[1])
        raise StoreBusy("the market store is being written by another process and this answer was not read "
                        "before", where=str(self.home / "lasps.duckdb"),
                        fix=f"retry in a few seconds (DuckDB allows one writer or many readers){_detail(last)}")


def _detail(exc: StoreError | None) -> str:
    return "" if exc is None else f"; {exc.what[:160]}"


__all__ = ["Read", "ReadThrough", "StoreBusy", "is_lock_error"]
