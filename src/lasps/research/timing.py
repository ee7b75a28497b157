"""When a signal's outcome is known: the one entry/horizon lag rule (DESIGN §4).

A signal in row ``t`` uses data through the **close of date t**. With ``entry="open"`` (default) the
position is entered at the **next open** and held ``h`` sessions, so its outcome
``open[t + 1 + h] / open[t + 1] - 1`` is known at row ``t + 1 + h``; with ``entry="close"`` (the work
log's convention) ``close[t + h] / close[t] - 1`` is known at row ``t + h``. The distance is the
**lag**: ``h + 1`` or ``h``. Every module that dates an outcome — forward returns, IC selection,
splits, labels of the deep-learning track, the daily pipeline — asks a :class:`Timing` for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasps.errors import ConfigError

ENTRIES: tuple[str, ...] = ("open", "close")


@dataclass(frozen=True)
class Timing:
    """Entry convention and holding period of a forward return.

    Attributes
    ----------
    entry:
        ``"open"`` (enter at the next open) or ``"close"`` (enter at the signal's own close).
    horizon:
        Holding period ``h`` in sessions (>= 1).
    """

    entry: str = "open"
    horizon: int = 5

    def __post_init__(self) -> None:
        if int(self.horizon) != self.horizon or self.horizon < 1:
            raise ConfigError(f"horizon must be a whole number of sessions >= 1, got {self.horizon!r}",
                              where="--horizon", fix="use e.g. --horizon 5")
        if self.entry not in ENTRIES:
            raise ConfigError(f"unknown entry {self.entry!r}", where="--entry", fix="use --entry open or --entry close")

    @property
    def start(self) -> int:
        """Rows from the signal to the entry price (1 for the next open, 0 for the close)."""
        return 1 if self.entry == "open" else 0

    @property
    def lag(self) -> int:
        """Rows from a signal to the row whose price completes its outcome (``h + 1`` or ``h``)."""
        return int(self.horizon) + self.start

    def known_rows(self, n_rows: int) -> np.ndarray:
        """``(T,)`` int64: the row at which the outcome of signal row ``t`` is known (``t + lag``)."""
        return np.arange(n_rows, dtype=np.int64) + self.lag

    def last_known_signal(self, decision_row: int) -> int:
        """The last signal row whose outcome is known at the close of ``decision_row`` (may be < 0)."""
        return int(decision_row) - self.lag


__all__ = ["ENTRIES", "Timing"]
