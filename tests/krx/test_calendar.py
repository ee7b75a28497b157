"""KRX calendar and session times."""

from __future__ import annotations

import datetime as dt

import pytest

from lasps.krx.calendar import KST, is_session, sessions
from lasps.krx.sessions import latest_completed_session, session_times


def test_known_holidays_are_not_sessions():
    assert not is_session("2024-02-09")  # 설날 (Lunar New Year)
    assert not is_session("2024-09-17")  # 추석 (Chuseok)
    assert not is_session("2024-12-31")  # year-end closing day
    assert not is_session("2024-01-06")  # Saturday
    assert is_session("2024-01-02")


def test_sessions_range_is_ascending_and_inclusive():
    s = sessions("2024-01-02", "2024-01-31")
    assert str(s[0]) == "2024-01-02" and str(s[-1]) == "2024-01-31"
    assert (s[1:] > s[:-1]).all()
    assert len(s) == 22


def test_regular_session_times():
    t = session_times("2024-03-05")
    assert (t.pre_open.hour, t.pre_open.minute) == (8, 30)
    assert (t.open.hour, t.closing_auction.hour, t.closing_auction.minute) == (9, 15, 20)
    assert (t.close.hour, t.close.minute) == (15, 30)
    assert t.open.tzinfo == KST and not t.late_open


def test_first_session_of_year_opens_at_ten_and_closes_as_usual():
    t = session_times("2024-01-02")
    assert t.late_open and t.open.hour == 10 and (t.close.hour, t.close.minute) == (15, 30)


def test_csat_day_shifts_everything_one_hour():
    t = session_times("2024-11-14")
    assert t.open.hour == 10 and (t.close.hour, t.close.minute) == (16, 30)


def test_session_times_refuses_holiday():
    with pytest.raises(ValueError, match="not a KRX trading day"):
        session_times("2024-02-09")


def test_latest_completed_session():
    before_close = dt.datetime(2024, 3, 5, 15, 0, tzinfo=KST)
    after_close = dt.datetime(2024, 3, 5, 15, 31, tzinfo=KST)
    saturday = dt.datetime(2024, 3, 9, 12, 0, tzinfo=KST)
    assert latest_completed_session(before_close) == dt.date(2024, 3, 4)
    assert latest_completed_session(after_close) == dt.date(2024, 3, 5)
    assert latest_completed_session(saturday) == dt.date(2024, 3, 8)
