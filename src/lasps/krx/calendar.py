"""KRX trading calendar (DESIGN §2.5): which days are sessions, from ``exchange_calendars`` ``XKRX``.

Dates are calendar days (no time of day); the session *times* of a day (auctions, late opens) are in
:mod:`lasps.krx.sessions`. :data:`KST` is the exchange's time zone (Asia/Seoul, UTC+9, no DST).
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

KST = ZoneInfo("Asia/Seoul")
CALENDAR_START = "1995-01-01"


@functools.lru_cache(maxsize=1)
def xkrx():  # type: ignore[no-untyped-def]
    """The ``exchange_calendars`` XKRX calendar from :data:`CALENDAR_START` (built once, on first use)."""
    import exchange_calendars as xcals

    return xcals.get_calendar("XKRX", start=CALENDAR_START)


def sessions(start: str | dt.date | np.datetime64, end: str | dt.date | np.datetime64) -> np.ndarray:
    """Trading sessions in ``[start, end]`` as ``datetime64[D]`` (ascending)."""
    cal = xkrx()
    s = pd.Timestamp(start).normalize()
    e = pd.Timestamp(end).normalize()
    s = max(s, cal.first_session)
    e = min(e, cal.last_session)
    if s > e:
        return np.array([], dtype="datetime64[D]")
    return cal.sessions_in_range(s, e).values.astype("datetime64[D]")


def is_session(date: str | dt.date) -> bool:
    """True if ``date`` is a KRX trading day."""
    ts = pd.Timestamp(date).normalize()
    cal = xkrx()
    if ts < cal.first_session or ts > cal.last_session:
        return False
    return bool(cal.is_session(ts))


def previous_session(date: str | dt.date) -> dt.date:
    """The last trading day strictly before ``date``."""
    cal = xkrx()
    return cal.date_to_session(pd.Timestamp(date).normalize() - pd.Timedelta(days=1), "previous").date()


def as_days(dates: npt.ArrayLike) -> np.ndarray:
    """Date-likes (ISO strings, ``datetime.date``, ``np.datetime64``, pandas Timestamps, or arrays of them)
    as a ``datetime64[D]`` array of the same shape (internal arrays; user input goes through
    :mod:`lasps.dates`)."""
    try:
        return np.asarray(dates, dtype="datetime64[D]")
    except (TypeError, ValueError):
        return np.asarray(pd.to_datetime(np.asarray(dates, dtype=object)), dtype="datetime64[D]")


__all__ = ["CALENDAR_START", "KST", "as_days", "is_session", "previous_session", "sessions", "xkrx"]
