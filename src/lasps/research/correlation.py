"""Alpha correlation matrix and redundancy clusters.

The correlation of two alphas is the **mean over dates of their cross-sectional rank correlation**:
on each date, the Pearson correlation of the two alphas' z-scored average ranks (ranked within the
universe, each alpha over the codes where it has a value) over the codes where both have one; then
the mean over dates. Dates: the evaluation's sampled rows (every h-th session), thinned evenly to at
most ``max_dates`` (default 120) — the matrix moves slowly, and this keeps 101 alphas to seconds
(float32 products).
(Ranks are not re-taken on the common codes; with mostly complete alphas the difference is negligible.)

Redundancy clusters: complete-linkage hierarchical clustering on the distance ``1 - |corr|`` cut at
``1 - threshold`` (default 0.7), so every pair inside a cluster has ``|corr| >= threshold``. Direction
does not matter (``x`` and ``x_rev`` are one alpha here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasps.research.evaluate import Evaluation


@dataclass(frozen=True)
class CorrelationResult:
    """``matrix`` ``(A, A)`` mean daily rank correlation of ``names``; ``clusters`` groups of >= 2 alphas
    with pairwise ``|corr| >= threshold``; ``labels`` ``(A,)`` cluster id of each alpha."""

    names: tuple[str, ...]
    matrix: np.ndarray
    n_dates: int
    threshold: float
    labels: np.ndarray
    clusters: tuple[tuple[str, ...], ...]


def mean_rank_correlation(zranks: list[np.ndarray], min_common: int = 3) -> tuple[np.ndarray, int]:
    """Mean over dates of pairwise rank correlations.

    ``zranks``: one ``(R, N)`` array of z-scored ranks per alpha (NaN = no value). Returns the ``(A, A)``
    matrix (NaN where two alphas never share ``min_common`` codes) and the number of dates used.
    """
    A = len(zranks)
    if A == 0:
        return np.zeros((0, 0)), 0
    R = zranks[0].shape[0]
    tot = np.zeros((A, A))
    cnt = np.zeros((A, A))
    used = 0
    for r in range(R):
        Z = np.stack([z[r] for z in zranks], axis=1)  # (N, A) float32
        M = np.isfinite(Z)
        rows = M.any(axis=1)
        if not rows.any():
            continue
        used += 1
        Z, M = Z[rows], M[rows]
        Z0 = np.where(M, Z, np.float32(0.0))
        sxy = (Z0.T @ Z0).astype(np.float64)
        if M.all():  # the common case: every alpha has a value wherever any has one
            d = np.diag(sxy)
            sxx = np.broadcast_to(d[:, None], sxy.shape)
            common = np.full(sxy.shape, float(len(Z)))
        else:
            Mf = M.astype(np.float32)
            sxx = ((Z0 * Z0).T @ Mf).astype(np.float64)  # [i, j] = sum over codes where j has a value of z_i^2
            common = (Mf.T @ Mf).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = sxy / np.sqrt(sxx * sxx.T)
        ok = (common >= min_common) & np.isfinite(c)
        tot += np.where(ok, c, 0.0)
        cnt += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return np.clip(out, -1.0, 1.0), used


def redundancy_clusters(matrix: np.ndarray, threshold: float = 0.7) -> np.ndarray:
    """``(A,)`` cluster labels (0..) by complete linkage on ``1 - |corr|`` cut at ``1 - threshold``."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    A = matrix.shape[0]
    if A == 0:
        return np.zeros(0, dtype=np.int64)
    if A == 1:
        return np.zeros(1, dtype=np.int64)
    d = 1.0 - np.abs(np.where(np.isfinite(matrix), matrix, 0.0))
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    d = np.clip(d, 0.0, 1.0)
    Z = linkage(squareform(d, checks=False), method="complete")
    labels = fcluster(Z, t=1.0 - threshold, criterion="distance")
    # relabel 0.. in order of first appearance
    _, first = np.unique(labels, return_index=True)
    order = {lab: i for i, lab in enumerate(labels[np.sort(first)])}
    return np.array([order[lab] for lab in labels], dtype=np.int64)


def alpha_correlation(ev: Evaluation, max_dates: int = 120, threshold: float = 0.7) -> CorrelationResult:
    """Correlation matrix and redundancy clusters of the evaluated alphas (see the module docstring)."""
    R = len(ev.sample_rows)
    take = np.unique(np.linspace(0, R - 1, min(R, max_dates)).round().astype(int)) if R else np.zeros(0, int)
    zs = [ev.zranks[a][take] for a in ev.alphas]
    matrix, used = mean_rank_correlation(zs)
    np.fill_diagonal(matrix, 1.0)
    labels = redundancy_clusters(matrix, threshold)
    groups: dict[int, list[str]] = {}
    for name, lab in zip(ev.alphas, labels, strict=True):
        groups.setdefault(int(lab), []).append(name)
    clusters = tuple(tuple(g) for g in groups.values() if len(g) > 1)
    return CorrelationResult(tuple(ev.alphas), matrix, used, threshold, labels, clusters)
