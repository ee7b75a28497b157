"""Date splits: fixed boundaries, purge at the boundaries, the 60/20/20 fallback and its note."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.errors import ConfigError
from lasps.research.forward import known_rows
from lasps.research.splits import SplitSpec, make_splits


def bdays(start: str, n: int) -> np.ndarray:
    return np.busday_offset(np.datetime64(start, "D"), np.arange(n), roll="forward")


def test_fixed_boundaries_and_purge():
    dates = bdays("2022-06-01", 600)
    kr = known_rows(len(dates), 5, "open")
    sp = make_splits(dates, kr)
    assert not sp.fallback
    m = sp.masks
    tr, va, te = (np.flatnonzero(m[s]) for s in ("train", "val", "test"))
    # every signal's outcome is known inside its own split
    assert dates[kr[tr]].max() <= np.datetime64("2022-12-31")
    assert dates[va].min() > np.datetime64("2022-12-31")
    assert dates[kr[va]].max() <= np.datetime64("2023-12-31")
    assert dates[te].min() > np.datetime64("2023-12-31")
    # exactly h + 1 = 6 signal days before each boundary are purged
    last_2022 = np.flatnonzero(dates <= np.datetime64("2022-12-31"))[-1]
    assert tr[-1] == last_2022 - 6
    assert not (m["train"] & m["val"]).any() and not (m["val"] & m["test"]).any()
    assert m["all"].sum() == len(dates) - 6
    assert "purged (6 sessions)" in sp.note


def test_fallback_when_fixed_dates_leave_a_split_empty():
    dates = bdays("2023-10-30", 700)   # like the synthetic market: nothing before 2023
    kr = known_rows(len(dates), 5, "open")
    sp = make_splits(dates, kr)
    assert sp.fallback
    assert "train" in sp.note and "60/20/20" in sp.note
    n = {s: int(sp.masks[s].sum()) for s in ("train", "val", "test")}
    assert n["train"] == pytest.approx(0.6 * 694 - 6, abs=2)
    assert n["val"] == pytest.approx(0.2 * 694 - 6, abs=2)     # 694 signal days with a known outcome,
    assert n["test"] == pytest.approx(0.2 * 694, abs=2)        # 6 purged before each boundary
    assert sp.describe(dates).startswith("train 2023-10-30..")


def test_fallback_uses_the_usable_days_only():
    dates = bdays("2022-10-31", 500)
    kr = known_rows(len(dates), 5, "open")
    usable = np.arange(500) >= 70          # no universe during the first 70 sessions
    sp = make_splits(dates, kr, usable=usable)
    assert sp.fallback                      # 2022 has < 20 usable days
    assert not sp.masks["all"][:70].any()
    first_usable = dates[70]
    assert sp.bounds(dates, "train")[0] == first_usable


def test_bad_split_spec():
    with pytest.raises(ConfigError, match="before"):
        SplitSpec(train_end="2024-01-01", val_end="2023-01-01")
    with pytest.raises(ConfigError, match="parse"):
        SplitSpec(train_end="soon")
