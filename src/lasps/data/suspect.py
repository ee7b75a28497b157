"""Suspect price jumps and the cells they poison (DESIGN §2.3), and what traded (DESIGN §2.4).

A **suspect jump** is a one-day move of the *adjusted* close beyond the daily price limit (±30 %, ±15 %
before 2015-06-15) plus a tolerance (1 percentage point), that no stored adjustment factor explains:
typically an unadjusted bonus issue or split, or an already-adjusted file whose adjustment basis changed
between download dates. The move is measured against the code's previous stored close (a halt in
between does not hide it). The jump at row ``s`` is known at the close of ``s``.

Where the ratio ``close_s / close_prev`` is near a standard corporate-action ratio (``1:2`` = the price
halved, e.g. a 2-for-1 split or a 100 % bonus issue; ``3:1`` = a 3-to-1 reverse split, …) the jump is
called a *probable unadjusted split/bonus issue*.

Poisoning (the quarantine), all as ``(T, N)`` bool masks:

* :func:`quarantine_mask` — **backward** window, known at the close of ``t``: a suspect row in
  ``[t - days + 1, t]``. Such a code is not selectable or buyable at ``t``: every alpha whose lookback
  (at most ``days`` rows) reaches back over the jump sees a fake move. The default ``days`` (252) is at
  least the catalogue's longest lookback (251 rows).
* :func:`crossing_mask` — **forward** window: a suspect row in ``(t + a, t + a + h]`` where ``a`` is the
  entry offset (1 = next open, 0 = the signal's close) and ``h`` the holding period. Forward returns and
  ML labels of such cells are NaN (they would carry the fake −50 %), and a backtest does not buy a code
  whose holding period would cross a suspect date (a data-quality exclusion, stated in the output).

:func:`traded_mask` is the other half of selectability: a code that did not trade on a date (no open,
or zero volume: halted, the close is carried over) is not selectable on that date.

Configuration (``lasps.toml`` / ``LASPS_*``): ``suspect_quarantine`` (default ``true``; ``false`` turns
the quarantine off — the jumps are still detected, counted and reported), ``suspect_quarantine_days``
(252) and ``suspect_tolerance`` (0.01).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LIMIT_CHANGE_DATE = np.datetime64("2015-06-15")
DEFAULT_TOLERANCE = 0.01
DEFAULT_QUARANTINE_DAYS = 252
#: price ratio (new / old) -> how a user reads it; near one of these within RATIO_TOLERANCE
STANDARD_RATIOS: dict[float, str] = {
    **{1.0 / k: f"1:{k}" for k in (2, 3, 4, 5, 10, 20, 50)},
    1.0 / 1.5: "2:3",
    **{float(k): f"{k}:1" for k in (2, 3, 4, 5, 10, 20, 50)},
}
RATIO_TOLERANCE = 0.03
PROBABLE = "probable unadjusted split/bonus issue"


def price_limit(dates: np.ndarray) -> np.ndarray:
    """Daily price limit (fraction of the base price) in force on each date: 0.30, or 0.15 before 2015-06-15."""
    d = np.asarray(dates).astype("datetime64[D]")
    return np.where(d >= LIMIT_CHANGE_DATE, 0.30, 0.15)


def beyond_limit(change: np.ndarray, dates: np.ndarray, tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """True where ``|change| > limit(date) + tolerance`` (the one jump rule; ``change`` as 0.01 = +1 %).

    ``dates`` broadcasts against ``change`` (``(T,)`` with ``(T, N)`` is read as one date per row).
    """
    change = np.asarray(change, dtype=np.float64)
    limit = price_limit(dates)
    if change.ndim == 2 and limit.ndim == 1:
        limit = limit[:, None]
    with np.errstate(invalid="ignore"):
        return np.isfinite(change) & (np.abs(change) > limit + tolerance)


def standard_ratio(ratio: float) -> str | None:
    """The standard corporate-action ratio ``ratio`` (new / old price) is near, e.g. ``'1:2'``, or None."""
    if not np.isfinite(ratio) or ratio <= 0:
        return None
    for r, label in STANDARD_RATIOS.items():
        if abs(ratio / r - 1.0) <= RATIO_TOLERANCE:
            return label
    return None


def previous_close(close: np.ndarray) -> np.ndarray:
    """``(T, N)``: the code's last finite close strictly before each row (NaN where none)."""
    close = np.asarray(close, dtype=np.float64)
    T, N = close.shape
    idx = np.where(np.isfinite(close), np.arange(T)[:, None], -1)
    np.maximum.accumulate(idx, axis=0, out=idx)
    prev_idx = np.full((T, N), -1, dtype=np.int64)
    prev_idx[1:] = idx[:-1]
    out = np.take_along_axis(close, np.maximum(prev_idx, 0), axis=0)
    out[prev_idx < 0] = np.nan
    return out


def detect_suspects(close: np.ndarray, dates: np.ndarray,
                    tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """``(T, N)`` bool: rows whose adjusted close moved beyond the price limit vs the previous close."""
    close = np.asarray(close, dtype=np.float64)
    prev = previous_close(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = close / prev - 1.0
    return beyond_limit(change, dates, tolerance) & (prev > 0)


def _window_count(suspect: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Number of suspect rows in ``(lo[t], hi[t]]`` per column (rows clipped to the panel)."""
    T = suspect.shape[0]
    c = np.zeros((T + 1, suspect.shape[1]), dtype=np.int32)
    np.cumsum(suspect, axis=0, out=c[1:])
    lo = np.clip(lo, -1, T - 1) + 1
    hi = np.clip(hi, -1, T - 1) + 1
    return c[hi] - c[lo]


def quarantine_mask(suspect: np.ndarray, days: int = DEFAULT_QUARANTINE_DAYS) -> np.ndarray:
    """``(T, N)`` bool: a suspect row in ``[t - days + 1, t]`` (known at the close of ``t``)."""
    if days <= 0:
        return np.zeros(suspect.shape, dtype=bool)
    t = np.arange(suspect.shape[0])
    return _window_count(suspect, t - days, t) > 0


def crossing_mask(suspect: np.ndarray, horizon: int, entry_offset: int = 1) -> np.ndarray:
    """``(T, N)`` bool: a suspect row in ``(t + entry_offset, t + entry_offset + horizon]``.

    A return entered at row ``t + entry_offset`` and held ``horizon`` rows includes the jump.
    """
    t = np.arange(suspect.shape[0])
    return _window_count(suspect, t + entry_offset, t + entry_offset + horizon) > 0


def traded_mask(open_: np.ndarray | None, volume: np.ndarray | None, close: np.ndarray) -> np.ndarray:
    """``(T, N)`` bool: the code traded that day (close known, and open > 0 and volume > 0 where loaded)."""
    out = np.isfinite(close)
    with np.errstate(invalid="ignore"):
        if open_ is not None:
            out &= np.isfinite(open_) & (open_ > 0)
        if volume is not None:
            out &= np.isfinite(volume) & (volume > 0)
    return out


@dataclass(frozen=True)
class SuspectJump:
    """One suspect (code, date): the close before and on the day, their ratio and its reading."""

    code: str
    date: np.datetime64
    prev_close: float
    close: float

    @property
    def ratio(self) -> float:
        return self.close / self.prev_close

    @property
    def standard(self) -> str | None:
        return standard_ratio(self.ratio)

    def describe(self) -> str:
        """E.g. ``327260 2021-12-16 31,250 → 15,650 (−49.9 %): probable unadjusted split/bonus issue (1:2)``."""
        pct = (self.ratio - 1.0) * 100
        text = f"{self.code} {self.date} {self.prev_close:,.0f} → {self.close:,.0f} ({pct:+.1f} %)"
        if self.standard:
            text += f": {PROBABLE} ({self.standard})"
        return text


def list_suspects(suspect: np.ndarray, close: np.ndarray, dates: np.ndarray,
                  codes: np.ndarray) -> list[SuspectJump]:
    """The suspect cells of a panel as :class:`SuspectJump` records, by date then code."""
    prev = previous_close(close)
    ti, ci = np.nonzero(suspect)
    out = [SuspectJump(str(codes[c]), np.datetime64(dates[t], "D"), float(prev[t, c]), float(close[t, c]))
           for t, c in zip(ti, ci, strict=True)]
    return sorted(out, key=lambda j: (j.date, j.code))


def suspects_frame(jumps: list[SuspectJump]) -> pd.DataFrame:
    """``code, date, prev_close, close, ratio, standard_ratio, reading`` — one row per suspect jump."""
    return pd.DataFrame({
        "code": [j.code for j in jumps],
        "date": [str(j.date) for j in jumps],
        "prev_close": [j.prev_close for j in jumps],
        "close": [j.close for j in jumps],
        "ratio": [round(j.ratio, 4) for j in jumps],
        "standard_ratio": [j.standard or "" for j in jumps],
        "reading": [PROBABLE if j.standard else "unexplained jump" for j in jumps],
    })


def suspect_summary(panel) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """JSON-ready count and list of a panel's suspect jumps and the quarantine in force (for manifests)."""
    jumps = list_suspects(panel.suspect, panel.field("close"), panel.dates, panel.codes)
    return {
        "count": len(jumps),
        "probable_unadjusted_split_or_bonus": sum(1 for j in jumps if j.standard),
        "quarantine_days": int(panel.quarantine_days),
        "quarantine": "on" if panel.quarantine_days else "off (suspect_quarantine = false)",
        "jumps": [j.describe() for j in jumps],
    }


def selectability_on(panel, row: int = -1) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What kept codes out of selection at one panel row (default the last): halts and the quarantine.

    ``halted``: codes with a (carried-over) close that did not trade that day; ``quarantined``: suspect
    jumps within the quarantine window that make their code unselectable that day (``describe()`` texts).
    """
    t = row % panel.shape[0]
    close = panel.field("close")
    traded = panel.traded if panel.traded is not None else np.isfinite(close)
    halted = np.isfinite(close[t]) & ~traded[t]
    quarantined: list[str] = []
    if panel.quarantine_days:
        lo = max(0, t - panel.quarantine_days + 1)
        window = np.zeros_like(panel.suspect)
        window[lo:t + 1] = panel.suspect[lo:t + 1]
        quarantined = [j.describe() for j in list_suspects(window, close, panel.dates, panel.codes)]
    return {"date": str(panel.dates[t]), "halted": int(halted.sum()),
            "quarantined": quarantined, "quarantine_days": int(panel.quarantine_days)}


def buyable_mask(panel, holding: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``(T, N)``: ``panel.universe_mask`` less the codes whose next holding period crosses a suspect jump.

    A position entered at the next open and held ``holding`` sessions would otherwise book the fake move
    (a data-quality exclusion: the store knows the jump is not a return). Off with the quarantine.
    """
    universe = np.asarray(panel.universe_mask, dtype=bool)
    if not panel.quarantine_days or not panel.suspect.any():
        return universe
    return universe & ~crossing_mask(panel.suspect, holding, 1)


def suspect_note(summary: dict[str, object]) -> str:
    """One sentence for a :func:`suspect_summary` (backtests, ``alpha compute``): count, reading, effect."""
    n, probable, days = summary["count"], summary["probable_unadjusted_split_or_bonus"], summary["quarantine_days"]
    text = f"{n} suspect price jump(s) in the panel ({probable} {PROBABLE}(s))"
    if days:
        return text + (f": the codes were not selected for {days} sessions after each jump nor bought across one "
                       "(quarantine; suspect_quarantine = false turns it off)")
    return text + ": the quarantine is OFF (suspect_quarantine = false), their fake moves are traded as returns"
