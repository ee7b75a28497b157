"""Alpha correlation matrix (mean daily rank correlation) and redundancy clusters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from lasps.research.correlation import alpha_correlation, mean_rank_correlation, redundancy_clusters
from lasps.research.evaluate import EvalConfig, evaluate
from tests.research.conftest import random_panel


def test_matrix_and_clusters():
    panel, _ = random_panel(T=200, N=50, seed=2)
    rng = np.random.default_rng(0)
    a = rng.normal(size=panel.shape)
    b = a + 0.3 * rng.normal(size=panel.shape)    # rank corr ~0.95 with a
    alphas = {"a": a, "a_cubed": a**3 + 5, "minus_a": -a, "b": b, "x": rng.normal(size=panel.shape),
              "y": rng.normal(size=panel.shape)}
    ev = evaluate(panel, alphas, EvalConfig(horizon=5))
    res = alpha_correlation(ev)
    m = dict(zip(res.names, range(len(res.names)), strict=True))
    C = res.matrix
    assert C[m["a"], m["a_cubed"]] == pytest.approx(1.0)      # monotone transform: identical ranks
    assert C[m["a"], m["minus_a"]] == pytest.approx(-1.0)
    assert C[m["a"], m["b"]] > 0.9
    assert abs(C[m["x"], m["y"]]) < 0.05
    np.testing.assert_allclose(C, C.T)
    assert res.clusters == (("a", "a_cubed", "minus_a", "b"),)
    assert res.labels[m["x"]] != res.labels[m["y"]]


def test_mean_rank_correlation_equals_mean_daily_spearman():
    rng = np.random.default_rng(1)
    R, N = 20, 80
    xs = [rng.normal(size=(R, N)) for _ in range(3)]
    xs[1] = xs[0] + rng.normal(size=(R, N))

    def zr(x):
        r = np.argsort(np.argsort(x, axis=1), axis=1) + 1.0
        return ((r - r.mean(1, keepdims=True)) / r.std(1, keepdims=True)).astype(np.float32)

    C, used = mean_rank_correlation([zr(x) for x in xs])
    assert used == R
    want = np.mean([spearmanr(xs[0][r], xs[1][r]).statistic for r in range(R)])
    assert C[0, 1] == pytest.approx(want, abs=1e-5)


def test_clusters_use_complete_linkage():
    # a~b 0.8, b~c 0.8, a~c 0.5: single linkage would chain all three; complete linkage must not
    C = np.array([[1.0, 0.8, 0.5], [0.8, 1.0, 0.8], [0.5, 0.8, 1.0]])
    labels = redundancy_clusters(C, 0.7)
    assert len(set(labels.tolist())) == 2
    assert redundancy_clusters(C, 0.4).tolist() == [0, 0, 0]
