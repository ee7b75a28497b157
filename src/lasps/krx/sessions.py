"""KRX session times (DESIGN §2.5, §7): auctions, continuous trading, late opens.

Sessions (KST): opening auction 08:30–09:00, continuous trading 09:00–15:20, closing auction
15:20–15:30. The first session of the year opens one hour late (10:00, the close is unchanged); on the day of the
college scholastic ability test (CSAT, 수능) every time shifts by +1 h (10:00–16:30).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from lasps.dates import parse_date
from lasps.krx.calendar import KST, is_session, previous_session, xkrx

#: CSAT (수능) days: the market opens at 10:00 and closes at 16:30 KST. exchange_calendars does not
#: know every year's, so the list lives here (source: KRX notices).
CSAT_DAYS: frozenset[dt.date] = frozenset(
    parse_date(d, option="CSAT_DAYS")
    for d in (
        "2010-11-18", "2011-11-10", "2012-11-08", "2013-11-07", "2014-11-13", "2015-11-12",
        "2016-11-17", "2017-11-23", "2018-11-15", "2019-11-14", "2020-12-03", "2021-11-18",
        "2022-11-17", "2023-11-16", "2024-11-14", "2025-11-13", "2026-11-19",
    )
)


@dataclass(frozen=True)
class SessionTimes:
    """Times of one KRX session, timezone-aware in KST."""

    date: dt.date
    pre_open: dt.datetime  # opening auction starts (order book opens)
    open: dt.datetime  # continuous trading starts
    closing_auction: dt.datetime  # closing auction starts; unfilled day orders are cancelled around here
    close: dt.datetime  # closing auction ends
    late_open: bool  # first session of the year or CSAT day (+1 h)


def session_times(date: str | dt.date) -> SessionTimes:
    """Session times of ``date``; raises ``ValueError`` if it is not a trading day."""
    d = pd.Timestamp(date).date()
    if not is_session(d):
        raise ValueError(f"{d} is not a KRX trading day")
    cal = xkrx()
    first_of_year = d == cal.date_to_session(pd.Timestamp(d.year, 1, 1), "next").date()
    csat = d in CSAT_DAYS
    open_shift = dt.timedelta(hours=1 if (first_of_year or csat) else 0)
    close_shift = dt.timedelta(hours=1 if csat else 0)  # the first session of the year closes as usual

    def at(h: int, m: int, shift: dt.timedelta) -> dt.datetime:
        return dt.datetime(d.year, d.month, d.day, h, m, tzinfo=KST) + shift

    return SessionTimes(d, at(8, 30, open_shift), at(9, 0, open_shift), at(15, 20, close_shift),
                        at(15, 30, close_shift), first_of_year or csat)


def latest_completed_session(now: dt.datetime | None = None) -> dt.date:
    """The most recent session whose close (15:30 KST, 16:30 on a late day) is at or before ``now``."""
    now = now.astimezone(KST) if now else dt.datetime.now(KST)
    today = now.date()
    if is_session(today) and now >= session_times(today).close:
        return today
    return previous_session(today)


__all__ = ["CSAT_DAYS", "SessionTimes", "latest_completed_session", "session_times"]
