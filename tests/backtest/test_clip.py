"""`backtest oos` periods past the stored data are clipped and said so (issue 15)."""

from __future__ import annotations

import numpy as np

from lasps.backtest.runner import clip_to_stored

D = np.datetime64


def test_clip_to_the_last_and_first_stored_sessions() -> None:
    s, e, notes = clip_to_stored(D("2021-01-01"), D("2021-12-31"), D("2018-01-02"), D("2021-12-21"), "trade")
    assert (s, e) == (D("2021-01-01"), D("2021-12-21"))
    assert notes == ["the trade period 2021-01-01..2021-12-31 was clipped to the last stored session 2021-12-21"]
    s, e, notes = clip_to_stored(D("2017-06-01"), D("2018-06-30"), D("2018-01-02"), D("2021-12-21"), "selection")
    assert (s, e) == (D("2018-01-02"), D("2018-06-30")) and "first stored session 2018-01-02" in notes[0]


def test_a_period_outside_the_data_is_left_for_check_window() -> None:
    s, e, notes = clip_to_stored(D("2022-01-01"), D("2022-12-31"), D("2018-01-02"), D("2021-12-21"), "trade")
    assert (s, e, notes) == (D("2022-01-01"), D("2022-12-31"), [])
