"""Reading dates a user typed: the one parser every command and API entry point uses.

The accepted form is ISO ``YYYY-MM-DD`` and nothing else — ``04/01/2021`` is month-first in one
country and day-first in another, ``20210401`` and ``2021-W13-4`` are easy to mistype — so anything
else is a :class:`~lasps.errors.ConfigError` (CLI exit code 2) that names the option and the
accepted form. Date objects (``datetime.date``, ``datetime.datetime``, ``pandas.Timestamp``,
``numpy.datetime64``) given through the Python API are taken as they are (their calendar day).
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from lasps.errors import ConfigError

__all__ = ["ISO_DATE_FORM", "parse_date", "parse_optional_date"]

ISO_DATE_FORM = "YYYY-MM-DD"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: object, *, option: str = "--date") -> dt.date:
    """``value`` as a calendar date.

    Strings must be ``YYYY-MM-DD`` (surrounding blanks ignored) and a real day; date-like objects
    keep their calendar day. Raises :class:`ConfigError` naming ``option`` (e.g. ``--start``)
    otherwise.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64) and not np.isnat(value):
        return dt.date.fromisoformat(str(value.astype("datetime64[D]")))
    text = value.strip() if isinstance(value, str) else None
    if text is not None and _ISO_DATE.fullmatch(text):
        try:
            return dt.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        except ValueError as exc:
            raise ConfigError(f"cannot parse {option} date {value!r}: not a calendar day ({exc})", where=option,
                              fix=f"use {ISO_DATE_FORM}, e.g. 2024-01-31") from exc
    raise ConfigError(f"cannot parse {option} date {value!r}: expected {ISO_DATE_FORM}", where=option,
                      fix=f"use {ISO_DATE_FORM}, e.g. 2024-01-31 (month-first or day-first forms are refused)")


def parse_optional_date(value: object, *, option: str = "--date") -> dt.date | None:
    """:func:`parse_date`, except that ``None`` and a blank string mean "not given" (``None``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_date(value, option=option)
