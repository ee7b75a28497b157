"""IC kernel, effective number of trials, Šidák threshold and the holdout DSR against hand values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lasps.research import kernels
from lasps.research.ic import rank_ic
from lasps.research.mining.holdout import effective_trials, holdout_dsr, sidak_threshold
from lasps.research.mining.scoring import fingerprint_corr, rank_ic_rows, unit_fingerprint


def test_rank_ic_rows_equals_scipy_spearman_and_research_rank_ic() -> None:
    rng = np.random.default_rng(1)
    T, N = 40, 30
    a = np.round(rng.standard_normal((T, N)), 1)  # ties
    a[rng.random((T, N)) < 0.1] = np.nan
    f = rng.standard_normal((T, N))
    f[rng.random((T, N)) < 0.1] = np.nan
    m = rng.random((T, N)) < 0.9
    fo, fc, fr = kernels.sort_rows(f, m)
    rows = np.arange(T) % 3 != 0
    got = rank_ic_rows(a, f, m, rows, fo, fc, fr, 5)
    ref = rank_ic(a, f, m, 5)
    assert np.isnan(got[~rows]).all()
    np.testing.assert_allclose(got[rows], ref[rows], rtol=0, atol=1e-12)
    for t in np.flatnonzero(rows)[:5]:
        ok = m[t] & np.isfinite(a[t]) & np.isfinite(f[t])
        assert got[t] == pytest.approx(stats.spearmanr(a[t][ok], f[t][ok]).statistic, abs=1e-12)


def test_effective_trials() -> None:
    rng = np.random.default_rng(2)
    base = rng.standard_normal(500)
    assert effective_trials([base] * 20) == pytest.approx(1.0)  # 20 copies are one test
    indep = [rng.standard_normal(500) for _ in range(20)]
    assert 17 <= effective_trials(indep) <= 20  # nearly independent: ~20 (sampling noise in the eigenvalues)
    other = rng.standard_normal(500)
    two = [base + 0.01 * rng.standard_normal(500) for _ in range(10)] + \
          [other + 0.01 * rng.standard_normal(500) for _ in range(10)]
    assert 2.0 <= effective_trials(two) <= 3.1  # two tight clusters: ~2 (+ the noise eigenvalues' fractions)
    assert effective_trials([base]) == 1.0


def test_sidak_threshold_hand_values() -> None:
    assert sidak_threshold(1, 0.05) == pytest.approx(1.6448536, abs=1e-6)
    # (1 - 0.05)^(1/10) = 0.994884; Φ⁻¹ of it
    assert sidak_threshold(10, 0.05) == pytest.approx(stats.norm.ppf(0.95 ** 0.1), abs=1e-9)
    assert sidak_threshold(10, 0.05) == pytest.approx(2.5681, abs=1e-3)
    assert sidak_threshold(1000, 0.05) > sidak_threshold(100, 0.05) > sidak_threshold(10, 0.05)


def test_holdout_dsr_rises_with_skill_and_falls_with_trials() -> None:
    rng = np.random.default_rng(3)
    skill = 0.05 + 0.05 * rng.standard_normal(600)  # SR 1 per period
    noise = 0.05 * rng.standard_normal(600)
    assert holdout_dsr(skill, 5, 10) > 0.99
    assert holdout_dsr(noise, 5, 10) < 0.5
    assert holdout_dsr(skill * 0.1 + noise, 5, 1000) < holdout_dsr(skill * 0.1 + noise, 5, 2)
    assert math.isnan(holdout_dsr(np.full(10, np.nan), 5, 3))


def test_fingerprint_corr_is_cosine_of_z_ranks() -> None:
    x = np.array([[-1.0, 0.0, 1.0], [1.0, -1.0, 0.0]], dtype=np.float32)
    u = unit_fingerprint(x)
    assert np.dot(u, u) == pytest.approx(1.0)
    np.testing.assert_allclose(u, np.array([-1, 0, 1, 1, -1, 0]) / 2.0, atol=1e-7)  # |x| = sqrt(4)
    c = fingerprint_corr([u, unit_fingerprint(-x), unit_fingerprint(np.full_like(x, np.nan))], [u])
    np.testing.assert_allclose(c[:, 0], [1.0, -1.0, 0.0], atol=1e-7)
