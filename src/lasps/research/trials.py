"""Counting the trials behind a chosen variant (DESIGN §4): mirror pairs, effective trials, one verdict.

**Mirror pairs are one trial.** ``alpha_X`` and ``alpha_X_rev`` are one idea tried in the direction the
data preferred; counting them as two independent trials doubles N and, for long-short returns (where the
mirror's return is exactly the negative), replaces the dispersion of the trials' Sharpe ratios by the
uncentred ``mean(SR²)`` and centres the out-of-sample median on zero — the deflated Sharpe ratio falls and
the PBO becomes trivially small, so the two contradict each other. Here a trial is an alpha: its
columns are its variants (one or two), and the **direction is chosen in sample** wherever a choice is
made (the whole sample for the DSR, each CSCV half for the PBO).

**Effective number of independent trials** (:func:`effective_trials`): the redundancy clusters of
``lasps eval corr`` — complete-linkage clustering of the alphas' mean daily rank correlation on
``1 − |corr|`` cut at ``1 − threshold`` (default 0.7), so that alphas whose signals move together (every
pair ``|corr| ≥ 0.7``) count once. ``N_eff`` = the number of clusters (singletons included). The DSR's
hurdle uses ``N_eff``; the PBO uses every trial (CSCV needs no independence).

**Hurdle with a direction choice** (:func:`expected_max_abs_sharpe`): under no skill the trials'
Sharpe ratios are ``N(0, V)``; choosing each trial's better direction makes the winner the maximum of
``|SR|``, whose expectation is ``sqrt(V) · E[max_{i≤N} |Z_i|]`` (computed by integrating
``1 − (2Φ(x) − 1)^N``). ``V`` is the variance of the trials' signed Sharpe ratios in one fixed direction
(the alpha as written). For trials without a mirror the paper's ``E[max Z]`` applies
(:func:`lasps.research.overfit.expected_max_sharpe`).

**Verdict** (:func:`verdict`): one sentence naming both statistics and the trial counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lasps.research.variants import split_variant

DSR_SIGNIFICANT = 0.95
PBO_OVERFIT = 0.5


@dataclass(frozen=True)
class TrialCount:
    """Trials (alphas) behind a set of variants.

    ``columns`` ``(A, 2)``: the variant columns of each trial (the alpha as written first, its mirror
    second; -1 where absent). ``labels`` ``(A,)``: redundancy cluster of each trial.
    """

    names: tuple[str, ...]
    columns: np.ndarray
    n_variants: int
    labels: np.ndarray
    method: str

    @property
    def n_trials(self) -> int:
        return len(self.names)

    @property
    def n_effective(self) -> int:
        return len(np.unique(self.labels)) if len(self.labels) else 0

    @property
    def has_mirrors(self) -> bool:
        return bool((self.columns[:, 1] >= 0).any()) if len(self.columns) else False

    def line(self) -> str:
        return (f"{self.n_variants} variants = {self.n_trials} trials (a variant and its _rev mirror are one trial, "
                f"the direction chosen in sample); {self.n_effective} effective independent trials ({self.method})")


def mirror_trials(variants: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Group variant names into trials: ``(names, columns)`` with ``columns[i] = [plain, mirror]`` (-1 absent)."""
    order: dict[str, list[int]] = {}
    for j, v in enumerate(variants):
        base, sign = split_variant(v)
        rev = sign < 0
        slot = order.setdefault(base, [-1, -1])
        slot[1 if rev else 0] = j
    names = tuple(order)
    cols = np.array([order[n] for n in names], dtype=np.int64).reshape(len(names), 2)
    # a trial with only a mirror: keep that column first
    only_rev = (cols[:, 0] < 0) & (cols[:, 1] >= 0)
    cols[only_rev] = cols[only_rev][:, ::-1]
    return names, cols


def effective_trials(variants: Sequence[str], correlation_names: Sequence[str], labels: np.ndarray,
                     threshold: float) -> TrialCount:
    """:class:`TrialCount` of ``variants`` with cluster ``labels`` of ``correlation_names`` (``eval corr``).

    An alpha missing from the correlation (not evaluated there) is its own cluster.
    """
    names, cols = mirror_trials(variants)
    lookup = {n: int(lab) for n, lab in zip(correlation_names, labels, strict=True)}
    nxt = (max(lookup.values()) + 1) if lookup else 0
    out = []
    for n in names:
        if n not in lookup:
            lookup[n] = nxt
            nxt += 1
        out.append(lookup[n])
    method = (f"redundancy clusters of `lasps eval corr`: complete linkage on 1 - |mean daily rank correlation|, "
              f"every pair in a cluster |corr| >= {threshold:g}")
    return TrialCount(names, cols, len(variants), np.asarray(out, dtype=np.int64), method)


def expected_max_abs_sharpe(n_trials: int, sr_std: float) -> float:
    """``sr_std · E[max_{i≤n} |Z_i|]`` for iid standard normal ``Z`` (the hurdle with a direction choice).

    ``E[max |Z|] = ∫₀^∞ 1 − (2Φ(x) − 1)^n dx``; for ``n = 1`` it is ``sqrt(2/π)``.
    """
    from scipy.special import erf

    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    if not sr_std > 0:
        return 0.0
    x = np.linspace(0.0, 12.0, 24001)
    integrand = 1.0 - erf(x / math.sqrt(2.0)) ** n_trials
    return float(sr_std * np.trapezoid(integrand, x))


def chosen_columns(sharpes: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``(A,)`` the column of each trial with the higher Sharpe ratio (the in-sample direction choice)."""
    a, b = columns[:, 0], columns[:, 1]
    sa = np.where(a >= 0, sharpes[np.maximum(a, 0)], -np.inf)
    sb = np.where(b >= 0, sharpes[np.maximum(b, 0)], -np.inf)
    sa = np.where(np.isfinite(sa), sa, -np.inf)
    sb = np.where(np.isfinite(sb), sb, -np.inf)
    return np.where(sb > sa, b, a)


def verdict(dsr: float, pbo: float | None, trials: TrialCount) -> str:
    """One sentence stating both statistics and what they say together."""
    counts = f"{trials.n_trials} trials ({trials.n_effective} effective, {trials.n_variants} variants)"
    d = f"DSR {dsr:.3f}" if np.isfinite(dsr) else "DSR n/a"
    if pbo is None or not np.isfinite(pbo):
        significant = np.isfinite(dsr) and dsr >= DSR_SIGNIFICANT
        return (f"{'skill' if significant else 'luck'} by the deflated Sharpe ratio alone ({d}; PBO not computed) "
                f"among {counts}")
    p = f"PBO {pbo:.3f}"
    sig = np.isfinite(dsr) and dsr >= DSR_SIGNIFICANT
    over = pbo >= PBO_OVERFIT
    if sig and not over:
        return (f"skill: the winner clears the hurdle of {counts} ({d} >= {DSR_SIGNIFICANT}) and in-sample winners "
                f"mostly stay above the out-of-sample median ({p} < {PBO_OVERFIT})")
    if not sig and over:
        return (f"overfit: the winner is not distinguishable from the luckiest of {counts} ({d} < {DSR_SIGNIFICANT}) "
                f"and in-sample winners usually fall below the out-of-sample median ({p} >= {PBO_OVERFIT})")
    if not sig:
        return (f"not significant: the winner is not distinguishable from the luckiest of {counts} "
                f"({d} < {DSR_SIGNIFICANT}), although the in-sample ranking tends to persist out of sample "
                f"({p} < {PBO_OVERFIT}) — the selection has some merit, the winner's Sharpe ratio is not proven")
    return (f"conflicting, treat as overfit: the winner's Sharpe clears the hurdle of {counts} ({d}) but in-sample "
            f"winners usually fall below the out-of-sample median ({p} >= {PBO_OVERFIT})")
