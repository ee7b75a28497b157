"""Metrics of the model evaluation report — plain numpy (no torch), so they are testable by hand.

Conventions: classes are 0 SELL / 1 HOLD / 2 BUY; ``probs`` are ``(n, 3)`` rows summing to 1;
``dates`` is ``(n,)`` ``datetime64``; returns are simple returns (fractions). Every function returns
plain Python floats/lists (JSON-ready); undefined values are ``nan`` (``null`` in JSON).

Collapse (the work log, 2026-02-14 08:00): a regression model scored "51.7 % accuracy" by predicting
HOLD for 100 % of the test set (51.7 % of which was HOLD), and its encoder mapped every input to
nearly the same vector (mean pairwise cosine similarity 0.97). :func:`collapse_check` flags both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lasps.ml.labels import CLASS_NAMES

LN3 = math.log(3.0)
#: a run predicting one class for more than this share of samples is collapsed
MAX_CLASS_SHARE = 0.95
#: a run whose embeddings have a mean pairwise cosine similarity above this is collapsed
MAX_MEAN_COSINE = 0.95
#: regression predictions whose std is below this fraction of the target's std get a warning
MIN_SPREAD_RATIO = 0.1


def _f(x: float) -> float:
    return float(x) if x is not None and np.isfinite(x) else float("nan")


# ------------------------------------------------------------------------------------------------
# classification
# ------------------------------------------------------------------------------------------------
def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int = 3) -> np.ndarray:
    """``(k, k)`` int64 counts; rows = true class, columns = predicted class."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class F1 ``(k,)`` from a confusion matrix (0 where a class is neither true nor predicted)."""
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(axis=0) + cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return f1


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, k: int = 3) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro-F1, per-class F1, confusion matrix, true and predicted shares."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    n = len(y_true)
    cm = confusion_matrix(y_true, y_pred, k)
    f1 = f1_from_confusion(cm)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    names = CLASS_NAMES if k == 3 else tuple(str(i) for i in range(k))
    pred_share = cm.sum(axis=0) / max(n, 1)
    return {
        "n": n,
        "accuracy": _f(np.trace(cm) / n) if n else float("nan"),
        "balanced_accuracy": _f(np.nanmean(recall)) if n else float("nan"),
        "macro_f1": _f(f1.mean()) if n else float("nan"),
        "per_class_f1": {names[i]: _f(f1[i]) for i in range(k)},
        "confusion": cm.tolist(),
        "true_share": {names[i]: _f(support[i] / max(n, 1)) for i in range(k)},
        "predicted_share": {names[i]: _f(pred_share[i]) for i in range(k)},
    }


def cross_entropy(probs: np.ndarray, y: np.ndarray, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of classes ``y`` under ``probs (n, k)``."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if len(y) == 0:
        return float("nan")
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], eps, 1.0))))


def entropy(p: Sequence[float] | np.ndarray) -> float:
    """Shannon entropy (nats) of a distribution."""
    q = np.asarray(p, dtype=np.float64)
    q = q[q > 0]
    return float(-(q * np.log(q)).sum())


def class_prior(labels: np.ndarray, k: int = 3) -> np.ndarray:
    """``(k,)`` class frequencies of ``labels``."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=k)[:k].astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def balanced_class_weights(labels: np.ndarray, k: int = 3) -> np.ndarray:
    """``n / (k · n_c)`` per class (1 for an absent class): the prior-weighted mean weight is 1."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=k)[:k].astype(np.float64)
    n = counts.sum()
    return np.where(counts > 0, n / (k * np.maximum(counts, 1.0)), 1.0)


def loss_reference(probs: np.ndarray | None, y: np.ndarray, train_labels: np.ndarray) -> dict[str, Any]:
    """The model's cross-entropy beside ln 3 (uniform guess) and the class prior's loss.

    ``prior_entropy`` is the entropy of the train label distribution; ``prior_cross_entropy`` the loss
    of always predicting that distribution on this split — the bar a model must clear to have learned
    anything beyond the label frequencies (the work log's models sat above ln 3 = 1.0986).
    """
    prior = class_prior(train_labels)
    prior_ce = cross_entropy(np.broadcast_to(prior, (len(y), 3)), y)
    out: dict[str, Any] = {
        "ln3": LN3,
        "prior_entropy": entropy(prior),
        "prior_cross_entropy": prior_ce,
        "split_label_entropy": entropy(class_prior(y)),
    }
    if probs is not None:
        ce = cross_entropy(probs, y)
        out.update(cross_entropy=ce, beats_ln3=bool(ce < LN3), beats_prior=bool(ce < prior_ce))
    return out


# ------------------------------------------------------------------------------------------------
# regression
# ------------------------------------------------------------------------------------------------
def regression_metrics(pred: np.ndarray, target: np.ndarray) -> dict[str, Any]:
    """MSE, MAE, prediction vs target spread (std and their ratio), correlation, direction accuracy."""
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if len(p) == 0:
        return {"n": 0}
    err = p - t
    ps, ts = float(p.std()), float(t.std())
    corr = float(np.corrcoef(p, t)[0, 1]) if ps > 0 and ts > 0 else float("nan")
    nz = t != 0
    return {
        "n": len(p),
        "mse": float(np.mean(err**2)),
        "mae": float(np.mean(np.abs(err))),
        "pred_mean": float(p.mean()),
        "pred_std": ps,
        "target_mean": float(t.mean()),
        "target_std": ts,
        "spread_ratio": ps / ts if ts > 0 else float("nan"),
        "pred_within_1pct": float(np.mean(np.abs(p) < 0.01)),
        "corr": corr,
        "direction_accuracy": float(np.mean(np.sign(p[nz]) == np.sign(t[nz]))) if nz.any() else float("nan"),
    }


def classes_from_returns(r: np.ndarray, buy: float = 0.03, sell: float = -0.03) -> np.ndarray:
    """0 SELL below ``sell``, 2 BUY above ``buy``, else 1 HOLD (as :func:`lasps.ml.labels.classify`)."""
    r = np.asarray(r, dtype=np.float64)
    out = np.ones(r.shape, dtype=np.int64)
    out[r < sell] = 0
    out[r > buy] = 2
    return out


# ------------------------------------------------------------------------------------------------
# embeddings
# ------------------------------------------------------------------------------------------------
def mean_pairwise_cosine(emb: np.ndarray, eps: float = 1e-12) -> float:
    """Mean cosine similarity over all pairs ``i != j`` of rows of ``emb (n, d)``, in O(n·d).

    Uses ``sum_{i != j} u_i·u_j = |sum_i u_i|^2 - sum_i |u_i|^2`` with unit rows ``u``. Zero rows are left
    out; fewer than two non-zero rows count as fully collapsed (1.0).
    """
    e = np.asarray(emb, dtype=np.float64)
    norms = np.linalg.norm(e, axis=1)
    keep = norms > eps
    u = e[keep] / norms[keep, None]
    m = len(u)
    if m < 2:
        return 1.0
    s = u.sum(axis=0)
    return float((s @ s - m) / (m * (m - 1)))


def effective_rank(emb: np.ndarray) -> float:
    """Roy & Vetterli effective rank ``exp(H(σ / Σσ))`` of the centred embeddings (1 .. d; 0 if constant)."""
    e = np.asarray(emb, dtype=np.float64)
    if len(e) < 2:
        return 0.0
    s = np.linalg.svd(e - e.mean(axis=0), compute_uv=False)
    total = s.sum()
    if total <= 1e-12 * max(1.0, float(np.abs(e).max())):
        return 0.0
    p = s / total
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def dims_for_variance(emb: np.ndarray, share: float = 0.99) -> int:
    """Principal components needed to explain ``share`` of the embeddings' variance (0 if constant)."""
    e = np.asarray(emb, dtype=np.float64)
    if len(e) < 2:
        return 0
    s = np.linalg.svd(e - e.mean(axis=0), compute_uv=False) ** 2
    if s.sum() <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(s) / s.sum(), share) + 1)


def embedding_diagnostics(emb: np.ndarray, max_rows: int = 4096, seed: int = 0) -> dict[str, Any]:
    """Mean pairwise cosine (all rows), effective rank and 99 %-variance dims (a seeded subsample)."""
    e = np.asarray(emb, dtype=np.float64)
    sub = e
    if len(e) > max_rows:
        sub = e[np.sort(np.random.default_rng(seed).choice(len(e), max_rows, replace=False))]
    var = sub.var(axis=0) if len(sub) else np.zeros(e.shape[1] if e.ndim == 2 else 0)
    return {
        "n": len(e),
        "dim": int(e.shape[1]) if e.ndim == 2 else 0,
        "mean_cosine_similarity": mean_pairwise_cosine(e),
        "effective_rank": effective_rank(sub),
        "dims_99pct_variance": dims_for_variance(sub),
        "mean_dim_variance": float(var.mean()) if len(var) else float("nan"),
    }


# ------------------------------------------------------------------------------------------------
# scores: IC and deciles
# ------------------------------------------------------------------------------------------------
def rank_ic(score: np.ndarray, ret: np.ndarray, dates: np.ndarray) -> dict[str, Any]:
    """Spearman rank IC of ``score`` vs the realised return per date, and pooled over all samples.

    ``mean``/``std``/``t`` (= mean / std · sqrt(n_dates)) over dates with >= 3 samples and a
    non-constant score; ``icir`` = mean / std; ``pooled`` = one Spearman correlation over all rows.
    """
    frame = pd.DataFrame({"d": np.asarray(dates), "s": np.asarray(score, dtype=np.float64),
                          "r": np.asarray(ret, dtype=np.float64)})
    frame = frame[np.isfinite(frame["s"]) & np.isfinite(frame["r"])]
    if frame.empty:
        return {"mean": float("nan"), "std": float("nan"), "t": float("nan"), "icir": float("nan"),
                "n_dates": 0, "pooled": float("nan"), "positive_share": float("nan")}
    g = frame.groupby("d", sort=True)
    x = g["s"].rank(method="average")
    y = g["r"].rank(method="average")
    parts = pd.DataFrame({"d": frame["d"], "x": x, "y": y, "xy": x * y, "xx": x * x, "yy": y * y})
    sums = parts.groupby("d", sort=True).agg(n=("x", "size"), x=("x", "sum"), y=("y", "sum"), xy=("xy", "sum"),
                                             xx=("xx", "sum"), yy=("yy", "sum"))
    n = sums["n"].to_numpy(np.float64)
    cov = sums["xy"].to_numpy() - sums["x"].to_numpy() * sums["y"].to_numpy() / n
    vx = sums["xx"].to_numpy() - sums["x"].to_numpy() ** 2 / n
    vy = sums["yy"].to_numpy() - sums["y"].to_numpy() ** 2 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        ic = cov / np.sqrt(vx * vy)
    ic = ic[(n >= 3) & (vx > 1e-12) & (vy > 1e-12)]
    rs = frame["s"].rank().to_numpy()
    rr = frame["r"].rank().to_numpy()
    pooled = float(np.corrcoef(rs, rr)[0, 1]) if rs.std() > 0 and rr.std() > 0 else float("nan")
    k = len(ic)
    mean = float(ic.mean()) if k else float("nan")
    std = float(ic.std(ddof=1)) if k > 1 else float("nan")
    return {
        "mean": mean,
        "std": std,
        "t": mean / std * math.sqrt(k) if k > 1 and std > 0 else float("nan"),
        "icir": mean / std if k > 1 and std > 0 else float("nan"),
        "n_dates": k,
        "pooled": pooled,
        "positive_share": float((ic > 0).mean()) if k else float("nan"),
    }


def decile_returns(score: np.ndarray, ret: np.ndarray, dates: np.ndarray, q: int = 10) -> dict[str, Any]:
    """Mean realised return per score quantile (1 = lowest score), averaged over dates.

    Each date's samples are ranked by score and cut into ``q`` equal-count buckets (ties share the
    average rank); a bucket's date mean enters the average only where the bucket has samples.
    ``top_minus_bottom`` = bucket q − bucket 1. ``monotonicity`` = Spearman correlation of bucket
    number and bucket return.
    """
    frame = pd.DataFrame({"d": np.asarray(dates), "s": np.asarray(score, dtype=np.float64),
                          "r": np.asarray(ret, dtype=np.float64)})
    frame = frame[np.isfinite(frame["s"]) & np.isfinite(frame["r"])]
    if frame.empty:
        return {"q": q, "mean_return": [float("nan")] * q, "count": [0] * q, "top_minus_bottom": float("nan"),
                "monotonicity": float("nan")}
    g = frame.groupby("d", sort=True)
    pct = (g["s"].rank(method="average") - 0.5) / g["s"].transform("size")
    frame["b"] = np.minimum((pct.to_numpy() * q).astype(np.int64), q - 1)
    by = frame.groupby(["d", "b"])["r"].mean().unstack("b")
    means = [float(by[b].mean()) if b in by.columns else float("nan") for b in range(q)]
    counts = np.bincount(frame["b"].to_numpy(), minlength=q).tolist()
    m = np.asarray(means)
    ok = np.isfinite(m)
    mono = (float(pd.Series(np.arange(q)[ok]).corr(pd.Series(m[ok]), method="spearman")) if ok.sum() > 2
            else float("nan"))
    return {"q": q, "mean_return": means, "count": counts, "top_minus_bottom": _f(m[-1] - m[0]),
            "monotonicity": mono}


# ------------------------------------------------------------------------------------------------
# baselines
# ------------------------------------------------------------------------------------------------
def majority_baseline(train_labels: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Always predict the train split's most frequent class."""
    c = int(np.argmax(class_prior(train_labels)))
    m = classification_metrics(y, np.full(len(y), c))
    return {"class": CLASS_NAMES[c], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "balanced_accuracy": m["balanced_accuracy"]}


def prior_baseline(train_labels: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Predict the train class prior: its loss, and the metrics of classes drawn from it (seeded)."""
    prior = class_prior(train_labels)
    draw = np.random.default_rng(seed).choice(3, size=len(y), p=prior) if len(y) else np.zeros(0, np.int64)
    m = classification_metrics(y, draw)
    return {"prior": prior.tolist(), "cross_entropy": cross_entropy(np.broadcast_to(prior, (len(y), 3)), y),
            "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "balanced_accuracy": m["balanced_accuracy"],
            "expected_accuracy": float(prior @ class_prior(y))}


def _standardise(x_train: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = np.nanmean(x_train, axis=0)
    sd = np.nanstd(x_train, axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (np.nan_to_num((x_train - mu) / sd), np.nan_to_num((x - mu) / sd))


def logistic_baseline(x_train: np.ndarray, y_train: np.ndarray, x: np.ndarray, y: np.ndarray,
                      seed: int = 0) -> dict[str, Any]:
    """Multinomial logistic regression on last-day features (standardised on train; scikit-learn).

    Returns accuracy, macro-F1, cross-entropy, the predicted class share and the probabilities
    (key ``probs``, not serialised by the report).
    """
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:  # pragma: no cover - sklearn is in the ml extra
        return {"available": False, "note": "scikit-learn is not installed (pip install -e '.[ml]')"}
    if len(np.unique(y_train)) < 2:
        return {"available": False, "note": "train split has fewer than two classes"}
    xt, xe = _standardise(np.asarray(x_train, np.float64), np.asarray(x, np.float64))
    clf = LogisticRegression(max_iter=500, C=1.0, random_state=seed)
    clf.fit(xt, y_train)
    probs = np.zeros((len(xe), 3))
    probs[:, clf.classes_.astype(np.int64)] = clf.predict_proba(xe)
    pred = probs.argmax(axis=1)
    m = classification_metrics(y, pred)
    return {"available": True, "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "balanced_accuracy": m["balanced_accuracy"], "cross_entropy": cross_entropy(probs, y),
            "predicted_share": m["predicted_share"], "probs": probs}


def ridge_baseline(x_train: np.ndarray, r_train: np.ndarray, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Ridge regression predictions (standardised last-day features, intercept unpenalised)."""
    xt, xe = _standardise(np.asarray(x_train, np.float64), np.asarray(x, np.float64))
    rt = np.asarray(r_train, np.float64)
    mu = rt.mean() if len(rt) else 0.0
    a = xt.T @ xt + alpha * np.eye(xt.shape[1])
    w = np.linalg.solve(a, xt.T @ (rt - mu))
    return xe @ w + mu


# ------------------------------------------------------------------------------------------------
# collapse
# ------------------------------------------------------------------------------------------------
def collapse_check(predicted_share: dict[str, float] | None, mean_cosine: float | None,
                   max_share: float = MAX_CLASS_SHARE, max_cosine: float = MAX_MEAN_COSINE) -> tuple[bool, list[str]]:
    """``(collapsed, reasons)``: one class above ``max_share`` of predictions, or embeddings whose mean
    pairwise cosine similarity exceeds ``max_cosine``."""
    reasons: list[str] = []
    if predicted_share:
        name, share = max(predicted_share.items(), key=lambda kv: kv[1])
        if np.isfinite(share) and share > max_share:
            reasons.append(f"{share:.1%} of predictions are {name} (> {max_share:.0%}): the model ignores its "
                           f"input; its accuracy is the share of {name} labels (the work log's 51.7% illusion)")
    if mean_cosine is not None and np.isfinite(mean_cosine) and mean_cosine > max_cosine:
        reasons.append(f"embeddings have mean pairwise cosine similarity {mean_cosine:.3f} (> {max_cosine}): "
                       "the encoder maps different inputs to nearly the same vector (encoder collapse)")
    return bool(reasons), reasons
