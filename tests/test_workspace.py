"""lasps.Workspace and its Python API: shapes of the pandas results, the same numbers as the CLI layers,
and alphalens' factor_data checked against alphalens itself."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lasps
from lasps.errors import StoreError
from lasps.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from tests.pipeline import fixtures

    return lasps.Workspace.open(fixtures.base_home(tmp_path_factory))


def test_workspace_is_the_package_entry_point(ws: Workspace) -> None:
    assert lasps.Workspace is Workspace
    assert ws.db_path == ws.home / "lasps.duckdb"
    assert ws.path("research", "x.csv") == ws.home / "research" / "x.csv"
    assert "alpha_101" in ws.catalogue


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "nowhere")
    with pytest.raises(StoreError, match="lasps data init"):
        ws.sessions()


def test_sessions_and_warmup_start(ws: Workspace) -> None:
    sessions = ws.sessions()
    assert sessions.dtype == np.dtype("datetime64[D]") and np.all(np.diff(sessions) > np.timedelta64(0, "D"))
    start = pd.Timestamp(sessions[100]).date()
    assert ws.session_before(start, 10) == pd.Timestamp(sessions[90]).date()
    assert ws.session_before(start, 0) == start
    assert ws.session_before(pd.Timestamp(sessions[3]).date(), 50) == pd.Timestamp(sessions[0]).date()
    assert ws.session_before(pd.Timestamp(sessions[0]).date(), 5) == pd.Timestamp(sessions[0]).date()


def test_panel_frame_is_dates_by_codes(ws: Workspace) -> None:
    panel = ws.panel(start="2026-01-01")
    close = panel.frame("close")
    assert close.shape == panel.shape
    assert close.index.name == "date" and isinstance(close.index, pd.DatetimeIndex)
    assert close.columns.name == "code" and all(isinstance(c, str) for c in close.columns)
    assert close.index[0] >= pd.Timestamp("2026-01-01")
    np.testing.assert_array_equal(close.to_numpy(), panel.close)


def test_alphas_compute_matches_the_engine_on_a_longer_panel(ws: Workspace) -> None:
    from lasps.alpha.engine import compute

    frames = ws.alphas.compute([1, "alpha_101"], start="2026-06-01")
    assert set(frames) == {"alpha_001", "alpha_101"}
    full = ws.panel()
    ref = compute(full, ["alpha_001", "alpha_101"], catalogue=ws.catalogue)
    for name, frame in frames.items():
        assert frame.index[0] >= pd.Timestamp("2026-06-01")
        rows = np.searchsorted(full.dates, frame.index.to_numpy().astype("datetime64[D]"))
        # warm-up loaded before the start: the values equal the full-history computation
        np.testing.assert_allclose(frame.to_numpy(), np.asarray(ref[name])[rows], equal_nan=True)
        assert np.isfinite(frame.to_numpy()).any()


def test_research_evaluate_shapes_and_reverse_mirror(ws: Workspace) -> None:
    res = ws.research.evaluate([1, 101], start="2025-06-01")
    assert list(res.ic.columns) == ["alpha_001", "alpha_001_rev", "alpha_101", "alpha_101_rev"]
    np.testing.assert_allclose(res.ic["alpha_101_rev"], -res.ic["alpha_101"], equal_nan=True)
    assert {"variant", "split", "ic_mean", "ic_ir", "ls_return"} <= set(res.ranking.columns)
    assert set(res.ranking["split"]) == {"train", "val", "test", "all"}
    assert len(res.top("all", n=2)) == 2


def test_to_alphalens_equals_alphalens_own_factor_data(ws: Workspace) -> None:
    from alphalens.utils import get_clean_factor_and_forward_returns

    ours = ws.research.to_alphalens(101, periods=(1, 5), quantiles=5, start="2026-03-01")
    assert ours.index.names == ["date", "asset"]
    assert list(ours.columns) == ["1D", "5D", "factor", "factor_quantile"]
    assert ours["factor_quantile"].between(1, 5).all()
    # alphalens computes forward returns from a price frame: the next open, dated by the signal row
    panel = ws.panel(start=ours.index.get_level_values("date")[0].date())
    prices = panel.frame("open").shift(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = get_clean_factor_and_forward_returns(ours["factor"], prices, periods=(1, 5), quantiles=5, max_loss=1.0)
    assert list(ref.columns) == list(ours.columns)
    ref = ref.reset_index()
    mine = ours.reset_index()
    ref["date"] = pd.to_datetime(ref["date"]).dt.tz_localize(None)
    merged = mine.merge(ref, on=["date", "asset"], suffixes=("", "_al"), how="outer", indicator=True)
    assert len(merged) > 200 and (merged["_merge"] == "both").all()
    for col in ("1D", "5D", "factor"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_al"], rtol=1e-12)
    np.testing.assert_array_equal(merged["factor_quantile"], merged["factor_quantile_al"].astype(int))


def test_to_alphalens_hand_checked_row(ws: Workspace) -> None:
    fd = ws.research.to_alphalens(1, periods=(2,), quantiles=3, start="2026-05-01", entry="close", reverse=True)
    date, code = fd.index[0]
    panel = ws.panel(start="2026-05-01")
    t = int(np.searchsorted(panel.dates, np.datetime64(date.date(), "D")))
    j = [str(c) for c in panel.codes].index(code)
    assert fd.iloc[0]["2D"] == pytest.approx(panel.close[t + 2, j] / panel.close[t, j] - 1)
    a1 = ws.alphas.compute(1, start="2026-05-01")["alpha_001"]
    assert fd.iloc[0]["factor"] == pytest.approx(-a1.loc[date, code])


def test_backtest_run_returns_frames(ws: Workspace) -> None:
    bt = ws.backtest.run("single", "101", start="2026-06-01", end="2026-10-30")
    assert list(bt.daily.columns) == ["cash", "positions_value", "total_value", "benchmark"]
    assert bt.daily.index.name == "date"
    np.testing.assert_allclose(bt.daily["cash"] + bt.daily["positions_value"], bt.daily["total_value"])
    assert {"date", "code", "side", "qty", "price", "fee", "tax"} <= set(bt.trades.columns)
    assert bt.summary["total_return"] == pytest.approx(bt.daily["total_value"].iloc[-1] / 100_000_000.0 - 1)
