"""The holdout judgment of a frozen shortlist, with multiple-testing control.

Runs only **after** the search has frozen its shortlist, on the full panel (the search never sees it).

* **Holdout IC**: each shortlisted formula (in its training direction) is computed on the full panel;
  its daily rank IC on the holdout signal rows (rows at or after the holdout start whose forward
  return is known inside the panel) gives ``holdout_ic`` (mean) and ``holdout_ic_t`` (Newey–West t,
  lag ``h - 1``; :func:`lasps.research.ic.ic_stats`).
* **Effective number of trials** ``M_eff`` (Li & Ji 2005, "Adjusting multiple testing in multilocus
  analyses using the eigenvalues of a correlation matrix", Heredity 95): from the eigenvalues ``λ`` of
  the correlation matrix of **every trial's** daily training IC series,
  ``M_eff = Σ [1(|λ| >= 1) + (|λ| - floor(|λ|))]``. Correlated trials (a GP population is full of
  near-relatives) count as fewer independent tests. The matrix has rank at most the number of training
  days, so ``M_eff`` is at most that many; it is at least 1 and at most the number of trials.
* **IC t threshold**: one-sided Šidák at family-wise level ``alpha`` (default 0.05) over ``M_eff``
  tests: ``t* = Φ⁻¹((1 - alpha)^(1 / M_eff))``. Only K formulas are tested on the holdout, so using
  all the search's trials is conservative: the threshold charges the holdout for the whole search.
* **Deflated Sharpe ratio** of the holdout IC series at non-overlapping rows (every h-th), treated as
  the per-period returns of an IC-weighted bet (Bailey & López de Prado 2014; the same formula as
  :func:`lasps.research.overfit.deflated_sharpe`): ``SR0`` is the expected maximum Sharpe ratio of
  ``M_eff`` skill-less trials, whose per-period Sharpe ratios have standard deviation ``1 / sqrt(n)``
  over ``n`` periods.
* **passed** = ``holdout_ic > 0`` and ``holdout_ic_t >= t*`` and ``dsr >= 0.95``.

Correlations (reported, not used for passing): the mean daily cross-sectional rank correlation
(:func:`lasps.research.correlation.mean_rank_correlation`) of each shortlisted formula with each of
the 101 paper alphas that the panel can compute, and with each other, on rows spread evenly over the
whole panel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from lasps.alpha.catalogue import alpha_name
from lasps.alpha.engine import compile_alphas
from lasps.data.panel import Panel
from lasps.research.correlation import mean_rank_correlation
from lasps.research.ic import ic_stats
from lasps.research.mining.scoring import ScoringContext, score_formulas
from lasps.research.overfit import expected_max_sharpe, sample_skew_kurt, sharpe

__all__ = ["DSR_THRESHOLD", "HoldoutRow", "Judgment", "effective_trials", "judge_shortlist",
           "sidak_threshold"]

DSR_THRESHOLD = 0.95
_N = NormalDist()


def effective_trials(series: Sequence[np.ndarray]) -> float:
    """Li–Ji effective number of independent trials from ``(days,)`` IC series (NaN days are dropped
    pairwise by filling with the series' mean; constant or empty series count as one trial each)."""
    M = len(series)
    if M <= 1:
        return float(M)
    X = np.stack([np.asarray(s, dtype=np.float64) for s in series], axis=1)  # (days, M)
    fin = np.isfinite(X)
    cnt = fin.sum(axis=0)
    mu = np.where(cnt > 0, np.where(fin, X, 0.0).sum(axis=0) / np.maximum(cnt, 1), 0.0)
    X = np.where(fin, X, mu)
    X = X - X.mean(axis=0)
    sd = np.sqrt((X * X).sum(axis=0))
    ok = sd > 0
    Z = X[:, ok] / sd[ok]
    if Z.shape[1] == 0:
        return float(M)
    # eigenvalues of the (M x M) correlation matrix Z'Z equal those of the (days x days) ZZ' (plus zeros)
    small = Z @ Z.T if Z.shape[0] < Z.shape[1] else Z.T @ Z
    lam = np.abs(np.linalg.eigvalsh(small))
    m_eff = float(np.sum((lam >= 1.0) + (lam - np.floor(lam))))
    return float(min(max(m_eff + (M - int(ok.sum())), 1.0), M))


def sidak_threshold(m_eff: float, alpha: float = 0.05) -> float:
    """One-sided t threshold at family-wise level ``alpha`` over ``m_eff`` independent tests."""
    return _N.inv_cdf((1.0 - alpha) ** (1.0 / max(m_eff, 1.0)))


def holdout_dsr(ic: np.ndarray, horizon: int, m_eff: float) -> float:
    """Deflated Sharpe ratio of the non-overlapping holdout IC series (see the module docstring)."""
    x = np.asarray(ic, dtype=np.float64)
    x = x[::max(horizon, 1)]
    x = x[np.isfinite(x)]
    n = len(x)
    sr = sharpe(x)
    if n < 4 or not math.isfinite(sr):
        return math.nan
    g3, g4 = sample_skew_kurt(x)
    sr0 = expected_max_sharpe(max(round(m_eff), 1), 1.0 / math.sqrt(n))
    var = 1 - g3 * sr + (g4 - 1) / 4 * sr**2 if math.isfinite(g3) else 1.0 + sr**2 / 2
    return float(_N.cdf((sr - sr0) * math.sqrt(n - 1) / math.sqrt(var))) if var > 0 else math.nan


@dataclass(frozen=True)
class HoldoutRow:
    formula: str
    holdout_ic: float
    holdout_ic_t: float
    holdout_days: int
    dsr: float
    passed: bool
    max_corr_paper: float
    nearest_paper: str


@dataclass(frozen=True)
class Judgment:
    rows: tuple[HoldoutRow, ...]
    m_eff: float
    t_threshold: float
    alpha: float
    holdout_rows: int
    corr: np.ndarray  # (K, K) shortlist correlation
    paper_used: int


def oriented(formula: str, direction: int) -> str:
    """The formula in its training direction (``-1 * (f)`` for a negative one)."""
    return formula if direction > 0 else f"-1 * ({formula})"


def judge_shortlist(panel: Panel, holdout_start: int, formulas: Sequence[str], ic_series: Sequence[np.ndarray],
                    horizon: int = 5, entry: str = "open", alpha: float = 0.05, min_names: int = 10,
                    corr_rows: int = 40, paper: bool = True) -> Judgment:
    """Judge the oriented shortlist ``formulas`` on the holdout rows ``>= holdout_start`` of ``panel``
    (the full panel); ``ic_series`` are the training IC series of every trial (for ``M_eff``)."""
    T = panel.shape[0]
    ctx0 = ScoringContext.build(panel, horizon, entry, (), min_names)
    lo = min(T - 1, 250)
    rows_c = np.unique(np.linspace(lo, T - 1, corr_rows).round().astype(int))
    ctx = ScoringContext.build(panel, horizon, entry, rows_c, min_names)
    hold = (np.arange(T) >= holdout_start) & (ctx0.known_row < T)
    m_eff = effective_trials(ic_series)
    t_star = sidak_threshold(m_eff, alpha)
    lag = max(horizon - 1, 0)
    ics: dict[int, np.ndarray] = {}
    fps: dict[int, np.ndarray] = {}
    for idx, ic, fp in score_formulas(panel, ctx, list(formulas), hold):
        ics[idx], fps[idx] = ic, fp
    paper_fps: list[np.ndarray] = []
    paper_names: list[str] = []
    if paper and formulas:
        program = compile_alphas([alpha_name(i) for i in range(1, 102)], panel)
        for name, values in program.run(panel):
            _, fp = ctx.reduce(values, np.zeros(T, dtype=bool))
            paper_names.append(name)
            paper_fps.append(fp)
    K = len(formulas)
    zs = [fps[i] for i in range(K)] + paper_fps
    matrix, _ = mean_rank_correlation(zs) if zs else (np.zeros((0, 0)), 0)
    rows = []
    for i, f in enumerate(formulas):
        st = ic_stats(ics[i][hold], lag)
        dsr = holdout_dsr(ics[i][hold], horizon, m_eff)
        passed = bool(st.ic_mean > 0 and st.ic_t_nw >= t_star and dsr >= DSR_THRESHOLD)
        pc = matrix[i, K:] if paper_names else np.zeros(0)
        if len(pc) and np.isfinite(pc).any():
            j = int(np.nanargmax(np.abs(pc)))
            mc, near = float(pc[j]), paper_names[j]
        else:
            mc, near = math.nan, ""
        rows.append(HoldoutRow(f, st.ic_mean, st.ic_t_nw, st.n_days, dsr, passed, mc, near))
    return Judgment(tuple(rows), m_eff, t_star, alpha, int(hold.sum()), matrix[:K, :K].copy(), len(paper_names))
