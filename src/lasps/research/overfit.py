"""Overfitting statistics: deflated Sharpe ratio and probability of backtest overfitting (CSCV).

Both work on **non-overlapping period returns**: for each variant, the h-day return of its long-short
(or long-only) portfolio at signal rows ``0, h, 2h, …`` (one row per holding period; periods whose
return is unknown are flat, 0). Sharpe ratios are per period (mean / std, ddof 1), not annualised.

Deflated Sharpe ratio (Bailey & López de Prado 2014, "The Deflated Sharpe Ratio: Correcting for
Selection Bias, Backtest Overfitting and Non-Normality", JPM 40(5)). For the variant with the highest
Sharpe ratio ``SR`` among ``N`` trials whose Sharpe ratios have variance ``V``::

    SR0 = sqrt(V) * ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e)))        (expected maximum under no skill)
    DSR = Φ( (SR - SR0) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR²) )

with γ the Euler–Mascheroni constant, T the number of periods, g3 the skewness and g4 the (non-excess)
kurtosis of the chosen variant's returns (bias-adjusted sample estimators, as pandas and ``ffn``).
DSR is the probability that the chosen variant's true Sharpe ratio exceeds zero after the search; below
~0.95 the winner is not distinguishable from the luckiest of N skill-less trials. The trials are all
2A variants, because that is what was searched (the work log tried both directions too). They are far
from independent: ``x_rev`` mirrors ``x``, so N overstates the independent trials, and the variance of
the trials becomes the uncentred mean of SR². :func:`overfit_report` therefore counts trials as
:mod:`lasps.research.trials` does: mirror pairs are one trial (direction chosen in sample), the hurdle
uses the effective number of independent trials and the dispersion of the trials' signed Sharpe
ratios, and the PBO is computed on the same trials.

Probability of backtest overfitting (Bailey, Borwein, López de Prado & Zhu 2017, "The Probability of
Backtest Overfitting", J. Computational Finance 20(4)), by combinatorially symmetric cross-validation:
the ``P x N`` matrix of period returns (truncated at the end to a multiple of ``S`` rows, default
``S = 16`` blocks) is cut into S contiguous blocks; for each of the ``C(S, S/2)`` ways to take half the
blocks in sample, the in-sample best variant (highest Sharpe; ties → first) is ranked out of sample
(average ranks), ``ω = rank / (N + 1)``, logit ``λ = ln(ω / (1 - ω))``; ``PBO = share of λ <= 0``,
the probability that the in-sample winner is at or below the median out of sample. Variants with
fewer than half their periods known or with constant returns are left out (and counted).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from lasps.errors import ConfigError
from lasps.research.correlation import alpha_correlation
from lasps.research.evaluate import Evaluation
from lasps.research.trials import TrialCount, chosen_columns, effective_trials, expected_max_abs_sharpe, verdict

EULER_GAMMA = 0.5772156649015329
_N = NormalDist()


@dataclass(frozen=True)
class DeflatedSharpe:
    """Deflated Sharpe ratio of one chosen series (all Sharpe ratios per period)."""

    sharpe: float
    sr0: float
    dsr: float
    n_periods: int
    skew: float
    kurtosis: float
    n_trials: int
    trials_sr_std: float


@dataclass(frozen=True)
class PBO:
    """Probability of backtest overfitting by CSCV."""

    pbo: float
    logits: np.ndarray
    n_blocks: int
    n_combinations: int
    n_trials: int
    rows_used: int
    mean_oos_rank: float


@dataclass(frozen=True)
class OverfitReport:
    """The overfitting statistics of an evaluation (see :func:`overfit_report`)."""

    kind: str
    horizon: int
    chosen: str
    chosen_sharpe_ann: float
    dsr: DeflatedSharpe
    pbo: PBO | None
    n_tried: int
    n_used: int
    notes: tuple[str, ...]
    trials: TrialCount | None = None
    verdict: str = ""


def sharpe(r: np.ndarray) -> float:
    """Per-period Sharpe ratio ``mean / std`` (ddof 1) of the finite entries; NaN if undefined."""
    r = np.asarray(r, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) < 2 or not r.max() > r.min():
        return math.nan
    sd = r.std(ddof=1)
    return float(r.mean() / sd) if sd > 0 else math.nan


def sample_skew_kurt(r: np.ndarray) -> tuple[float, float]:
    """Bias-adjusted sample skewness and **non-excess** kurtosis (pandas ``skew()``, ``kurt() + 3``)."""
    x = np.asarray(r, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 4:
        return math.nan, math.nan
    d = x - x.mean()
    m2 = (d**2).mean()
    if m2 <= 0:
        return math.nan, math.nan
    m3 = (d**3).mean()
    m4 = (d**4).mean()
    g1 = m3 / m2**1.5
    skew = math.sqrt(n * (n - 1)) / (n - 2) * g1
    g2 = m4 / m2**2 - 3.0
    excess = ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))
    return float(skew), float(excess + 3.0)


def expected_max_sharpe(n_trials: int, sr_std: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` skill-less trials with dispersion ``sr_std``."""
    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    if n_trials == 1 or not sr_std > 0:
        return 0.0
    return sr_std * ((1 - EULER_GAMMA) * _N.inv_cdf(1 - 1 / n_trials)
                     + EULER_GAMMA * _N.inv_cdf(1 - 1 / (n_trials * math.e)))


def deflated_sharpe(returns: np.ndarray, trial_sharpes: np.ndarray) -> DeflatedSharpe:
    """Deflated Sharpe ratio of ``returns`` (the chosen series) among ``trial_sharpes`` (all trials).

    ``trial_sharpes`` are per-period Sharpe ratios of **every** trial, the chosen one included; NaN
    entries are ignored.
    """
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    trials = np.asarray(trial_sharpes, dtype=np.float64)
    trials = trials[np.isfinite(trials)]
    n = len(r)
    sr = sharpe(r)
    skew, kurt = sample_skew_kurt(r)
    sd = float(trials.std(ddof=1)) if len(trials) > 1 else math.nan
    if len(trials) == 0 or not np.isfinite(sr) or n < 3:
        return DeflatedSharpe(sr, math.nan, math.nan, n, skew, kurt, len(trials), sd)
    sr0 = expected_max_sharpe(len(trials), sd if np.isfinite(sd) else 0.0)
    var = 1 - skew * sr + (kurt - 1) / 4 * sr**2
    dsr = _N.cdf((sr - sr0) * math.sqrt(n - 1) / math.sqrt(var)) if var > 0 else math.nan
    return DeflatedSharpe(sr, sr0, float(dsr), n, skew, kurt, len(trials), sd)


def pbo_cscv(returns: np.ndarray, n_blocks: int = 16, groups: np.ndarray | None = None) -> PBO:
    """PBO of the trials in the columns of ``returns`` (``(P, N)``, rows in time order, no NaN).

    Vectorised: per-block sums and sums of squares, every combination's in- and out-of-sample Sharpe
    ratios from those (``C(16, 8) = 12,870`` combinations × N trials).

    ``groups`` ``(G, k)`` (column indices, -1 = none): each row is **one trial** whose direction (its
    column) is chosen in sample in every combination (:mod:`lasps.research.trials`); the winner is the
    trial with the best in-sample choice and is ranked out of sample among the G trials' own choices.
    """
    M = np.asarray(returns, dtype=np.float64)
    if M.ndim != 2:
        raise ValueError("returns must be 2-D (periods x trials)")
    if n_blocks < 2 or n_blocks % 2:
        raise ConfigError(f"the number of CSCV blocks must be even and >= 2, got {n_blocks}", where="--blocks")
    P, N = M.shape
    rows = (P // n_blocks) * n_blocks
    if rows < 2 * n_blocks or N < 2:
        raise ConfigError(f"PBO needs at least {2 * n_blocks} periods and 2 trials, got {P} x {N}",
                          where="--blocks", fix="use fewer blocks or a longer sample")
    if not np.isfinite(M[:rows]).all():
        raise ValueError("returns must be finite (fill unknown periods first)")
    m = rows // n_blocks
    B = M[:rows].reshape(n_blocks, m, N)
    s1 = B.sum(axis=1)
    s2 = (B * B).sum(axis=1)
    combos = np.array(list(itertools.combinations(range(n_blocks), n_blocks // 2)), dtype=np.int64)
    C = len(combos)
    K = np.zeros((C, n_blocks))
    K[np.repeat(np.arange(C), n_blocks // 2), combos.ravel()] = 1.0
    n_half = m * (n_blocks // 2)

    def sr(a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
        mean = a1 / n_half
        var = (a2 - n_half * mean * mean) / (n_half - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(var > 0, mean / np.sqrt(np.maximum(var, 0.0)), np.nan)

    is1, is2 = K @ s1, K @ s2
    ins = sr(is1, is2)
    oos = sr(s1.sum(0) - is1, s2.sum(0) - is2)
    if groups is not None:
        ins, oos = _choose_in_sample(ins, oos, np.asarray(groups, dtype=np.int64))
        N = ins.shape[1]
    ins_f = np.where(np.isfinite(ins), ins, -np.inf)
    winner = np.argmax(ins_f, axis=1)
    w = oos[np.arange(C), winner]
    below = (oos < w[:, None]).sum(axis=1)
    equal = (oos == w[:, None]).sum(axis=1)
    rank = below + (equal + 1) / 2.0
    omega = rank / (N + 1.0)
    logits = np.log(omega / (1.0 - omega))
    logits[~np.isfinite(w)] = np.nan
    valid = np.isfinite(logits)
    pbo = float((logits[valid] <= 0).mean()) if valid.any() else math.nan
    return PBO(pbo, logits, n_blocks, C, N, rows, float(np.mean(omega[valid])) if valid.any() else math.nan)


def _choose_in_sample(ins: np.ndarray, oos: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(C, G)`` in- and out-of-sample Sharpe of each group's in-sample best column, per combination."""
    C = ins.shape[0]
    best_ins = np.full((C, len(groups)), -np.inf)
    best_oos = np.full((C, len(groups)), np.nan)
    for k in range(groups.shape[1]):
        col = groups[:, k]
        ok = col >= 0
        cand = np.where(ok[None, :], ins[:, np.maximum(col, 0)], -np.inf)
        cand = np.where(np.isfinite(cand), cand, -np.inf)
        take = cand > best_ins
        best_ins = np.where(take, cand, best_ins)
        best_oos = np.where(take, oos[:, np.maximum(col, 0)], best_oos)
    best_ins[~np.isfinite(best_ins)] = np.nan
    return best_ins, best_oos


def period_returns(ev: Evaluation, kind: str = "ls", rows: np.ndarray | None = None,
                   offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(P, V)`` non-overlapping h-day returns of every variant and the ``(P,)`` signal rows.

    ``kind``: ``"ls"`` (top minus bottom bucket) or ``"lo"`` (top bucket). Periods start at rows
    ``offset, offset + h, …`` among ``rows`` (default: the ``all`` split).
    """
    if kind not in ("ls", "lo"):
        raise ConfigError(f"unknown return kind {kind!r}", where="--returns", fix="use ls or lo")
    h = ev.config.horizon
    rows = ev.splits.masks["all"] if rows is None else rows
    T = len(ev.dates)
    sel = np.flatnonzero(rows & (np.arange(T) % h == offset % h))
    x = ev.long - ev.short if kind == "ls" else ev.long
    return x[:, sel].T.copy(), sel


def overfit_report(ev: Evaluation, kind: str = "ls", n_blocks: int = 16,
                   correlation_threshold: float = 0.7) -> OverfitReport:
    """DSR of the in-sample best trial and PBO of the selection by CSCV, on the **same trials**.

    Trials (:mod:`lasps.research.trials`): a variant and its ``_rev`` mirror are one trial whose direction
    is chosen in sample; the DSR's hurdle counts the effective independent trials (redundancy clusters of
    the alphas' rank correlation, as ``lasps eval corr``) and allows for the direction choice; the PBO
    ranks the in-sample best trial among all trials out of sample. ``verdict`` states both.
    """

    M, _rows = period_returns(ev, kind)
    P, V = M.shape
    notes: list[str] = []
    known = np.isfinite(M)
    keep = known.sum(axis=0) >= max(2, P // 2)
    filled = np.where(known, M, 0.0)
    spread_ok = filled.max(axis=0) > filled.min(axis=0) if P else np.zeros(V, bool)
    keep &= spread_ok
    dropped = V - int(keep.sum())
    if dropped:
        notes.append(f"{dropped} of {V} variants left out (fewer than half their periods known, or constant)")
    srs = np.array([sharpe(filled[:, j]) if keep[j] else math.nan for j in range(V)])
    if not np.isfinite(srs).any():
        raise ConfigError("no variant has a defined Sharpe ratio", fix="evaluate more alphas or a longer sample")
    used = [v for v, k in zip(ev.variants, keep, strict=True) if k]
    used_idx = np.flatnonzero(keep)
    corr = alpha_correlation(ev, threshold=correlation_threshold)
    trials = effective_trials(used, corr.names, corr.labels, correlation_threshold)
    cols = np.where(trials.columns >= 0, used_idx[np.maximum(trials.columns, 0)], -1)
    choice = chosen_columns(srs, cols)
    best_trial = int(np.nanargmax(srs[choice]))
    best = int(choice[best_trial])
    signed = srs[cols[:, 0]]  # each trial in one fixed direction: the dispersion of skill across trials
    dsr = deflated_sharpe(filled[:, best], signed)
    n_eff = max(trials.n_effective, 1)
    sd = float(np.nanstd(signed, ddof=1)) if np.isfinite(signed).sum() > 1 else math.nan
    if trials.has_mirrors and np.isfinite(sd):
        sr0 = expected_max_abs_sharpe(n_eff, sd)
    else:
        sr0 = expected_max_sharpe(n_eff, sd if np.isfinite(sd) else 0.0)
    dsr = _deflate(dsr, sr0, n_eff, sd)
    h = ev.config.horizon
    pbo = None
    try:
        pbo = pbo_cscv(filled, n_blocks, groups=cols)
    except ConfigError as exc:
        notes.append(f"PBO not computed: {exc.what}")
    notes.append(f"{P} non-overlapping {h}-session periods; {trials.line()}")
    text = verdict(dsr.dsr, pbo.pbo if pbo is not None else None, trials)
    return OverfitReport(kind, h, ev.variants[best], srs[best] * math.sqrt(252 / h), dsr, pbo,
                         ev.n_variants, int(keep.sum()), tuple(notes), trials, text)


def deflate(sharpe_: float, sr0: float, n_periods: int, skew: float, kurtosis: float) -> float:
    """``Φ((SR − SR0) sqrt(T − 1) / sqrt(1 − g3 SR + (g4 − 1)/4 SR²))`` — per-period SR, non-excess kurtosis."""
    var = 1 - skew * sharpe_ + (kurtosis - 1) / 4 * sharpe_**2
    if not (np.isfinite(sharpe_) and n_periods >= 3 and np.isfinite(var) and var > 0):
        return math.nan
    return float(_N.cdf((sharpe_ - sr0) * math.sqrt(n_periods - 1) / math.sqrt(var)))


def _deflate(d: DeflatedSharpe, sr0: float, n_trials: int, sd: float) -> DeflatedSharpe:
    """``d`` re-deflated against the hurdle ``sr0`` of ``n_trials`` effective trials (same moments)."""
    dsr = deflate(d.sharpe, sr0, d.n_periods, d.skew, d.kurtosis)
    return DeflatedSharpe(d.sharpe, sr0, dsr, d.n_periods, d.skew, d.kurtosis, n_trials, sd)
