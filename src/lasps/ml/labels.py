"""Targets of the deep-learning track (DESIGN §8): classification, regression and multi-step returns.

Timing (the same contract as DESIGN §4; a sample dated t has features through the **close of t**):

* ``entry="open"`` (default): enter at the **next open** and hold ``h`` sessions::

      r_k[t] = open[t + 1 + k] / open[t + 1] - 1      (k = 1..h)      known at row t + 1 + h

* ``entry="close"`` (the work log's convention; optimistic — it trades at the close that produced
  the features)::

      r_k[t] = close[t + k] / close[t] - 1             (k = 1..h)      known at row t + h

Rows are **panel rows** (market sessions). ``r = r_h`` is the regression target; the multi-step
target is the cumulative path ``[r_1 .. r_h]`` (so its last element equals ``r``). A return is NaN
(and the sample is dropped) when an entry or exit price is missing or non-positive (a halt, a
delisting), or when the exit lies beyond the panel — never filled.

Classes (ints, stored as int8): ``SELL = 0`` if ``r < sell`` (default −3 %), ``BUY = 2`` if
``r > buy`` (default +3 %), else ``HOLD = 1`` — a return of exactly ±3 % is HOLD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasps.errors import ConfigError
from lasps.research.timing import ENTRIES, Timing

SELL, HOLD, BUY = 0, 1, 2
CLASS_NAMES: tuple[str, ...] = ("SELL", "HOLD", "BUY")


@dataclass(frozen=True)
class LabelSpec:
    """Horizon (sessions), class thresholds (simple returns) and entry price convention."""

    horizon: int = 5
    buy: float = 0.03
    sell: float = -0.03
    entry: str = "open"

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ConfigError(f"horizon must be >= 1, got {self.horizon}", where="--horizon")
        if not self.sell < self.buy:
            raise ConfigError(f"sell threshold {self.sell} must be below buy threshold {self.buy}",
                              where="--sell/--buy", fix="e.g. --sell -0.03 --buy 0.03")
        if self.entry not in ENTRIES:
            raise ConfigError(f"unknown entry {self.entry!r}", where="--entry", fix="use open or close")

    @property
    def lag(self) -> int:
        """Rows from the sample's row t to the row whose price completes its label (``h+1`` or ``h``)."""
        return Timing(self.entry, self.horizon).lag

    def describe(self) -> str:
        if self.entry == "open":
            return (f"r_k = open[t+1+k] / open[t+1] - 1 (k=1..{self.horizon}); features through close t; "
                    f"label known at row t+{self.lag}")
        return (f"r_k = close[t+k] / close[t] - 1 (k=1..{self.horizon}); features through close t; "
                f"label known at row t+{self.lag}")


def multi_step_returns(open_: np.ndarray, close: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                       spec: LabelSpec) -> np.ndarray:
    """``(n, h)`` float64 cumulative returns ``[r_1 .. r_h]`` of samples at (``rows``, ``cols``).

    ``open_``/``close`` are ``(T, N)`` adjusted prices. NaN where a price is missing, non-positive or
    beyond the last row.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    T = open_.shape[0]
    h = spec.horizon
    price = open_ if spec.entry == "open" else close
    start = rows + Timing(spec.entry, spec.horizon).start
    out = np.full((len(rows), h), np.nan)
    inside = start + h < T
    r0 = start[inside]
    c0 = cols[inside]
    base = price[r0, c0]
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(1, h + 1):
            p = price[r0 + k, c0]
            r = p / base - 1.0
            r[~((base > 0) & (p > 0))] = np.nan
            out[inside, k - 1] = r
    out[~np.isfinite(out)] = np.nan
    return out


def classify(returns: np.ndarray, spec: LabelSpec = LabelSpec()) -> np.ndarray:
    """int8 classes of ``returns``: SELL (0) below ``spec.sell``, BUY (2) above ``spec.buy``, else HOLD (1).

    NaN returns give -1 (no label).
    """
    r = np.asarray(returns, dtype=np.float64)
    out = np.full(r.shape, HOLD, dtype=np.int8)
    out[r < spec.sell] = SELL
    out[r > spec.buy] = BUY
    out[~np.isfinite(r)] = -1
    return out
