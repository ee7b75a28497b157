"""load_panel: dense (T, N) arrays, adjustment as of the panel end, universes, unavailable fields."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.data.panel import Panel
from lasps.data.panel_loader import load_panel
from lasps.data.store import MarketStore
from lasps.errors import ConfigError, StoreError, UnavailableError
from tests.conftest import make_bundle


@pytest.fixture
def stored(home):
    with MarketStore(home) as s:
        s.write_bundle(make_bundle(split_day=40, split_ratio=0.5))
    return home


def test_dense_shape_codes_and_metadata(stored):
    p = load_panel(home=stored, universe="all", min_history=1)
    assert p.shape == (80, 4)
    assert list(p.codes) == ["005930", "035420", "069500", "091990"]
    assert p.close.dtype == np.float64
    assert list(p.sector_ids) == [0, 2, -1, 11]
    assert p.index_close("1001")[0] == 2500.0
    assert p.industry[2] == -1 and len(set(p.industry[[0, 1, 3]])) == 3


def test_default_universe_excludes_etf(stored):
    p = load_panel(home=stored, min_history=1)
    assert "069500" not in set(p.codes)


def test_split_is_adjusted_on_load(stored):
    p = load_panel(home=stored, min_history=1)
    c = p.close[:, list(p.codes).index("005930")]
    # raw close is 1000 + 10 t before the split and half that after; adjusted to the latest basis it
    # is 0.5 (1000 + 10 t) on every day: no jump at the split
    np.testing.assert_allclose(c, 0.5 * (1000.0 + 10.0 * np.arange(80)))
    v = p.volume[:, list(p.codes).index("005930")]
    assert v[0] == pytest.approx(1000.0 / 0.5)  # volume adjusted inversely before the split
    assert v[50] == pytest.approx(1050.0)
    r = p.returns[:, 0]
    assert np.isnan(r[0]) and np.all(np.abs(r[1:]) < 0.011)


def test_adjustment_is_point_in_time(stored):
    """A panel ending before the split is not rescaled by it (the split is not yet known)."""
    p = load_panel(home=stored, end=p_date(stored, 39), min_history=1)
    c = p.close[:, list(p.codes).index("005930")]
    np.testing.assert_allclose(c, 1000.0 + 10.0 * np.arange(40))
    full = load_panel(home=stored, min_history=1)
    assert full.close[0, 0] == pytest.approx(500.0)  # raw 1000 × factor 0.5 once the split is known


def p_date(home, i):
    with MarketStore(home, read_only=True) as s:
        return s.query_df("SELECT DISTINCT date FROM daily_prices ORDER BY date")["date"].iloc[i].date()


def test_date_range_and_history_mask(stored):
    p = load_panel(home=stored, start=p_date(stored, 10), min_history=20)
    assert p.shape[0] == 70
    # 10 sessions before the window count toward the 20 needed: members from window row 9 on
    assert not p.universe_mask[8].any()
    assert p.universe_mask[9].all()


def test_top_n_universe_point_in_time(stored):
    p = load_panel(home=stored, universe="top1", min_history=1)
    # 091990 never; 005930 cap = raw*1e6 (small after the split), 035420 largest throughout
    assert p.universe_mask.sum(axis=1).max() == 1
    assert p.universe_mask[:, list(p.codes).index("035420")].all()


def test_code_list_universe(stored):
    p = load_panel(home=stored, universe="005930,069500", min_history=1)
    assert list(p.codes) == ["005930", "069500"]


def test_derived_fields(stored):
    p = load_panel(home=stored, min_history=1)
    np.testing.assert_allclose(p.vwap[50, 0], p.value[50, 0] / p.volume[50, 0])
    assert p.cap is p.market_cap


def test_unavailable_value_blocks_vwap(home):
    b = make_bundle()
    b.prices["value"] = np.nan
    b.unavailable["value"] = "no traded value in this source"
    with MarketStore(home) as s:
        s.write_bundle(b)
    p = load_panel(home=home, min_history=1)
    assert not p.has("vwap")
    assert "no traded value" in (p.unavailable_reason("vwap") or "")
    with pytest.raises(UnavailableError):
        _ = p.vwap
    assert p.has("close")


@pytest.mark.parametrize("kwargs, err", [
    ({"universe": "bogus!"}, ConfigError),
    ({"fields": ["close", "nope"]}, ConfigError),
    ({"start": "2024-05-01", "end": "2024-01-01"}, ConfigError),
    ({"start": "not a date"}, ConfigError),
    ({"start": "2030-01-01"}, StoreError),
])
def test_bad_arguments(stored, kwargs, err):
    with pytest.raises(err):
        load_panel(home=stored, **kwargs)


def test_empty_store(home):
    with MarketStore(home):
        pass
    with pytest.raises(StoreError, match="empty"):
        load_panel(home=home)


def test_panel_validates_shapes():
    with pytest.raises(ValueError, match="shape"):
        Panel(dates=np.array(["2024-01-02"], dtype="datetime64[D]"), codes=np.array(["005930", "000660"]),
              fields={"close": np.zeros((1, 3))})
