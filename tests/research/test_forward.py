"""Forward returns: the two timings, NaN rules, known rows."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.errors import ConfigError
from lasps.research.forward import forward_returns, known_rows, panel_forward_returns
from tests.research.conftest import random_panel


def test_next_open_entry_by_hand():
    open_ = np.array([[10.0], [11.0], [12.0], [13.0], [14.0], [15.0]])
    f = forward_returns(open_, None, horizon=2, entry="open")
    # fwd[t] = open[t+3] / open[t+1] - 1
    assert f.values[0, 0] == pytest.approx(13 / 11 - 1)
    assert f.values[1, 0] == pytest.approx(14 / 12 - 1)
    assert f.values[2, 0] == pytest.approx(15 / 13 - 1)
    assert np.isnan(f.values[3:, 0]).all()
    assert f.known_row.tolist() == [3, 4, 5, 6, 7, 8]
    assert f.lag == 3


def test_close_entry_is_the_work_log_convention():
    close = np.array([[10.0], [11.0], [12.0], [13.0]])
    f = forward_returns(None, close, horizon=2, entry="close")
    assert f.values[0, 0] == pytest.approx(12 / 10 - 1)
    assert f.values[1, 0] == pytest.approx(13 / 11 - 1)
    assert np.isnan(f.values[2:, 0]).all()
    assert f.known_row.tolist() == [2, 3, 4, 5]
    assert f.lag == 2


def test_untraded_cells_are_nan_never_substituted():
    open_ = np.array([[10.0, 10.0], [np.nan, 10.0], [12.0, 0.0], [13.0, 11.0], [14.0, 12.0]])
    f = forward_returns(open_, None, horizon=1, entry="open")
    assert np.isnan(f.values[0, 0])          # no entry price (halted at t+1)
    assert np.isnan(f.values[0, 1])          # exit price 0 (not traded) -> NaN, not -100 %
    assert np.isnan(f.values[1, 1])          # entry price 0 -> NaN, not +inf
    assert f.values[1, 0] == pytest.approx(13 / 12 - 1)
    assert f.values[2, 1] == pytest.approx(12 / 11 - 1)


def test_bad_timing_is_a_config_error():
    with pytest.raises(ConfigError, match="horizon"):
        known_rows(10, 0, "open")
    with pytest.raises(ConfigError, match="entry"):
        known_rows(10, 5, "vwap")


def test_panel_forward_returns_use_open_or_close():
    panel, _ = random_panel(T=30, N=5)
    fo = panel_forward_returns(panel, 5, "open")
    fc = panel_forward_returns(panel, 5, "close")
    o, c = panel.open, panel.close
    assert fo.values[3, 2] == pytest.approx(o[9, 2] / o[4, 2] - 1)
    assert fc.values[3, 2] == pytest.approx(c[8, 2] / c[3, 2] - 1)
