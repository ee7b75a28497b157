"""Labels: timing, thresholds, multi-step returns."""

from __future__ import annotations

import numpy as np
import pytest

from lasps.errors import ConfigError
from lasps.ml.labels import BUY, HOLD, SELL, LabelSpec, classify, multi_step_returns


def _prices(T: int = 12) -> tuple[np.ndarray, np.ndarray]:
    open_ = (100.0 + np.arange(T, dtype=float))[:, None]  # 100, 101, ...
    close = (200.0 + 2 * np.arange(T, dtype=float))[:, None]
    return open_, close


def test_next_open_entry_by_hand() -> None:
    open_, close = _prices()
    spec = LabelSpec(horizon=3)
    r = multi_step_returns(open_, close, np.array([2]), np.array([0]), spec)
    # entry at open[3] = 103, exits at open[4..6] = 104, 105, 106
    np.testing.assert_allclose(r[0], [104 / 103 - 1, 105 / 103 - 1, 106 / 103 - 1])
    assert spec.lag == 4


def test_close_entry_by_hand() -> None:
    open_, close = _prices()
    spec = LabelSpec(horizon=2, entry="close")
    r = multi_step_returns(open_, close, np.array([0, 5]), np.array([0, 0]), spec)
    np.testing.assert_allclose(r, [[202 / 200 - 1, 204 / 200 - 1], [212 / 210 - 1, 214 / 210 - 1]])
    assert spec.lag == 2


def test_missing_or_beyond_the_end_is_nan() -> None:
    open_, close = _prices(10)
    spec = LabelSpec(horizon=5)
    # row 4: entry open[5], exit open[10] -> beyond the last row (9)
    r = multi_step_returns(open_, close, np.array([3, 4]), np.array([0, 0]), spec)
    assert np.isfinite(r[0]).all() and np.isnan(r[1]).all()
    open_[7, 0] = np.nan  # a halt inside the holding period
    r = multi_step_returns(open_, close, np.array([3]), np.array([0]), spec)
    assert np.isnan(r[0, 2]) and np.isfinite(r[0, [0, 1, 3, 4]]).all()
    open_[4, 0] = 0.0  # no valid entry price
    assert np.isnan(multi_step_returns(open_, close, np.array([3]), np.array([0]), spec)).all()


def test_thresholds_and_boundaries() -> None:
    r = np.array([-0.10, -0.0301, -0.03, 0.0, 0.03, 0.0301, 0.5, np.nan])
    np.testing.assert_array_equal(classify(r), [SELL, SELL, HOLD, HOLD, HOLD, BUY, BUY, -1])
    spec = LabelSpec(buy=0.01, sell=-0.05)
    np.testing.assert_array_equal(classify(np.array([-0.04, 0.02, -0.06]), spec), [HOLD, BUY, SELL])
    assert classify(r).dtype == np.int8


def test_spec_validation() -> None:
    with pytest.raises(ConfigError):
        LabelSpec(horizon=0)
    with pytest.raises(ConfigError):
        LabelSpec(buy=-0.05, sell=0.05)
    with pytest.raises(ConfigError):
        LabelSpec(entry="vwap")
    assert "open[t+1+k]" in LabelSpec().describe()
