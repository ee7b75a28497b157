"""Dataset analyses from the work log (2026-02-13/14), reproducible on any built dataset.

All four read a dataset directory (:class:`~lasps.ml.dataset.MLDataset`) and return pandas frames;
the CLI (``lasps ml analyze …``) prints them as Rich tables and writes CSV files.

* :func:`feature_discrimination` — per feature, the mean of its value on the sample's own date (the
  window's last row) for SELL / HOLD / BUY, the BUY − SELL difference (the log's "분별력"), the
  standardised effect and a Welch t-statistic; plus :func:`redundant_pairs`, feature pairs with
  |Pearson r| above 0.9 over all window rows (the log found 12 such pairs; ma20 = bb_middle, r = 1).
* :func:`single_feature_accuracy` — the best two-threshold rule per feature (x < lo → SELL,
  x > hi → BUY, else HOLD, or the reverse) chosen on **train** by balanced accuracy (mean per-class
  recall; 1/3 for any constant or random guess), then evaluated on val and test beside the baselines.
* :func:`nonstationarity` — Pearson correlation of each feature's last value and each of the 36
  patterns with the forward return, per split, with sign flips flagged (the log: rsi_trend20
  +0.029 in train, −0.038 in test).
* :func:`pattern_ridge` — the 36-pattern experiment: 6 features (close, volume, ma20, rsi14,
  macd_hist, foreign_inst_flow — the log's six selected features; "macd" there is macd_hist) × 6
  patterns (trend_60, trend_20 = OLS slope per session over the last 60 / 20 rows; mom_20, mom_5 =
  x[-1] − x[-21] / x[-6]; last = x[-1]; vol = std over the 60 rows), computed on the normalised
  windows; standardised with train statistics only; numpy ridge for each alpha; K-fold cross-validation
  on train with contiguous date blocks (a purge gap of the label lag between the held-out block and
  the rest); reports the correlation of predictions with returns in train, CV, val and test.

Pooled correlations treat all samples of a split alike (as the log did); samples of one date share
the market move, so they are not independent — read t-statistics as descriptive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lasps.ml.dataset import MLDataset
from lasps.ml.labels import BUY, HOLD, SELL

SPLITS: tuple[str, ...] = ("train", "val", "test")
PATTERN_FEATURES: tuple[str, ...] = ("close", "volume", "ma20", "rsi14", "macd_hist", "foreign_inst_flow")
PATTERNS: tuple[str, ...] = ("trend_60", "trend_20", "mom_20", "mom_5", "last", "vol")
PATTERN_NAMES: tuple[str, ...] = tuple(f"{f}_{p}" for f in PATTERN_FEATURES for p in PATTERNS)
DEFAULT_ALPHAS: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant or fewer than 3 points."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) < 3:
        return float("nan")
    xc = x - x.mean()
    yc = y - y.mean()
    den = np.sqrt((xc * xc).sum() * (yc * yc).sum())
    return float((xc * yc).sum() / den) if den > 0 else float("nan")


def _corr_cols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``X`` (n, k) with ``y`` (n,); NaN for constant columns."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(y) < 3:
        return np.full(X.shape[1], np.nan)
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    den = np.sqrt((Xc * Xc).sum(axis=0) * (yc * yc).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (Xc * yc[:, None]).sum(axis=0) / den
    out[~(den > 0)] = np.nan
    return out


# ------------------------------------------------------------------------------------------------
# 1. discrimination and redundancy
# ------------------------------------------------------------------------------------------------
def feature_discrimination(ds: MLDataset, split: str = "train") -> pd.DataFrame:
    """Per-feature class means on the sample date and the BUY − SELL separation (see module docstring).

    Columns: ``feature, mean_sell, mean_hold, mean_buy, diff_buy_sell, abs_diff, effect, t_stat,
    constant``; sorted by ``abs_diff`` (largest first). ``effect`` = diff / pooled std of the two
    classes; ``t_stat`` = Welch's t of BUY vs SELL.
    """
    rows = ds.rows(split)
    X = ds.last_values()[rows].astype(np.float64)
    y = np.asarray(ds.array("labels"))[rows]
    out = []
    for i, name in enumerate(ds.feature_names):
        x = X[:, i]
        s, h, b = x[y == SELL], x[y == HOLD], x[y == BUY]
        ms, mh, mb = (float(v.mean()) if len(v) else np.nan for v in (s, h, b))
        vs = float(s.var(ddof=1)) if len(s) > 1 else np.nan
        vb = float(b.var(ddof=1)) if len(b) > 1 else np.nan
        diff = mb - ms
        se = np.sqrt(vs / max(len(s), 1) + vb / max(len(b), 1))
        pooled = np.sqrt((vs + vb) / 2.0)
        const = bool(np.nanmax(x) == np.nanmin(x)) if len(x) else True
        out.append({
            "feature": name, "mean_sell": ms, "mean_hold": mh, "mean_buy": mb, "diff_buy_sell": diff,
            "abs_diff": abs(diff), "effect": diff / pooled if pooled > 0 else np.nan,
            "t_stat": diff / se if se > 0 else np.nan, "constant": const,
        })
    frame = pd.DataFrame(out).sort_values("abs_diff", ascending=False, na_position="last")
    return frame.reset_index(drop=True)


def redundant_pairs(ds: MLDataset, split: str = "train", threshold: float = 0.9, max_samples: int = 20000,
                    seed: int = 0) -> pd.DataFrame:
    """Feature pairs with ``|r| > threshold`` over all window rows of up to ``max_samples`` samples.

    Columns: ``feature_a, feature_b, r`` sorted by ``|r|``.
    """
    rows = ds.rows(split)
    if len(rows) > max_samples:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=max_samples, replace=False))
    W = ds.take("windows", rows).astype(np.float64).reshape(-1, len(ds.feature_names))
    sd = W.std(axis=0)
    names = ds.feature_names
    live = np.flatnonzero(sd > 0)
    C = np.corrcoef(W[:, live], rowvar=False) if len(live) > 1 else np.zeros((len(live), len(live)))
    out = []
    for a in range(len(live)):
        for b in range(a + 1, len(live)):
            r = float(C[a, b])
            if abs(r) > threshold:
                out.append({"feature_a": names[live[a]], "feature_b": names[live[b]], "r": r})
    frame = pd.DataFrame(out, columns=["feature_a", "feature_b", "r"])
    if len(frame):
        frame = frame.reindex(frame["r"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    return frame


# ------------------------------------------------------------------------------------------------
# 2. single-feature accuracy
# ------------------------------------------------------------------------------------------------
def _balanced_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    recalls = [float((pred[y == c] == c).mean()) for c in (SELL, HOLD, BUY) if (y == c).any()]
    return float(np.mean(recalls)) if recalls else float("nan")


def _rule(x: np.ndarray, lo: float, hi: float, direction: int) -> np.ndarray:
    pred = np.full(len(x), HOLD, dtype=np.int8)
    if direction > 0:
        pred[x < lo] = SELL
        pred[x > hi] = BUY
    else:
        pred[x < lo] = BUY
        pred[x > hi] = SELL
    return pred


def _best_rule(x: np.ndarray, y: np.ndarray, grid: int) -> tuple[float, float, int, float]:
    """Best (lo, hi, direction, train balanced accuracy) over quantile thresholds of ``x``."""
    qs = np.unique(np.quantile(x, np.linspace(0.05, 0.95, grid)))
    cdf = {}
    for c in (SELL, HOLD, BUY):
        xc = np.sort(x[y == c])
        n_c = max(len(xc), 1)
        below = np.searchsorted(xc, qs, side="left") / n_c  # P(x < q | c)
        at_most = np.searchsorted(xc, qs, side="right") / n_c  # P(x <= q | c)
        cdf[c] = (below, at_most)
    best = (float("nan"), float("nan"), 1, -1.0)
    present = [c for c in (SELL, HOLD, BUY) if (y == c).any()]
    k = max(len(present), 1)
    for direction in (1, -1):
        low_c, high_c = (SELL, BUY) if direction > 0 else (BUY, SELL)
        rec_low = cdf[low_c][0][:, None]  # x < lo
        rec_high = 1.0 - cdf[high_c][1][None, :]  # x > hi
        rec_hold = cdf[HOLD][1][None, :] - cdf[HOLD][0][:, None]  # lo <= x <= hi
        score = (rec_low * (low_c in present) + rec_high * (high_c in present) + rec_hold * (HOLD in present)) / k
        valid = qs[:, None] <= qs[None, :]
        score = np.where(valid, score, -np.inf)
        a, b = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[a, b] > best[3]:
            best = (float(qs[a]), float(qs[b]), direction, float(score[a, b]))
    return best


def single_feature_accuracy(ds: MLDataset, grid: int = 19) -> pd.DataFrame:
    """Best single-feature 3-class rule per feature, fitted on train, scored on val and test.

    Columns: ``feature, direction (+1: high → BUY), lo, hi, train, val, test`` (balanced accuracy)
    and ``test_accuracy`` (plain accuracy); the first rows are the baselines ``random (1/3)`` and
    ``majority class`` (always the train majority class). Sorted by ``val``.
    """
    X = ds.last_values().astype(np.float64)
    y = np.asarray(ds.array("labels"))
    rows = {s: ds.rows(s) for s in SPLITS}
    ytr = y[rows["train"]]
    majority = int(np.bincount(ytr, minlength=3).argmax())
    base = [{"feature": "random (1/3)", "direction": 0, "lo": np.nan, "hi": np.nan,
             **{s: 1.0 / 3.0 for s in SPLITS}, "test_accuracy": 1.0 / 3.0}]
    maj = {"feature": f"majority class ({('SELL', 'HOLD', 'BUY')[majority]})", "direction": 0,
           "lo": np.nan, "hi": np.nan}
    for s in SPLITS:
        ys = y[rows[s]]
        maj[s] = _balanced_accuracy(np.full(len(ys), majority, dtype=np.int8), ys)
    yt = y[rows["test"]]
    maj["test_accuracy"] = float((yt == majority).mean()) if len(yt) else np.nan
    base.append(maj)
    out = []
    for i, name in enumerate(ds.feature_names):
        xtr = X[rows["train"], i]
        if not len(xtr) or xtr.min() == xtr.max():
            continue
        lo, hi, direction, _ = _best_rule(xtr, ytr, grid)
        rec: dict[str, object] = {"feature": name, "direction": direction, "lo": lo, "hi": hi}
        for s in SPLITS:
            xs, ys = X[rows[s], i], y[rows[s]]
            rec[s] = _balanced_accuracy(_rule(xs, lo, hi, direction), ys) if len(ys) else np.nan
        xs, ys = X[rows["test"], i], y[rows["test"]]
        rec["test_accuracy"] = float((_rule(xs, lo, hi, direction) == ys).mean()) if len(ys) else np.nan
        out.append(rec)
    frame = pd.DataFrame(out).sort_values("val", ascending=False)
    return pd.concat([pd.DataFrame(base), frame], ignore_index=True)


# ------------------------------------------------------------------------------------------------
# 3. the 36 patterns and non-stationarity
# ------------------------------------------------------------------------------------------------
def _slope_weights(length: int) -> np.ndarray:
    r = np.arange(length, dtype=np.float64)
    rc = r - r.mean()
    return rc / (rc * rc).sum()


def pattern_matrix(windows: np.ndarray, feature_names: list[str] | tuple[str, ...]) -> np.ndarray:
    """``(n, 36)`` float64 pattern values of normalised windows ``(n, L, 28)`` (L >= 21); column order
    :data:`PATTERN_NAMES`."""
    W = np.asarray(windows)
    L = W.shape[1]
    idx = [list(feature_names).index(f) for f in PATTERN_FEATURES]
    w60 = _slope_weights(L)
    w20 = _slope_weights(min(20, L))
    cols = []
    for j in idx:
        x = np.asarray(W[:, :, j], dtype=np.float64)
        cols += [x @ w60, x[:, -len(w20):] @ w20, x[:, -1] - x[:, -21], x[:, -1] - x[:, -6], x[:, -1],
                 x.std(axis=1)]
    return np.stack(cols, axis=1)


def dataset_patterns(ds: MLDataset, chunk: int = 16384) -> np.ndarray:
    """:func:`pattern_matrix` of every sample of ``ds``, computed chunk by chunk; ``(n, 36)``."""
    out = np.empty((ds.n, len(PATTERN_NAMES)))
    for a, block in ds.iter_rows("windows", chunk):
        out[a:a + len(block)] = pattern_matrix(block, ds.feature_names)
    return out


def nonstationarity(ds: MLDataset, patterns: np.ndarray | None = None) -> pd.DataFrame:
    """Correlation of each feature (last value) and each pattern with the forward return, per split.

    Columns: ``name, kind (feature|pattern), corr_train, corr_val, corr_test, change (test − train),
    sign_flip`` (train and test correlations of opposite sign, both |r| >= 0.005). Sorted by
    ``|corr_train|``.
    """
    X = ds.last_values().astype(np.float64)
    P = dataset_patterns(ds) if patterns is None else patterns
    r = np.asarray(ds.array("returns"), dtype=np.float64)
    names = list(ds.feature_names) + list(PATTERN_NAMES)
    kinds = ["feature"] * X.shape[1] + ["pattern"] * P.shape[1]
    frame = pd.DataFrame({"name": names, "kind": kinds})
    for s in SPLITS:
        rows = ds.rows(s)
        frame[f"corr_{s}"] = np.concatenate([_corr_cols(X[rows], r[rows]), _corr_cols(P[rows], r[rows])])
    frame["change"] = frame["corr_test"] - frame["corr_train"]
    tr, te = frame["corr_train"], frame["corr_test"]
    frame["sign_flip"] = (np.sign(tr) != np.sign(te)) & (tr.abs() >= 0.005) & (te.abs() >= 0.005)
    order = frame["corr_train"].abs().sort_values(ascending=False, na_position="last").index
    return frame.reindex(order).reset_index(drop=True)


def ridge_fit(X: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Closed-form ridge on (already standardised) ``X`` with an unpenalised intercept: (beta, b0)."""
    ym = float(y.mean())
    xm = X.mean(axis=0)
    Xc = X - xm
    A = Xc.T @ Xc + alpha * np.eye(X.shape[1])
    beta = np.linalg.solve(A, Xc.T @ (y - ym))
    return beta, ym - float(xm @ beta)


def _ridge_from_moments(n: float, sx: np.ndarray, sy: float, sxx: np.ndarray, sxy: np.ndarray,
                        alpha: float) -> tuple[np.ndarray, float]:
    """Ridge (unpenalised intercept) from sums: n, sum x, sum y, sum x xᵀ, sum x y."""
    mx = sx / n
    my = sy / n
    A = sxx - n * np.outer(mx, mx) + alpha * np.eye(len(sx))
    beta = np.linalg.solve(A, sxy - n * mx * my)
    return beta, float(my - mx @ beta)


def pattern_ridge(ds: MLDataset, alphas: tuple[float, ...] = DEFAULT_ALPHAS, folds: int = 5,
                  patterns: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 36-pattern ridge experiment (see module docstring).

    Returns ``(by_alpha, by_pattern)``: ``by_alpha`` has one row per alpha with ``train, cv_mean,
    cv_std, val, test`` correlations of predictions with the forward return and ``r2_test``;
    ``by_pattern`` has each pattern's standardised coefficient at the middle alpha and its
    train/test correlation with the return.

    Cross-validation: the train dates are cut into ``folds`` contiguous blocks; each block is held out
    in turn and the model is fitted on the train samples dated more than ``ceil(lag / stride)``
    sample dates away from it (a purge gap on both sides). Fits use per-date sums of the design
    moments, so every fold costs a 36×36 solve.
    """
    P = dataset_patterns(ds) if patterns is None else patterns
    r = np.asarray(ds.array("returns"), dtype=np.float64)
    rows = {s: ds.rows(s) for s in SPLITS}
    tr = rows["train"]
    mu = P[tr].mean(axis=0)
    sd = P[tr].std(axis=0)
    sd[~(sd > 0)] = np.inf  # constant on train -> standardised to 0
    Z = (P - mu) / sd
    Ztr, rtr = Z[tr], r[tr]
    dates = pd.to_datetime(ds.metadata["date"]).to_numpy().astype("datetime64[D]")[tr]
    uniq, rank = np.unique(dates, return_inverse=True)
    D, k = len(uniq), Z.shape[1]
    # per-date moments (train samples of one date)
    order = np.argsort(rank, kind="stable")  # the identity when rows are in date order (they are)
    Zs, rs = Ztr[order], rtr[order]
    starts = np.searchsorted(rank[order], np.arange(D))  # every date has >= 1 sample
    cnt = np.diff(np.append(starts, len(rs))).astype(np.float64)
    sx = np.add.reduceat(Zs, starts, axis=0)
    sy = np.add.reduceat(rs, starts)
    sxy = np.add.reduceat(Zs * rs[:, None], starts, axis=0)
    sxx = np.zeros((D, k, k))
    for d in range(D):
        zd = Zs[starts[d]:starts[d] + int(cnt[d])]
        sxx[d] = zd.T @ zd
    stride = max(int(ds.manifest.get("source", {}).get("stride", 1)), 1)
    gap = int(np.ceil(ds.lag / stride))
    blocks = np.array_split(np.arange(D), max(2, min(folds, D)))
    out = []
    coefs = {}
    for alpha in alphas:
        beta, b0 = _ridge_from_moments(cnt.sum(), sx.sum(0), float(sy.sum()), sxx.sum(0), sxy.sum(0), alpha)
        coefs[alpha] = beta
        rec: dict[str, float] = {"alpha": alpha, "train": _corr(Ztr @ beta + b0, rtr)}
        cv = []
        for blk in blocks:
            lo, hi = int(blk[0]), int(blk[-1])
            keep = np.ones(D, dtype=bool)
            keep[max(lo - gap, 0):hi + gap + 1] = False
            test_m = (rank >= lo) & (rank <= hi)
            if test_m.sum() < 3 or cnt[keep].sum() < k + 2:
                continue
            bb, c0 = _ridge_from_moments(cnt[keep].sum(), sx[keep].sum(0), float(sy[keep].sum()),
                                         sxx[keep].sum(0), sxy[keep].sum(0), alpha)
            cv.append(_corr(Ztr[test_m] @ bb + c0, rtr[test_m]))
        rec["cv_mean"] = float(np.nanmean(cv)) if cv else np.nan
        rec["cv_std"] = float(np.nanstd(cv)) if cv else np.nan
        for s in ("val", "test"):
            rec[s] = _corr(Z[rows[s]] @ beta + b0, r[rows[s]])
        te = rows["test"]
        resid = r[te] - (Z[te] @ beta + b0)
        tot = ((r[te] - r[te].mean()) ** 2).sum()
        rec["r2_test"] = float(1.0 - (resid ** 2).sum() / tot) if tot > 0 else np.nan
        out.append(rec)
    by_alpha = pd.DataFrame(out)
    mid = alphas[len(alphas) // 2]
    by_pattern = pd.DataFrame({
        "pattern": PATTERN_NAMES,
        "coef": coefs[mid],
        "corr_train": _corr_cols(P[tr], r[tr]),
        "corr_test": _corr_cols(P[rows["test"]], r[rows["test"]]),
    })
    by_pattern["sign_flip"] = np.sign(by_pattern["corr_train"]) != np.sign(by_pattern["corr_test"])
    by_pattern = by_pattern.reindex(by_pattern["corr_train"].abs().sort_values(ascending=False,
                                                                             na_position="last").index)
    return by_alpha, by_pattern.reset_index(drop=True)
