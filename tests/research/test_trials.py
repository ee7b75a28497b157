"""Trial counting (issue 15): the DSR paper's worked example, mirror pairs as one trial, grouped CSCV
written out by hand, the effective number of trials, one verdict — and the planted signals."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from lasps.research.evaluate import EvalConfig, evaluate
from lasps.research.overfit import deflate, expected_max_sharpe, overfit_report, pbo_cscv
from lasps.research.trials import (
    TrialCount,
    chosen_columns,
    effective_trials,
    expected_max_abs_sharpe,
    mirror_trials,
    verdict,
)
from tests.research.conftest import random_panel


def test_dsr_paper_numerical_example():
    """Bailey & López de Prado (2014), "A numerical example": N = 100 trials, V[SR] = 1/2 (annualised),
    T = 1,250 daily observations, annualised SR = 2.5, skewness −3, kurtosis 10 → SR0 ≈ 0.1132 (daily),
    DSR ≈ 0.9004."""
    daily_v = 0.5 / 250
    sr0 = expected_max_sharpe(100, math.sqrt(daily_v))
    assert sr0 == pytest.approx(0.1132, abs=5e-4)
    dsr = deflate(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0)
    assert dsr == pytest.approx(0.9004, abs=2e-3)


def test_expected_max_abs_sharpe_one_trial_and_monte_carlo():
    assert expected_max_abs_sharpe(1, 1.0) == pytest.approx(math.sqrt(2 / math.pi), abs=1e-6)
    z = np.random.default_rng(3).normal(size=(200_000, 20))
    assert expected_max_abs_sharpe(20, 0.5) == pytest.approx(0.5 * np.abs(z).max(axis=1).mean(), abs=3e-3)
    # choosing the direction raises the hurdle above the paper's E[max Z] for the same N
    assert expected_max_abs_sharpe(20, 1.0) > expected_max_sharpe(20, 1.0)


def test_mirror_pairs_are_one_trial():
    names, cols = mirror_trials(["alpha_001", "alpha_001_rev", "alpha_002", "alpha_003_rev"])
    assert names == ("alpha_001", "alpha_002", "alpha_003")
    assert cols.tolist() == [[0, 1], [2, -1], [3, -1]]
    srs = np.array([0.1, 0.3, -0.2, 0.05])
    assert chosen_columns(srs, cols).tolist() == [1, 2, 3]


def test_effective_trials_from_clusters():
    tc = effective_trials(["a", "a_rev", "b", "b_rev", "c", "d"], ["a", "b", "c"], np.array([0, 0, 1]), 0.7)
    assert tc.n_variants == 6 and tc.n_trials == 4
    assert tc.n_effective == 3  # a and b one cluster, c, and d (not in the correlation) its own
    assert "complete linkage" in tc.method and "0.7" in tc.method


def grouped_pbo_direct(M: np.ndarray, groups: list[list[int]], S: int) -> float:
    """CSCV with the direction chosen in sample, one combination at a time (BBLZ 2017 steps, per group)."""
    rows = (M.shape[0] // S) * S
    blocks = np.array_split(M[:rows], S)
    logits = []
    for c in itertools.combinations(range(S), S // 2):
        J = np.vstack([blocks[i] for i in c])
        Jc = np.vstack([blocks[i] for i in range(S) if i not in c])
        R = J.mean(0) / J.std(0, ddof=1)
        Rc = Jc.mean(0) / Jc.std(0, ddof=1)
        pick = [max(g, key=lambda j: R[j]) for g in groups]
        ins = np.array([R[j] for j in pick])
        oos = np.array([Rc[j] for j in pick])
        n_star = int(np.argmax(ins))
        omega = stats.rankdata(oos)[n_star] / (len(groups) + 1)
        logits.append(math.log(omega / (1 - omega)))
    return float((np.array(logits) <= 0).mean())


def test_grouped_pbo_matches_the_direct_cscv():
    rng = np.random.default_rng(5)
    base = rng.normal(0.0, 0.01, size=(60, 6))
    base[:, 0] += 0.004
    M = np.hstack([base, -base])  # long-short mirrors: exact negatives
    groups = [[j, j + 6] for j in range(6)]
    got = pbo_cscv(M, 6, groups=np.array(groups))
    assert got.n_trials == 6
    assert got.pbo == pytest.approx(grouped_pbo_direct(M, groups, 6), abs=1e-12)


def test_grouped_pbo_of_noise_is_about_half():
    rng = np.random.default_rng(11)
    base = rng.normal(0.0, 0.01, size=(160, 30))
    M = np.hstack([base, -base])
    got = pbo_cscv(M, 8, groups=np.array([[j, j + 30] for j in range(30)]))
    assert 0.25 < got.pbo < 0.75


def test_one_verdict_states_both():
    tc = TrialCount(("a", "b"), np.array([[0, 1], [2, 3]]), 4, np.array([0, 1]), "m")
    assert verdict(0.97, 0.1, tc).startswith("skill")
    assert verdict(0.3, 0.7, tc).startswith("overfit")
    assert verdict(0.3, 0.1, tc).startswith("not significant")
    assert verdict(0.97, 0.7, tc).startswith("conflicting")
    for text in (verdict(0.3, 0.1, tc), verdict(0.97, 0.7, tc)):
        assert "DSR" in text and "PBO" in text and "2 trials (2 effective, 4 variants)" in text


def test_planted_signal_is_skill_and_noise_is_not():
    panel, s = random_panel(T=600, N=60, seed=2, signal=0.6)
    rng = np.random.default_rng(1)
    noise = {f"noise{i}": rng.normal(size=panel.shape) for i in range(10)}
    ev = evaluate(panel, {"planted": s, **noise}, EvalConfig(horizon=5))
    rep = overfit_report(ev, "ls", n_blocks=8)
    assert rep.chosen in ("planted", "planted_rev") and rep.trials.n_trials == 11
    assert rep.verdict.startswith("skill"), rep.verdict
    ev0 = evaluate(panel, noise, EvalConfig(horizon=5))
    rep0 = overfit_report(ev0, "ls", n_blocks=8)
    assert rep0.trials.n_trials == 10 and not rep0.verdict.startswith("skill"), rep0.verdict
