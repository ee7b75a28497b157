"""Deflated Sharpe ratio and PBO: hand-computed cases, the papers' formulas written out slowly, and ffn."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lasps.errors import ConfigError
from lasps.research.evaluate import EvalConfig, evaluate
from lasps.research.overfit import (
    EULER_GAMMA,
    deflated_sharpe,
    expected_max_sharpe,
    overfit_report,
    pbo_cscv,
    sample_skew_kurt,
    sharpe,
)
from tests.research.conftest import random_panel

# ------------------------------------------------------------------ direct implementations (papers)


def dsr_direct(r: np.ndarray, trial_srs: np.ndarray) -> float:
    """Bailey & López de Prado (2014), eq. for SR0 and the DSR, term by term."""
    n = len(r)
    sr = r.mean() / r.std(ddof=1)
    g3 = stats.skew(r, bias=False)
    g4 = stats.kurtosis(r, fisher=False, bias=False)
    N = len(trial_srs)
    v = np.var(trial_srs, ddof=1)
    sr0 = math.sqrt(v) * ((1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / N)
                          + EULER_GAMMA * stats.norm.ppf(1 - 1 / (N * math.e)))
    z = (sr - sr0) * math.sqrt(n - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def pbo_direct(M: np.ndarray, S: int) -> tuple[float, np.ndarray]:
    """Bailey, Borwein, López de Prado & Zhu (2017), CSCV steps 1–5, one combination at a time."""
    T, N = M.shape
    rows = (T // S) * S
    blocks = np.array_split(M[:rows], S)
    logits = []
    for c in itertools.combinations(range(S), S // 2):
        J = np.vstack([blocks[i] for i in c])
        Jc = np.vstack([blocks[i] for i in range(S) if i not in c])
        R = J.mean(0) / J.std(0, ddof=1)
        Rc = Jc.mean(0) / Jc.std(0, ddof=1)
        n_star = int(np.argmax(R))
        omega = stats.rankdata(Rc)[n_star] / (N + 1)
        logits.append(math.log(omega / (1 - omega)))
    lg = np.array(logits)
    return float((lg <= 0).mean()), lg


# --------------------------------------------------------------------------------------------- DSR


def test_expected_max_sharpe_by_hand():
    # N = 100 trials with Sharpe std 0.1 (per period)
    z1, z2 = stats.norm.ppf(1 - 1 / 100), stats.norm.ppf(1 - 1 / (100 * math.e))
    assert expected_max_sharpe(100, 0.1) == pytest.approx(0.1 * ((1 - 0.5772156649015329) * z1
                                                                 + 0.5772156649015329 * z2))
    assert expected_max_sharpe(1, 0.5) == 0.0
    assert expected_max_sharpe(50, 0.0) == 0.0


def test_dsr_hand_computed_tiny_case():
    r = np.array([0.02, -0.01, 0.03, 0.00, 0.01, -0.02, 0.04, 0.01])
    trials = np.array([0.10, 0.30, -0.20, 0.05, 0.25])
    got = deflated_sharpe(r, trials)
    n = 8
    mean, sd = r.mean(), r.std(ddof=1)
    sr = mean / sd
    skew, kurt = stats.skew(r, bias=False), stats.kurtosis(r, fisher=False, bias=False)
    sr0 = np.std(trials, ddof=1) * ((1 - EULER_GAMMA) * stats.norm.ppf(0.8)
                                    + EULER_GAMMA * stats.norm.ppf(1 - 1 / (5 * math.e)))
    want = stats.norm.cdf((sr - sr0) * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    assert got.sharpe == pytest.approx(sr)
    assert got.sr0 == pytest.approx(sr0)
    assert got.skew == pytest.approx(skew) and got.kurtosis == pytest.approx(kurt)
    assert got.dsr == pytest.approx(want)
    assert got.dsr == pytest.approx(dsr_direct(r, trials))


def test_skew_kurt_match_pandas():
    x = np.random.default_rng(0).standard_t(4, size=300)
    s, k = sample_skew_kurt(x)
    assert s == pytest.approx(pd.Series(x).skew())
    assert k == pytest.approx(pd.Series(x).kurt() + 3)


def ffn_core():
    ffn = pytest.importorskip("ffn")
    if not hasattr(ffn.core, "calc_prob_backtest_overfitting"):
        pytest.skip("this ffn has no deflated Sharpe / PBO (added in ffn 1.4)")
    return ffn.core


def test_dsr_and_expected_max_match_ffn():
    core = ffn_core()
    rng = np.random.default_rng(4)
    r = pd.Series(rng.normal(0.002, 0.02, 500) + 0.01 * rng.standard_t(3, 500),
                  index=pd.bdate_range("2020-01-01", periods=500))
    trials = rng.normal(0.0, 0.05, 200)
    trials[0] = sharpe(r.to_numpy())
    want = core.calc_deflated_sharpe_ratio(r, trials, nperiods=252, annualized_trials=False)
    assert deflated_sharpe(r.to_numpy(), trials).dsr == pytest.approx(want, rel=1e-9)
    assert expected_max_sharpe(200, 0.05) == pytest.approx(core.calc_expected_max_sharpe(200, 0.05))


def test_one_trial_is_the_probabilistic_sharpe_ratio():
    r = np.random.default_rng(1).normal(0.01, 0.02, 100)
    d = deflated_sharpe(r, np.array([sharpe(r)]))
    assert d.sr0 == 0.0
    sr, g3, g4 = sharpe(r), stats.skew(r, bias=False), stats.kurtosis(r, fisher=False, bias=False)
    psr = stats.norm.cdf(sr * math.sqrt(99) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))
    assert d.dsr == pytest.approx(psr)
    assert d.dsr > 0.99    # a mean of half a standard deviation per period over 100 periods


# --------------------------------------------------------------------------------------------- PBO


def test_pbo_matches_the_direct_cscv_and_ffn():
    rng = np.random.default_rng(2)
    M = rng.normal(0, 0.02, size=(203, 12))
    M[:, 3] += 0.002
    got = pbo_cscv(M, n_blocks=8)
    want, logits = pbo_direct(M, 8)
    assert got.pbo == pytest.approx(want)
    np.testing.assert_allclose(got.logits, logits, rtol=1e-9)
    assert got.n_combinations == 70 and got.rows_used == 200
    core = ffn_core()
    df = pd.DataFrame(M, index=pd.bdate_range("2020-01-01", periods=len(M)))
    for S in (8, 10):
        assert pbo_cscv(M, S).pbo == pytest.approx(core.calc_prob_backtest_overfitting(df, n_blocks=S))


def test_pbo_of_a_dominant_trial_is_zero_and_of_noise_is_about_half():
    rng = np.random.default_rng(3)
    M = rng.normal(0, 0.02, size=(320, 20))
    M[:, 7] = rng.normal(0.02, 0.005, size=320)   # far better everywhere
    assert pbo_cscv(M, 16).pbo == 0.0
    noise = rng.normal(0, 0.02, size=(320, 40))
    assert 0.2 < pbo_cscv(noise, 16).pbo < 0.8


def test_pbo_needs_enough_periods():
    with pytest.raises(ConfigError, match="periods"):
        pbo_cscv(np.zeros((20, 3)), 16)
    with pytest.raises(ConfigError, match="even"):
        pbo_cscv(np.zeros((200, 3)), 7)


def test_overfit_report_on_an_evaluation():
    panel, s = random_panel(T=500, N=50, seed=9, signal=0.5)
    rng = np.random.default_rng(0)
    alphas = {"planted": s, **{f"noise{i}": rng.normal(size=panel.shape) for i in range(8)},
              "constant": np.ones(panel.shape)}
    ev = evaluate(panel, alphas, EvalConfig(horizon=5))
    rep = overfit_report(ev, "ls", n_blocks=8)
    assert rep.chosen == "planted"
    assert rep.n_tried == 20 and rep.n_used == 18
    assert any("left out" in n for n in rep.notes)
    # mirror pairs are one trial: 9 alphas with a defined Sharpe ratio (the constant one is left out)
    assert rep.trials is not None and rep.trials.n_trials == 9
    assert rep.dsr.n_trials == rep.trials.n_effective <= 9 and 0.0 <= rep.dsr.dsr <= 1.0
    assert rep.pbo is not None and rep.pbo.pbo < 0.2 and rep.pbo.n_trials == 9
    assert "DSR" in rep.verdict and "PBO" in rep.verdict
