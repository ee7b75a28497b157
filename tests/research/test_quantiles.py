"""Quantile buckets, legs, holding returns and turnover; constant, binary and mostly-NaN alphas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lasps.research import kernels
from lasps.research.evaluate import EvalConfig, evaluate_arrays
from lasps.research.forward import ForwardReturns, known_rows
from lasps.research.quantiles import annualised, compounded, cumulative_curve, holding_return, quantile_means
from lasps.research.ranking import rank_table


def run(alphas: dict[str, np.ndarray], fwd: np.ndarray, quantiles: int = 10, horizon: int = 1, min_names: int = 3):
    T, N = fwd.shape
    f = ForwardReturns(fwd, horizon, "open", known_rows(T, horizon, "open"))
    dates = np.busday_offset(np.datetime64("2024-01-02"), np.arange(T), roll="forward")
    return evaluate_arrays(alphas, f, np.ones((T, N), bool), dates, np.array([f"c{i}" for i in range(N)]),
                           EvalConfig(horizon=horizon, quantiles=quantiles, min_names=min_names))


def bucket_means(x: np.ndarray, f: np.ndarray, Q: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bucket mean of ``f`` for one row, straight from the kernel (alpha and reverse)."""
    a, fr = x[None, :].astype(float), f[None, :].astype(float)
    m = np.ones(a.shape, bool)
    order, count, ranks = kernels.sort_rows(fr, m)
    res = kernels.evaluate_alpha(a, fr, m, order, count, ranks, Q, 2, np.full(1, -1),
                                 np.empty((0, a.shape[1]), np.float32))
    return res[3][0, 0], res[3][1, 0]


def test_deciles_on_a_tiny_panel_by_hand():
    alpha = np.array([[5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 10.0, 4.0, 8.0, 6.0]] * 2)
    fwd = np.array([[0.05, 0.01, 0.09, 0.03, 0.07, 0.02, 0.10, 0.04, 0.08, 0.06]] * 2)
    ev = run({"a": alpha}, fwd, quantiles=10)
    np.testing.assert_allclose(ev.qmean[0, 0], np.arange(1, 11) / 100)      # one code per decile
    np.testing.assert_allclose(ev.qmean[1, 0], np.arange(10, 0, -1) / 100)  # the reverse, mirrored
    assert ev.long[0, 0] == pytest.approx(0.10) and ev.short[0, 0] == pytest.approx(0.01)
    assert ev.long[1, 0] == pytest.approx(0.01) and ev.short[1, 0] == pytest.approx(0.10)
    ev5 = run({"a": alpha}, fwd, quantiles=5)
    np.testing.assert_allclose(ev5.qmean[0, 0], [0.015, 0.035, 0.055, 0.075, 0.095])


@pytest.mark.parametrize("n", [2, 7, 10, 23, 100, 257])
@pytest.mark.parametrize("Q", [2, 3, 5, 10])
def test_buckets_equal_pandas_qcut_without_ties(n, Q):
    rng = np.random.default_rng(n * Q)
    x = rng.permutation(n).astype(float) * 1.37 - 5
    f = rng.normal(size=n)
    got, rev = bucket_means(x, f, Q)
    want = pd.qcut(x, Q, labels=False) + 1
    expected = pd.Series(f).groupby(want).mean().reindex(range(1, Q + 1)).to_numpy()
    np.testing.assert_allclose(got, expected, equal_nan=True)
    # reverse buckets: the mirror image except names exactly on a boundary, which move up one bucket
    u = Q * (pd.Series(x).rank().to_numpy() - 1) / (n - 1)
    on = np.abs(u - np.round(u)) < 1e-9
    b_rev = np.where(on, np.maximum(1, Q - np.round(u)), Q + 1 - want).astype(int)
    expected_rev = pd.Series(f).groupby(b_rev).mean().reindex(range(1, Q + 1)).to_numpy()
    np.testing.assert_allclose(rev, expected_rev, equal_nan=True)


def test_constant_alpha_does_not_crash_and_has_no_spread():
    rng = np.random.default_rng(0)
    fwd = rng.normal(0, 0.02, (30, 20))
    ev = run({"const": np.full((30, 20), 3.0)}, fwd, horizon=5)
    assert np.isnan(ev.ic).all()
    assert np.isnan(ev.long).all() and np.isnan(ev.short).all()
    table = rank_table(ev).frame
    assert table["n_days"].eq(0).all()
    assert table["ls_return"].isna().all()
    assert table["coverage"].dropna().eq(1.0).all()


def test_binary_alpha_fills_two_buckets_and_trades_them():
    rng = np.random.default_rng(1)
    T, N = 40, 50
    fwd = rng.normal(0, 0.02, (T, N))
    b = (rng.random((T, N)) < 0.3).astype(float)
    ev = run({"bin": b}, fwd, horizon=5)
    for t in range(T - 6):
        ones, zeros = b[t] == 1, b[t] == 0
        assert ev.long[0, t] == pytest.approx(fwd[t, ones].mean())
        assert ev.short[0, t] == pytest.approx(fwd[t, zeros].mean())
        assert ev.long[1, t] == pytest.approx(fwd[t, zeros].mean())
    assert (np.isfinite(ev.qmean[0, 0]).sum()) == 2


def test_mostly_nan_and_all_nan_alphas():
    rng = np.random.default_rng(2)
    T, N = 60, 100
    fwd = rng.normal(0, 0.02, (T, N))
    sparse = rng.normal(size=(T, N))
    sparse[rng.random((T, N)) < 0.97] = np.nan
    ev = run({"sparse": sparse, "empty": np.full((T, N), np.nan)}, fwd, horizon=5)
    table = rank_table(ev).frame.set_index(["variant", "split"])
    assert table.loc[("sparse", "all"), "coverage"] == pytest.approx(np.isfinite(sparse[:T - 6]).mean())
    assert table.loc[("empty", "all"), "n_days"] == 0
    assert math.isnan(table.loc[("empty", "all"), "ic_mean"])
    few = np.isfinite(sparse).sum(axis=1) < 3
    assert np.isnan(ev.ic[0, few]).all()


def test_holding_return_averages_start_offsets():
    x = np.array([0.1, 0.2, -0.1, 0.05])
    rows = np.ones(4, bool)
    ann0 = 0.99 ** (252 / 4) - 1            # offset 0: rows 0 and 2, two 2-day periods
    ann1 = (1.2 * 1.05) ** (252 / 4) - 1    # offset 1: rows 1 and 3
    assert holding_return(x, rows, 2) == pytest.approx((ann0 + ann1) / 2)
    assert compounded(np.array([0.1, np.nan, -0.5])) == pytest.approx(1.1 * 0.5 - 1)
    assert compounded(np.array([0.1, -1.2])) == -1.0
    assert annualised(np.array([0.01] * 50), 5) == pytest.approx(1.01 ** (252 / 5) - 1)
    rws, wealth = cumulative_curve(x, rows, 2)
    assert rws.tolist() == [0, 2] and wealth.tolist() == pytest.approx([1.1, 0.99])


def test_turnover_of_the_long_bucket_by_hand():
    alpha = np.array([[1.0, 2.0, 3.0, 4.0],    # top half {c2, c3}
                      [1.0, 4.0, 2.0, 3.0]])   # top half {c1, c3}
    fwd = np.zeros((2, 4))
    ev = run({"a": alpha}, fwd, quantiles=2, horizon=1)
    assert np.isnan(ev.turnover[0, 0])
    assert ev.turnover[0, 1] == pytest.approx(0.5)
    assert ev.turnover[1, 1] == pytest.approx(0.5)   # reverse: bottom half {c0, c1} -> {c0, c2}


def test_quantile_means_ignore_empty_days():
    q = np.array([[0.1, np.nan], [0.3, 0.2], [np.nan, np.nan]])
    np.testing.assert_allclose(quantile_means(q, np.array([True, True, True])), [0.2, 0.2])
    assert np.isnan(quantile_means(q, np.array([False, False, True]))).all()
