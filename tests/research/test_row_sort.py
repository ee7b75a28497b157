"""The evaluation's row sort against an independent reference: exact float64 order (equal values in
column order, ``-0.0`` before ``0.0``) on narrow (< 1,500) and wide rows, near-equal values that share a
radix key, ties, NaN/inf and masks; the serial entry point gives the same arrays; the mining fingerprint
ranks equal pandas' average ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lasps.research import kernels
from lasps.research.mining.scoring import _zranks


def panel(kind: str, T: int, N: int, rng: np.random.Generator) -> np.ndarray:
    base = rng.normal(size=(T, N))
    if kind == "near":  # distinct float64 values with one float32 image: one long key run
        return 1.0 + rng.integers(0, 200, (T, N)) * 1e-12
    if kind == "near2":  # many distinct values per coarse key, few per float32 key
        return 1000.0 + rng.integers(0, 5000, (T, N)) * 0.003
    if kind == "zeros":
        z = np.where(rng.random((T, N)) < 0.5, 0.0, -0.0)
        z[rng.random((T, N)) < 0.2] = 1e-300
        z[rng.random((T, N)) < 0.1] = -1e-300
        return z
    if kind == "ties":
        return np.round(base * 2)
    if kind == "nan":
        base[rng.random((T, N)) < 0.2] = np.nan
        base[rng.random((T, N)) < 0.05] = np.inf
        base[0] = np.nan
        return base
    return base


def reference(x: np.ndarray, mask: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Per row the sorted columns (value, then -0.0 before 0.0, then column) and float64 average ranks."""
    orders = []
    ranks = np.full(x.shape, np.nan)
    for t in range(x.shape[0]):
        cols = np.flatnonzero(mask[t] & np.isfinite(x[t]))
        v = x[t, cols]
        orders.append(cols[np.lexsort((cols, ~np.signbit(v), v))])
        ranks[t, cols] = pd.Series(v).rank(method="average").to_numpy()
    return orders, ranks


@pytest.mark.parametrize("N", [37, 1000, 1600])
@pytest.mark.parametrize("kind", ["normal", "near", "near2", "zeros", "ties", "nan"])
def test_sort_rows_is_the_exact_stable_order(kind: str, N: int) -> None:
    rng = np.random.default_rng(N)
    T = 6
    x = panel(kind, T, N, rng)
    mask = rng.random((T, N)) < 0.9
    mask[1] = False
    order, count, ranks = kernels.sort_rows(x, mask)
    ref_order, ref_ranks = reference(x, mask)
    for t in range(T):
        assert count[t] == len(ref_order[t])
        np.testing.assert_array_equal(order[t, : count[t]], ref_order[t])
        assert (order[t, count[t]:] == -1).all()
    np.testing.assert_array_equal(ranks.astype(np.float64), ref_ranks)
    for a, b in zip(kernels.sort_rows_serial(x, mask), (order, count, ranks), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["normal", "ties", "nan", "zeros"])
def test_fingerprint_ranks_equal_pandas_average_ranks(kind: str) -> None:
    rng = np.random.default_rng(3)
    T, N = 12, 300
    x = panel(kind, T, N, rng)
    x[4] = 2.0  # constant row: all NaN
    x[5, :] = np.nan
    mask = rng.random((T, N)) < 0.8
    rows = np.array([0, 2, 4, 5, 7, 11])
    r = pd.DataFrame(np.where(mask[rows], x[rows], np.nan)).rank(axis=1, method="average").to_numpy(np.float64)
    n = np.isfinite(r).sum(axis=1, keepdims=True).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(n > 0, np.nansum(r, axis=1, keepdims=True) / n, np.nan)
        sd = np.sqrt(np.nansum((r - mu) ** 2, axis=1, keepdims=True) / n)
        want = ((r - mu) / np.where(sd > 0, sd, np.nan)).astype(np.float32)
    got = _zranks(x, mask, rows)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[2]).all() and np.isnan(got[3]).all()
