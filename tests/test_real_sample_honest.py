"""Issue 15 on the real krx-2018-2021 sample (``realdata``; skipped when the sample is absent).

The sample is imported once per session (``real_home`` in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lasps.alpha.catalogue import get_catalogue
from lasps.alpha.engine import interpret
from lasps.data.checks import check_store
from lasps.data.panel_loader import load_panel
from lasps.data.store import MarketStore
from lasps.data.suspect import selectability_on
from lasps.errors import UnavailableError
from lasps.pipeline.assemble import selectability_warnings, universe_line

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
BONUS_ISSUES = {"327260": "2021-12-16", "289220": "2021-12-17"}  # 100 % bonus issues the sample never adjusted


def test_all_codes_stored_unknown_market_kept_outside_market_universes(real_home: Path) -> None:
    with MarketStore(real_home, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM stocks") == 2471
        assert store.scalar("SELECT count(*) FROM stocks WHERE market = 'UNKNOWN'") == 49
        unknown = {r[0] for r in store.con.execute("SELECT code FROM stocks WHERE market = 'UNKNOWN'").fetchall()}
    panel = load_panel(fields=["close"], start="2021-12-01", home=real_home)
    assert not unknown & set(panel.codes)
    everything = load_panel(fields=["close"], start="2021-12-01", universe="all", home=real_home)
    assert unknown <= set(everything.codes)


def test_data_check_rounding_notes_and_quarantined_jumps_warnings(real_home: Path) -> None:
    report = check_store(real_home, record=False)
    f = report.findings
    assert report.errors == 0, report.summary().to_string()
    rounding = f[f["rule"] == "ohlc_rounding"]
    assert len(rounding) > 1000 and set(rounding["severity"]) == {"note"}
    jumps = f[f["rule"] == "unexplained_jump"]
    assert len(jumps) == 15 and set(jumps["severity"]) == {"warning"}
    for code, day in BONUS_ISSUES.items():
        row = jumps[(jumps["code"] == code) & (jumps["date"].astype(str) == day)]
        assert len(row) == 1 and "probable unadjusted split/bonus issue (1:2)" in row["detail"].iloc[0]


def test_bonus_issues_and_halted_codes_are_not_selectable(real_home: Path) -> None:
    panel = load_panel(start="2021-01-04", end="2021-12-17", home=real_home)
    codes = list(panel.codes)
    for code, day in BONUS_ISSUES.items():
        j = codes.index(code)
        assert panel.suspect[panel.date_index(np.datetime64(day)), j]
        assert not panel.universe_mask[-1, j]
    sel = selectability_on(panel)
    named = " ".join(sel["quarantined"])
    assert "327260 2021-12-16" in named and "289220 2021-12-17" in named
    # halted on the date (carried-over close, no open / no volume) are out of the universe
    halted = np.isfinite(panel.close[-1]) & ~panel.traded[-1]
    assert sel["halted"] == int(halted.sum()) > 50
    assert not (panel.universe_mask[-1] & halted).any()
    ev = {"suspect_jumps": {"count": 12, "probable_unadjusted_split_or_bonus": 2}, "selectability": sel}
    text = " ".join(selectability_warnings(ev, panel.dates[-1]))
    assert "327260" in text and "289220" in text and "probable unadjusted split/bonus issue" in text
    assert f"{sel['halted']:,} halted" in universe_line(int(panel.universe_mask[-1].sum()), ev, panel.dates[-1])


def test_alpha_101_stays_bounded_on_rounded_rows(real_home: Path) -> None:
    """(close - open) / (high - low + 0.001) reached 6,000 where the close sat outside [low, high]."""
    panel = load_panel(start="2021-06-01", home=real_home)
    assert panel.ohlc_repaired > 0
    values = interpret(panel, get_catalogue(real_home)["alpha_101"])
    assert np.nanmax(np.abs(values)) <= 1.0


def test_top_n_universe_without_market_cap_names_the_cause(real_home: Path) -> None:
    with pytest.raises(UnavailableError, match="daily market cap"):
        load_panel(start="2021-12-01", universe="top100", home=real_home)


def test_single_alpha_013_reports_its_halted_positions(real_home: Path) -> None:
    from lasps.backtest.runner import RunParams, run_backtest

    out = run_backtest(real_home, "single", "13", params=RunParams(write=False))
    stuck = out.summary["halted_at_end"]
    assert stuck["count"] >= 1 and 0 < stuck["share_of_final_value"] <= 1
    assert stuck["total_return_at_zero"] < stuck["total_return"]
    assert all(p["halted_sessions"] >= 1 for p in stuck["positions"])
    assert any("halted at the end" in n and "valued at zero" in n.lower() for n in out.notes)
    assert out.summary["suspect_jumps"]["count"] > 0
    bought = out.result.trades[out.result.trades["side"] == "buy"]
    for code, day in BONUS_ISSUES.items():  # never bought across (a 5-session holding) or after the bonus issue
        near = str(np.datetime64(day) - np.timedelta64(8, "D"))
        assert not ((bought["code"] == code) & (bought["date"] >= near)).any(), (code, day)
    rob = out.summary["robustness"]
    assert set(rob["top_n_total_return"]) == {"5", "20", "50"} and len(rob["phase_total_return"]) == 5


def test_oos_2020_to_2021_is_clipped_not_refused(real_home: Path) -> None:
    from lasps.backtest.runner import RunParams, run_oos

    out = run_oos(real_home, "2020-01-01", "2020-12-31", "2021-01-01", "2021-12-31", "voting", 5,
                  RunParams(write=False, pool="1-20"))
    assert out.out_of_sample.summary["parameters"]["end"] == "2021-12-21"
    assert any("clipped to the last stored session 2021-12-21" in n for n in out.notes)
