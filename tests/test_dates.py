"""lasps.dates: ISO YYYY-MM-DD only, clear errors naming the option."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lasps.dates import parse_date, parse_optional_date
from lasps.errors import ConfigError


def test_iso_dates_and_date_objects() -> None:
    assert parse_date("2021-04-01") == dt.date(2021, 4, 1)
    assert parse_date("  2024-02-29 \n", option="--start") == dt.date(2024, 2, 29)
    assert parse_date(dt.date(2021, 4, 1)) == dt.date(2021, 4, 1)
    assert parse_date(dt.datetime(2021, 4, 1, 23, 59)) == dt.date(2021, 4, 1)
    assert parse_date(pd.Timestamp("2021-04-01 09:00")) == dt.date(2021, 4, 1)
    assert parse_date(np.datetime64("2021-04-01")) == dt.date(2021, 4, 1)
    assert type(parse_date(pd.Timestamp("2021-04-01"))) is dt.date


@pytest.mark.parametrize("text", ["04/01/2021", "01.04.2021", "20210401", "2021-4-1", "2021-W13-4",
                                  "2021-04-01T00:00", "2021/04/01", "yesterday", "", "2021-04"])
def test_every_other_form_is_refused_naming_the_option(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_date(text, option="--start")
    err = info.value
    assert err.where == "--start" and "YYYY-MM-DD" in str(err) and err.exit_code == 2
    assert f"cannot parse --start date {text!r}" in err.what


@pytest.mark.parametrize("text", ["2021-02-29", "2023-13-01", "2023-00-10", "2023-04-31"])
def test_impossible_days_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="not a calendar day"):
        parse_date(text, option="--end")


def test_non_strings_and_nat_are_refused() -> None:
    for bad in (20210401, 2021.0, np.datetime64("NaT"), None):
        with pytest.raises(ConfigError, match="cannot parse --date"):
            parse_date(bad)


def test_optional() -> None:
    assert parse_optional_date(None) is None
    assert parse_optional_date("   ") is None
    assert parse_optional_date("2021-04-01", option="--until") == dt.date(2021, 4, 1)
    with pytest.raises(ConfigError, match="--until"):
        parse_optional_date("04/01/2021", option="--until")
