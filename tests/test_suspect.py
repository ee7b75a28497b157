"""Suspect jumps and selectability (DESIGN 2.3-2.4, issue 15): detection, windows, readings, the panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lasps.data.panel_loader import load_panel, repair_adjusted_rounding
from lasps.data.rounding import outside_krw, outside_severity
from lasps.data.store import MarketStore
from lasps.data.suspect import (
    beyond_limit,
    crossing_mask,
    detect_suspects,
    list_suspects,
    previous_close,
    quarantine_mask,
    standard_ratio,
    traded_mask,
)
from lasps.research.forward import panel_forward_returns
from tests.conftest import make_bundle

NAN = np.nan


def test_limit_rule_by_date_and_tolerance() -> None:
    dates = np.array(["2015-06-12", "2015-06-15"], dtype="datetime64[D]")
    # before 2015-06-15 the limit is 15 %: +16.5 % is beyond 15 % + 1 pp; after it, 30 % + 1 pp
    assert beyond_limit(np.array([0.165, 0.165]), dates).tolist() == [True, False]
    after = np.array(["2021-12-16", "2021-12-16"], dtype="datetime64[D]")
    assert beyond_limit(np.array([-0.305, -0.315]), after).tolist() == [False, True]


def test_detection_skips_halts_and_reads_standard_ratios() -> None:
    dates = np.arange(np.datetime64("2021-12-13"), np.datetime64("2021-12-18"))
    close = np.array([[31_250.0, 100.0], [NAN, 101.0], [31_250.0, 102.0], [15_650.0, 103.0], [15_700.0, 104.0]])
    np.testing.assert_array_equal(previous_close(close)[:, 0], [NAN, 31_250, 31_250, 31_250, 15_650])
    s = detect_suspects(close, dates)
    assert s[:, 0].tolist() == [False, False, False, True, False] and not s[:, 1].any()
    jumps = list_suspects(s, close, dates, np.array(["327260", "000001"], dtype=object))
    assert len(jumps) == 1 and jumps[0].standard == "1:2"
    assert "probable unadjusted split/bonus issue (1:2)" in jumps[0].describe()
    assert standard_ratio(0.4908) == "1:2" and standard_ratio(3.02) == "3:1" and standard_ratio(0.62) is None


def test_quarantine_and_crossing_windows() -> None:
    s = np.zeros((10, 1), dtype=bool)
    s[4, 0] = True
    # backward: rows t with 4 in [t - 2, t]
    assert np.flatnonzero(quarantine_mask(s, 3)[:, 0]).tolist() == [4, 5, 6]
    assert not quarantine_mask(s, 0).any()
    # forward, next-open entry held 2 sessions: 4 in (t + 1, t + 3]  ->  t in {1, 2}
    assert np.flatnonzero(crossing_mask(s, 2, 1)[:, 0]).tolist() == [1, 2]
    # close entry: 4 in (t, t + 2]  ->  t in {2, 3}
    assert np.flatnonzero(crossing_mask(s, 2, 0)[:, 0]).tolist() == [2, 3]


def test_traded_mask() -> None:
    close = np.array([[100.0, 100.0, 100.0, NAN]])
    open_ = np.array([[100.0, NAN, 100.0, NAN]])
    volume = np.array([[10.0, 0.0, 0.0, NAN]])
    assert traded_mask(open_, volume, close)[0].tolist() == [True, False, False, False]


def test_one_rounding_rule() -> None:
    # adjusted: 1 KRW silent, 2 KRW a note (also > 1 % at 150 KRW), 1 % of 10,000 a note, beyond an error
    o = np.array([10_000.0, 150.0, 10_000.0, 10_000.0, 10_000.0])
    h = np.array([10_000.0, 150.0, 10_000.0, 10_000.0, 10_000.0])
    lo = np.array([9_900.0, 140.0, 9_900.0, 9_900.0, 9_900.0])
    c = np.array([10_001.0, 152.0, 10_100.0, 10_200.0, 10_001.0])
    ex = outside_krw(o, h, lo, c)
    np.testing.assert_array_equal(ex, [1, 2, 100, 200, 1])
    adjusted = np.array([True, True, True, True, False])
    assert outside_severity(ex, c, adjusted).tolist() == ["", "note", "note", "error", "error"]


def test_rounding_repair_widens_the_range_of_adjusted_codes_only() -> None:
    out = {"open": np.array([[100.0, 100.0]]), "high": np.array([[100.0, 100.0]]),
           "low": np.array([[99.0, 99.0]]), "close": np.array([[102.0, 102.0]])}
    assert repair_adjusted_rounding(out, np.array([True, False])) == 1
    assert out["high"].tolist() == [[102.0, 100.0]] and out["low"].tolist() == [[99.0, 99.0]]


def _store_with_jump(home, quarantine: bool = True):  # type: ignore[no-untyped-def]
    b = make_bundle(n_days=80, split_day=None)
    p = b.prices
    rows = p.index[p["code"] == "005930"]
    for col in ("open", "high", "low", "close"):  # an unadjusted 100 % bonus issue on day 60
        p.loc[rows[60:], col] = p.loc[rows[60:], col] / 2.0
    p.loc[rows[60:], "change_ratio"] = np.nan
    halted = p.index[p["code"] == "035420"][70]
    p.loc[halted, ["open", "high", "low"]] = np.nan
    p.loc[halted, "volume"] = 0.0
    with MarketStore(home) as s:
        s.write_bundle(b)
    return b, pd.Timestamp(sorted(p["date"].unique())[60]).date(), pd.Timestamp(
        sorted(p["date"].unique())[70]).date()


def test_panel_quarantines_the_jump_and_drops_halted_days(home, monkeypatch: pytest.MonkeyPatch) -> None:
    _b, jump_day, halt_day = _store_with_jump(home)
    panel = load_panel(home=home, universe="all", min_history=5)
    j = list(panel.codes).index("005930")
    t = panel.date_index(np.datetime64(jump_day))
    assert panel.suspect[:, j].sum() == 1 and panel.suspect[t, j]
    assert panel.quarantine_days == 252
    assert panel.universe_mask[t - 1, j] and not panel.universe_mask[t:, j].any()
    k = list(panel.codes).index("035420")
    th = panel.date_index(np.datetime64(halt_day))
    assert not panel.traded[th, k] and not panel.universe_mask[th, k] and panel.universe_mask[th - 1, k]
    # forward returns that cross the jump are NaN; the others are not
    fwd = panel_forward_returns(panel, 5, "open").values
    assert np.isnan(fwd[t - 6:t - 1, j]).all() and np.isfinite(fwd[t - 7, j]) and np.isfinite(fwd[t + 2, j])
    # the off-switch: detected (and reported) but not quarantined
    monkeypatch.setenv("LASPS_SUSPECT_QUARANTINE", "false")
    off = load_panel(home=home, universe="all", min_history=5)
    assert off.quarantine_days == 0 and off.suspect[t, j] and off.universe_mask[t:, j].all()
    assert np.isfinite(panel_forward_returns(off, 5, "open").values[t - 3, j])
