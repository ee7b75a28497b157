"""Daily rank IC, Newey–West t-stat and IC summaries against hand computations and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from lasps.research.evaluate import EvalConfig, evaluate_arrays
from lasps.research.forward import ForwardReturns, known_rows
from lasps.research.ic import ic_stats, newey_west_se, newey_west_tstat, rank_ic


def tiny(fwd: np.ndarray, alphas: dict[str, np.ndarray], horizon: int = 1, quantiles: int = 2,
         mask: np.ndarray | None = None):
    T, N = fwd.shape
    f = ForwardReturns(fwd, horizon, "open", known_rows(T, horizon, "open"))
    dates = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-01") + T)
    mask = np.ones((T, N), bool) if mask is None else mask
    return evaluate_arrays(alphas, f, mask, dates, np.array(["a", "b", "c", "d"][:N], dtype=object),
                           EvalConfig(horizon=horizon, quantiles=quantiles, min_names=3))


def test_perfect_signal_on_three_dates_and_four_codes_has_ic_one():
    fwd = np.array([[0.01, 0.03, -0.02, 0.00],
                    [0.05, -0.01, 0.02, 0.04],
                    [-0.03, 0.00, 0.01, 0.02]])
    perfect = np.array([[3.0, 4.0, 1.0, 2.0],       # same order as fwd on each date
                        [40.0, 1.0, 2.0, 30.0],
                        [-5.0, 0.0, 7.0, 9.0]])
    ev = tiny(fwd, {"perfect": perfect})
    assert ev.variants == ("perfect", "perfect_rev")
    np.testing.assert_allclose(ev.ic[0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(ev.ic[1], [-1.0, -1.0, -1.0])
    np.testing.assert_array_equal(ev.n_pairs[0], [4, 4, 4])


def test_hand_computed_ic_with_a_tie_and_a_missing_value():
    fwd = np.array([[0.01, 0.02, 0.03, 0.04]])
    alpha = np.array([[1.0, 1.0, 3.0, np.nan]])
    # pairs: a, b, c with alpha ranks 1.5, 1.5, 3 and fwd ranks 1, 2, 3
    ra, rf = np.array([1.5, 1.5, 3.0]), np.array([1.0, 2.0, 3.0])
    expected = np.corrcoef(ra, rf)[0, 1]
    assert rank_ic(alpha, fwd)[0] == pytest.approx(expected)
    assert expected == pytest.approx(math.sqrt(3) / 2)


def test_rank_ic_matches_scipy_with_ties_nans_and_universe():
    rng = np.random.default_rng(3)
    T, N = 60, 45
    a = rng.normal(size=(T, N))
    f = rng.normal(size=(T, N)) + 0.3 * a
    a[:, :10] = np.round(a[:, :10])          # ties in the alpha
    f[:, 10:20] = np.round(f[:, 10:20], 1)   # ties in the returns
    a[rng.random((T, N)) < 0.1] = np.nan
    f[rng.random((T, N)) < 0.1] = np.nan
    mask = rng.random((T, N)) < 0.9
    ic = rank_ic(a, f, mask)
    for t in range(T):
        ok = mask[t] & np.isfinite(a[t]) & np.isfinite(f[t])
        assert ic[t] == pytest.approx(spearmanr(a[t, ok], f[t, ok]).statistic, abs=1e-12)


def test_ic_is_nan_for_constant_or_too_few_names():
    f = np.array([[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]])
    a = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, np.nan, np.nan]])
    ic = rank_ic(a, f, min_names=3)
    assert np.isnan(ic).all()


def test_newey_west_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0, 6.0])
    # mean 3.2; e = (-2.2, -1.2, -0.2, 0.8, 2.8); g0 = 14.8 / 5 = 2.96; g1 = 4.96 / 5 = 0.992
    # S = g0 + 2 * (1 - 1/2) * g1 = 3.952; se = sqrt(3.952 / 5)
    assert newey_west_se(x, lag=1) == pytest.approx(math.sqrt(3.952 / 5))
    assert newey_west_tstat(x, lag=1) == pytest.approx(3.2 / math.sqrt(3.952 / 5))
    # lag 0 is the plain (population-variance) standard error
    assert newey_west_se(x, lag=0) == pytest.approx(math.sqrt(2.96 / 5))


def test_newey_west_matches_statsmodels_hac():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(0)
    e = rng.normal(size=400)
    x = 0.02 + np.convolve(e, np.ones(5) / 5, mode="same")  # MA(4): what overlapping 5-day returns give
    res = sm.OLS(x, np.ones_like(x)).fit(cov_type="HAC", cov_kwds={"maxlags": 4, "use_correction": False})
    assert newey_west_se(x, lag=4) == pytest.approx(float(res.bse[0]), rel=1e-10)


def test_ic_stats_summary():
    ic = np.array([0.1, -0.05, np.nan, 0.2, 0.0, 0.05])
    st = ic_stats(ic, lag=0)
    x = ic[np.isfinite(ic)]
    assert st.n_days == 5
    assert st.ic_mean == pytest.approx(x.mean())
    assert st.ic_std == pytest.approx(x.std(ddof=1))
    assert st.ic_ir == pytest.approx(x.mean() / x.std(ddof=1))
    assert st.hit_rate == pytest.approx(3 / 5)   # IC == 0 is not a hit
    empty = ic_stats(np.array([np.nan]), lag=4)
    assert empty.n_days == 0 and math.isnan(empty.ic_mean)


def test_overlap_shrinks_the_t_stat():
    rng = np.random.default_rng(1)
    x = 0.01 + np.convolve(rng.normal(size=2000), np.ones(5), mode="same") * 0.02
    plain = x.mean() / (x.std(ddof=1) / math.sqrt(len(x)))
    assert abs(newey_west_tstat(x, lag=4)) < abs(plain) * 0.7
