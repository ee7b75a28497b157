"""Forward returns with explicit timing (DESIGN §4).

Timing convention (the contract of the whole research package):

* A signal in row ``t`` uses data through the **close of date t**.
* ``entry="open"`` (default): the position is entered at the **next open** and held ``h`` sessions::

      fwd[t] = open[t + 1 + h] / open[t + 1] - 1          known at row  t + 1 + h

* ``entry="close"`` (the work log's convention, optimistic: it trades at the very close that produced
  the signal)::

      fwd[t] = close[t + h] / close[t] - 1                known at row  t + h

``fwd[t]`` is dated by its **signal row t**, but it is only *known* at row ``known_row[t]`` (the row
whose open/close completes it). Every statistic built from ``fwd[t]`` (the IC of date t, the return of a
portfolio formed at t) inherits that date: a decision taken at the close of row ``s`` may only use
values with ``known_row <= s`` (see :mod:`lasps.research.walkforward`).

NaN, never a substitute: the last rows (``known_row >= T``), a code that does not trade at entry or exit
(missing or non-positive price: halted, not yet listed, delisted before the exit) and non-finite ratios.
Dropping names that die during the holding period is a (small) survivorship bias of every forward-return
statistic; the backtest module, which marks positions to market, does not have it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasps.data.suspect import crossing_mask
from lasps.errors import ConfigError
from lasps.research.timing import Timing


@dataclass(frozen=True)
class ForwardReturns:
    """Forward returns of every (date, code) cell.

    Attributes
    ----------
    values:
        ``(T, N)`` float64 simple returns (0.01 = +1 %) over ``horizon`` sessions, dated by signal row.
    horizon:
        Holding period ``h`` in sessions.
    entry:
        ``"open"`` (enter at the next open) or ``"close"`` (enter at the signal's close).
    known_row:
        ``(T,)`` int64: the row at whose price ``values[t]`` becomes known (``t + 1 + h`` or ``t + h``);
        values ``>= T`` mean never inside the panel.
    """

    values: np.ndarray
    horizon: int
    entry: str
    known_row: np.ndarray

    @property
    def lag(self) -> int:
        """Rows between a signal and the moment its outcome is known (``h + 1`` or ``h``)."""
        return Timing(self.entry, self.horizon).lag


def check_timing(horizon: int, entry: str) -> None:
    """Raise :class:`ConfigError` for a horizon below 1 or an unknown entry (:class:`Timing`)."""
    Timing(entry, horizon)


def known_rows(T: int, horizon: int, entry: str = "open") -> np.ndarray:
    """``(T,)`` row at which the forward return of signal row t is known (see module docstring)."""
    return Timing(entry, horizon).known_rows(T)


def forward_returns(open_: np.ndarray | None, close: np.ndarray | None, horizon: int = 5,
                    entry: str = "open") -> ForwardReturns:
    """Forward returns from ``(T, N)`` adjusted opens or closes (see the module docstring).

    Parameters
    ----------
    open_, close:
        ``(T, N)`` adjusted prices (KRW); only the one the ``entry`` needs is used.
    horizon:
        Holding period ``h`` in sessions (default 5, the work log's rebalancing period).
    entry:
        ``"open"`` (default) or ``"close"``.
    """
    timing = Timing(entry, horizon)
    px = open_ if entry == "open" else close
    if px is None:
        raise ConfigError(f"entry={entry!r} needs {entry} prices, which the panel does not have",
                          where="--entry", fix="load the panel with that field or choose the other entry")
    px = np.asarray(px, dtype=np.float64)
    T, N = px.shape
    start = timing.start
    out = np.full((T, N), np.nan)
    n = T - start - horizon
    if n > 0:
        p0 = px[start:start + n]
        p1 = px[start + horizon:start + horizon + n]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = p1 / p0 - 1.0
        r[~((p0 > 0) & (p1 > 0)) | ~np.isfinite(r)] = np.nan
        out[:n] = r
    return ForwardReturns(values=out, horizon=int(horizon), entry=entry, known_row=timing.known_rows(T))


def panel_forward_returns(panel, horizon: int = 5, entry: str = "open") -> ForwardReturns:  # type: ignore[no-untyped-def]
    """:func:`forward_returns` of a :class:`~lasps.data.panel.Panel` (uses ``panel.open``/``close``)."""
    check_timing(horizon, entry)
    field = "open" if entry == "open" else "close"
    px = panel.field(field)
    fwd = forward_returns(px if entry == "open" else None, px if entry == "close" else None, horizon, entry)
    return drop_suspect_crossings(fwd, panel)


def drop_suspect_crossings(fwd: ForwardReturns, panel) -> ForwardReturns:  # type: ignore[no-untyped-def]
    """NaN the forward returns whose holding period crosses a suspect jump (DESIGN §2.3).

    A suspect row ``s`` (``panel.suspect``) is inside the return of signal row ``t`` when
    ``t + a < s <= t + a + h`` (``a`` = 1 for next-open entry, 0 for close entry). Left alone when the
    panel's quarantine is off (``panel.quarantine_days == 0``).
    """

    suspect = getattr(panel, "suspect", None)
    if suspect is None or not getattr(panel, "quarantine_days", 0) or not suspect.any():
        return fwd
    values = fwd.values.copy()
    values[crossing_mask(suspect, fwd.horizon, 1 if fwd.entry == "open" else 0)] = np.nan
    return ForwardReturns(values=values, horizon=fwd.horizon, entry=fwd.entry, known_row=fwd.known_row)
