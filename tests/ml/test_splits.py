"""Date splits: fixed boundaries, purge gap (no label window crosses into the next split), fallback."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.errors import ConfigError
from lasps.ml.splits import PURGED, SplitSpec, assign_splits


def _grid(start: str, T: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    dates = np.busday_offset(np.datetime64(start, "D"), np.arange(T), roll="forward")
    rows = np.arange(0, T - 10, stride)
    return dates, rows


@pytest.mark.parametrize("lag", [1, 3, 6])
def test_purge_gap_at_fixed_boundaries(lag: int) -> None:
    dates, rows = _grid("2022-01-03", 3 * 260)
    res = assign_splits(rows, dates, lag)
    assert res.mode == "dates"
    sd = dates[rows]
    for s, boundary in ((0, res.train_end), (1, res.val_end)):
        first_next = np.searchsorted(dates, boundary, side="right")
        members = rows[res.split == s]
        assert (members + lag < first_next).all()  # no label row reaches the next split
        assert res.purged[("train", "val")[s]] == lag  # exactly the last `lag` sessions before it
    assert (sd[res.split == 0] <= np.datetime64("2022-12-31")).all()
    val = sd[res.split == 1]
    assert ((val > np.datetime64("2022-12-31")) & (val <= np.datetime64("2023-12-31"))).all()
    assert (sd[res.split == 2] > np.datetime64("2023-12-31")).all()
    assert (res.split == PURGED).sum() == 2 * lag


def test_fallback_when_years_are_not_covered() -> None:
    dates, rows = _grid("2024-10-01", 400, stride=5)
    res = assign_splits(rows, dates, 6)
    assert res.mode == "fraction" and "fell back" in res.note
    c = res.counts()
    assert min(c.values()) > 0
    # train/val/test are in date order and purged at both boundaries
    sd = dates[rows]
    assert sd[res.split == 0].max() < sd[res.split == 1].min() <= sd[res.split == 1].max() < sd[res.split == 2].min()
    for s, boundary in ((0, res.train_end), (1, res.val_end)):
        first_next = np.searchsorted(dates, boundary, side="right")
        assert (rows[res.split == s] + 6 < first_next).all()
    # roughly 60/20/20 of the sample dates
    n_dates = len(np.unique(sd))
    assert abs(len(np.unique(sd[res.split == 0])) - 0.6 * n_dates) <= 3


def test_real_sample_years_fall_back_too() -> None:
    dates, rows = _grid("2018-01-02", 979, stride=5)
    res = assign_splits(rows, dates, 6)
    assert res.mode == "fraction" and min(res.counts().values()) > 0


def test_custom_boundaries_and_errors() -> None:
    dates, rows = _grid("2024-01-01", 500)
    res = assign_splits(rows, dates, 1, SplitSpec(train_end="2024-12-31", val_end="2025-06-30"))
    assert res.mode == "dates" and res.train_end == np.datetime64("2024-12-31")
    with pytest.raises(ConfigError):
        SplitSpec(train_end="2024-01-01", val_end="2023-01-01")
    with pytest.raises(ConfigError):
        SplitSpec(train_end="not a date")
    with pytest.raises(ConfigError):
        assign_splits(np.array([0, 0]), dates, 1)
